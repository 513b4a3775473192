"""Who may use the dashboard, and proof that a POST came from its own pages.

* **Binding**: 127.0.0.1 by default. Bound to any other address the dashboard refuses to
  start without a token (:func:`require_token_for`).
* **Token**: sent as ``Authorization: Bearer <token>``, or once as ``?token=<token>`` which
  sets an HttpOnly, SameSite=Strict cookie and redirects to the same URL without it.
* **Host header**: on loopback only loopback names are accepted, so a web page on another
  site cannot reach the dashboard through DNS rebinding.
* **CSRF**: every form carries ``csrf`` = HMAC(server secret, session cookie); a POST
  without the matching value, or with a foreign ``Origin``, is refused.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass, field
from http.cookies import SimpleCookie

from visiongate.functions.net import is_loopback

SESSION_COOKIE = "vg_session"
TOKEN_COOKIE = "vg_token"
LOOPBACK_NAMES = {"localhost", "127.0.0.1", "::1"}


class DashboardSecurityError(Exception):
    """Raised at start-up when the configuration would expose the dashboard unprotected."""


def require_token_for(host: str, token: str | None) -> None:
    if not is_loopback(host) and not token:
        raise DashboardSecurityError(
            f"binding the dashboard to {host} exposes it beyond this machine; it needs a token"
        )


def parse_cookies(header: str | None) -> dict[str, str]:
    jar = SimpleCookie()
    try:
        jar.load(header or "")
    except Exception:  # noqa: BLE001 - a malformed Cookie header is just no cookies
        return {}
    return {name: morsel.value for name, morsel in jar.items()}


def host_name(host_header: str | None) -> str:
    """The name part of a Host header (``[::1]:8000`` -> ``::1``, ``a:80`` -> ``a``)."""
    text = (host_header or "").strip().lower()
    if text.startswith("["):
        return text[1:].split("]", 1)[0]
    return text.rsplit(":", 1)[0] if text.count(":") == 1 else text


@dataclass
class Security:
    bind_host: str = "127.0.0.1"
    token: str | None = None
    secret: bytes = field(default_factory=lambda: secrets.token_bytes(32))

    def host_allowed(self, host_header: str | None) -> bool:
        if not is_loopback(self.bind_host):
            return True  # reachable under any name; the token protects it
        return host_name(host_header) in LOOPBACK_NAMES

    def token_ok(self, authorization: str | None, cookies: dict[str, str]) -> bool:
        if not self.token:
            return True
        offered = cookies.get(TOKEN_COOKIE, "")
        if authorization and authorization.lower().startswith("bearer "):
            offered = authorization[7:].strip()
        return hmac.compare_digest(offered.encode(), self.token.encode())

    def query_token_ok(self, value: str) -> bool:
        return bool(self.token) and hmac.compare_digest(value.encode(), self.token.encode())

    def csrf_for(self, session: str) -> str:
        return hmac.new(self.secret, session.encode(), hashlib.sha256).hexdigest()

    def csrf_ok(self, session: str | None, offered: str | None) -> bool:
        if not session or not offered:
            return False
        return hmac.compare_digest(self.csrf_for(session), offered)

    def origin_ok(self, origin: str | None, host_header: str | None) -> bool:
        """A POST's Origin (when the browser sends one) must be this dashboard."""
        if not origin:
            return True
        if origin == "null":
            return False
        rest = origin.split("://", 1)[-1]
        return rest.lower() == (host_header or "").lower()


def new_session() -> str:
    return secrets.token_urlsafe(24)
