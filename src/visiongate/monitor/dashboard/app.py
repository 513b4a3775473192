"""The dashboard's HTTP layer: routing, security checks, and errors turned into responses once.

A standard-library ``ThreadingHTTPServer``; pages are rendered on the server (escaped by
construction, see ``html.py``), with one small same-origin script for live updates.
Every response carries a strict Content-Security-Policy. Failures become an HTML page
(or, under ``/api/``, one JSON shape ``{"error": {"code", "message"}}``) — never a traceback.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from urllib.parse import parse_qsl, urlsplit

from visiongate.errors import VisiongateError
from visiongate.monitor.dashboard import executions, panels, review
from visiongate.monitor.dashboard.actions import ActionError, Actions, default_actions
from visiongate.monitor.dashboard.context import Context, DashboardConfig
from visiongate.monitor.dashboard.html import Safe, html, layout, notice, url
from visiongate.monitor.dashboard.security import (
    SESSION_COOKIE,
    TOKEN_COOKIE,
    Security,
    new_session,
    parse_cookies,
)
from visiongate.monitor.review import ReviewQueue

log = logging.getLogger(__name__)

CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
MAX_FORM_BYTES = 16 * 1024
STATIC = {"/static/app.js": "application/javascript", "/static/app.css": "text/css"}


class HTTPError(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


@dataclass
class Response:
    status: int = 200
    body: bytes = b""
    content_type: str = "text/html; charset=utf-8"
    headers: dict[str, str] = field(default_factory=dict)


def _page(text: Safe, status: int = 200) -> Response:
    return Response(status, str(text).encode("utf-8"))


def _fragment(text: Safe | None) -> Response:
    if text is None:
        raise HTTPError(404, "NotFound", "No such execution.")
    return Response(200, str(text).encode("utf-8"), headers={"Cache-Control": "no-store"})


Page = Callable[[Context], Safe | None]

GET_ROUTES: dict[str, Page] = {
    "/executions": executions.executions_page,
    "/execution": executions.execution_page,
    "/endpoint": panels.endpoint_page,
    "/confidence": panels.confidence_page,
    "/drift": panels.drift_page,
    "/cost": panels.cost_page,
}
LIVE_ROUTES: dict[str, Page] = {
    "/executions/live": executions.executions_live,
    "/execution/live": executions.execution_live,
    "/endpoint/live": panels.endpoint_live,
}


class App:
    """Request in, :class:`Response` out; no sockets here, so it is easy to reason about."""

    def __init__(
        self,
        config: DashboardConfig,
        security: Security,
        actions: Actions | None = None,
        reviews: ReviewQueue | None = None,
    ) -> None:
        self.config = config
        self.security = security
        self.actions = actions
        self.reviews = reviews
        self._reviews_lock = threading.Lock()

    def review_queue(self) -> ReviewQueue:
        """The review queue, built on first use from the configuration."""
        with self._reviews_lock:
            if self.reviews is None:
                self.reviews = ReviewQueue(
                    self.config.settings,
                    buckets=self.config.review_buckets,
                    classes=self.config.classes(),
                )
            return self.reviews

    def handle(self, method: str, target: str, headers: dict[str, str], body: bytes) -> Response:
        cookies = parse_cookies(headers.get("cookie"))
        session = cookies.get(SESSION_COOKIE) or ""
        new = not session or len(session) > 64
        if new:
            session = new_session()
        try:
            response = self._route(method, target, headers, body, cookies, session)
        except HTTPError as exc:
            response = self._error(target, exc.status, exc.code, exc.message)
        except VisiongateError as exc:
            response = self._error(target, 400, type(exc).__name__, str(exc))
        except Exception:  # noqa: BLE001 - a bug must not leak a traceback to the browser
            log.exception("dashboard error on %s %s", method, target)
            response = self._error(
                target,
                500,
                "InternalError",
                "Something went wrong; the server log has the details.",
            )
        if new:
            response.headers.setdefault(
                "Set-Cookie", f"{SESSION_COOKIE}={session}; Path=/; HttpOnly; SameSite=Strict"
            )
        return response

    def _error(self, target: str, status: int, code: str, message: str) -> Response:
        if urlsplit(target).path.startswith("/api/"):
            body = json.dumps({"error": {"code": code, "message": message}}).encode()
            return Response(status, body, "application/json")
        page = layout(f"{status} {code}", notice(message, "error"))
        return _page(page, status)

    def _route(
        self,
        method: str,
        target: str,
        headers: dict[str, str],
        body: bytes,
        cookies: dict[str, str],
        session: str,
    ) -> Response:
        parts = urlsplit(target)
        path = parts.path.rstrip("/") or "/"
        query = dict(parse_qsl(parts.query, keep_blank_values=True))
        if not self.security.host_allowed(headers.get("host")):
            raise HTTPError(400, "BadHost", "This dashboard only answers to localhost names.")
        if (
            self.security.token
            and "token" in query
            and self.security.query_token_ok(query["token"])
        ):
            query.pop("token")
            clean = url(path, **query)
            return Response(
                303,
                b"",
                headers={
                    "Location": clean,
                    "Set-Cookie": f"{TOKEN_COOKIE}={self.security.token}; Path=/; HttpOnly; "
                    "SameSite=Strict",
                },
            )
        if path == "/favicon.ico":
            return Response(204, b"", "image/x-icon", {"Cache-Control": "max-age=86400"})
        if path == "/healthz":
            return Response(200, b'{"status":"ok"}', "application/json")
        if not self.security.token_ok(headers.get("authorization"), cookies):
            raise HTTPError(
                401, "Unauthorized", "This dashboard needs its token: open it with ?token=<token>."
            )
        if method == "POST":
            return self._post(path, headers, body, session)
        if method not in ("GET", "HEAD"):
            raise HTTPError(405, "MethodNotAllowed", f"{method} is not supported here.")
        if path == "/":
            return Response(303, b"", headers={"Location": "/executions"})
        if path in STATIC:
            text = (
                resources.files("visiongate.monitor.dashboard")
                .joinpath("static", path.rsplit("/", 1)[1])
                .read_bytes()
            )
            return Response(200, text, STATIC[path], {"Cache-Control": "max-age=300"})
        if path == "/api/executions":
            return self._api_executions(query)
        if path == "/review/thumbnail":
            return self._thumbnail(query.get("id", ""))
        ctx = Context(
            self.config,
            query,
            csrf=self.security.csrf_for(session),
            flash=query.get("flash", "")[:200],
        )
        if path in LIVE_ROUTES:
            return _fragment(LIVE_ROUTES[path](ctx))
        if path == "/review":
            return _page(review.review_page(ctx, self.review_queue()))
        page = GET_ROUTES.get(path)
        if page is None:
            raise HTTPError(404, "NotFound", f"There is no page at {path}.")
        result = page(ctx)
        if result is None:
            raise HTTPError(404, "NotFound", "No such execution.")
        return _page(result)

    def _post(self, path: str, headers: dict[str, str], body: bytes, session: str) -> Response:
        if path not in ("/execution/stop", "/execution/redrive", *review.ACTIONS):
            raise HTTPError(404, "NotFound", f"There is no action at {path}.")
        if not self.security.origin_ok(headers.get("origin"), headers.get("host")):
            raise HTTPError(403, "CSRF", "The form came from another site.")
        if len(body) > MAX_FORM_BYTES:
            raise HTTPError(413, "TooLarge", "The form is too large.")
        form = dict(parse_qsl(body.decode("utf-8", errors="replace"), keep_blank_values=True))
        if not self.security.csrf_ok(session, form.get("csrf")):
            raise HTTPError(403, "CSRF", "The form has expired; reload the page and try again.")
        if path in review.ACTIONS:
            message = review.act(path, form, self.review_queue())
            return Response(303, b"", headers={"Location": url("/review", flash=message)})
        arn = form.get("arn", "")
        from visiongate.monitor.dashboard import data

        if data.get_execution(self.config.database, arn) is None:
            raise HTTPError(404, "NotFound", "No such execution.")
        if self.actions is None:
            self.actions = default_actions(self.config.settings)
        actions = self.actions
        try:
            message = actions.stop(arn) if path.endswith("/stop") else actions.redrive(arn)
        except ActionError as exc:
            message = f"Failed: {exc.message}" + (f" ({exc.hint})" if exc.hint else "")
        return Response(303, b"", headers={"Location": url("/execution", arn=arn, flash=message)})

    def _thumbnail(self, review_id: str) -> Response:
        from visiongate.monitor.review import ReviewError

        try:
            image = self.review_queue().thumbnail(review_id)
        except ReviewError as exc:
            raise HTTPError(404, "NotFound", exc.message) from None
        return Response(200, image, "image/png", {"Cache-Control": "private, max-age=300"})

    def _api_executions(self, query: dict[str, str]) -> Response:
        from visiongate.monitor.dashboard import data

        status = query.get("status") or None
        if status and status not in data.STATUSES:
            raise HTTPError(400, "ValidationException", f"unknown status {status!r}")
        try:
            limit = min(max(int(query.get("limit", "50")), 1), 1000)
        except ValueError:
            raise HTTPError(400, "ValidationException", "limit must be a number") from None
        rows, total = data.list_executions(
            self.config.database,
            status=status,
            search=query.get("q") or None,
            limit=limit,
            classes=self.config.classes(),
        )
        items = [
            {
                "executionArn": r.arn,
                "name": r.name,
                "status": r.status,
                "startDate": r.start,
                "stopDate": r.stop,
                "key": r.key,
                "label": r.prediction.label if r.prediction else None,
                "confidence": r.prediction.confidence if r.prediction else None,
            }
            for r in rows
        ]
        return Response(
            200, json.dumps({"total": total, "executions": items}).encode(), "application/json"
        )


class _Handler(BaseHTTPRequestHandler):
    server: DashboardHTTPServer
    protocol_version = "HTTP/1.1"

    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_FORM_BYTES * 4:
            self.send_error(413)
            return
        body = self.rfile.read(length) if length else b""
        headers = {k.lower(): v for k, v in self.headers.items()}
        response = self.server.app.handle(self.command, self.path, headers, body)
        self.send_response(response.status)
        self.send_header("Content-Type", response.content_type)
        self.send_header("Content-Length", str(len(response.body)))
        self.send_header("Content-Security-Policy", CSP)
        self.send_header("X-Content-Type-Options", "nosniff")
        self.send_header("Referrer-Policy", "same-origin")  # no-referrer would make Origin "null"
        self.send_header("X-Frame-Options", "DENY")
        for name, value in response.headers.items():
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(response.body)

    do_GET = do_POST = do_HEAD = do_PUT = do_DELETE = _serve  # noqa: N815

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        log.debug("%s - %s", self.address_string(), format % args)


class DashboardHTTPServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], app: App) -> None:
        self.app = app
        super().__init__(address, _Handler)


class Dashboard:
    """A running dashboard: ``start()`` in a background thread (tests), or ``serve_forever()``."""

    def __init__(
        self,
        config: DashboardConfig,
        host: str = "127.0.0.1",
        port: int = 8000,
        token: str | None = None,
        actions: Actions | None = None,
        reviews: ReviewQueue | None = None,
    ) -> None:
        from visiongate.monitor.dashboard.security import require_token_for

        require_token_for(host, token)
        self.app = App(config, Security(bind_host=host, token=token), actions, reviews)
        self.server = DashboardHTTPServer((host, port), self.app)
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        name = f"[{host}]" if ":" in str(host) else host
        return f"http://{name}:{port}"

    def start(self) -> str:
        self._thread = threading.Thread(
            target=self.server.serve_forever,
            args=(0.05,),
            daemon=True,
            name="visiongate-dashboard",
        )
        self._thread.start()
        return self.url

    def serve_forever(self) -> None:
        self.server.serve_forever()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        for owned in (self.app.actions, self.app.reviews):
            close = getattr(owned, "close", None)
            if callable(close):
                close()
        if self._thread is not None:
            self._thread.join(timeout=5)


__all__ = ["App", "Dashboard", "Response", "html"]
