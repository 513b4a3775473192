"""Opaque ``nextToken`` values for the List*/GetExecutionHistory actions.

A token carries where the next page starts plus a fingerprint of the request it belongs to, so
a token replayed with other filters (or edited by hand) is rejected with AWS's
``InvalidToken: Invalid Token: 'Invalid token'`` instead of returning a wrong page.
``maxResults`` 0 or absent means AWS's default page of 100.
https://docs.aws.amazon.com/step-functions/latest/apireference/API_ListExecutions.html
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from typing import Any

from visiongate.sfn.errors import InvalidToken

DEFAULT_PAGE_SIZE = 100
_KEY = b"visiongate-sfn-page-token"


def page_size(max_results: int | None) -> int:
    return DEFAULT_PAGE_SIZE if not max_results else int(max_results)


def _fingerprint(scope: Any) -> str:
    text = json.dumps(scope, sort_keys=True, separators=(",", ":"), default=str)
    return hmac.new(_KEY, text.encode("utf-8"), hashlib.sha256).hexdigest()[:16]


def encode(position: Any, scope: Any) -> str:
    """A token that resumes at ``position`` for the request described by ``scope``."""
    payload = json.dumps({"p": position, "f": _fingerprint(scope)}, separators=(",", ":"))
    return base64.urlsafe_b64encode(payload.encode("utf-8")).decode("ascii")


def decode(token: str | None, scope: Any) -> Any:
    """The position stored in ``token`` (None without a token); InvalidToken if it is not ours."""
    if token is None:
        return None
    try:
        data = json.loads(base64.urlsafe_b64decode(token.encode("ascii")))
        position = data["p"]
        valid = hmac.compare_digest(str(data["f"]), _fingerprint(scope))
    except (ValueError, KeyError, TypeError, UnicodeError):
        valid = False
    if not valid:
        raise InvalidToken("Invalid Token: 'Invalid token'")
    return position
