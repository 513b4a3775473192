"""Local Lambda handlers the API tests run (registered explicitly, as --functions would)."""

from __future__ import annotations

import queue
from typing import Any

TOKENS: queue.Queue[str] = queue.Queue()
_FAILED_ONCE: set[str] = set()


class CustomError(Exception):
    """A function's own error: Step Functions reports its class name as the error."""


def echo(event: Any, context: Any) -> Any:
    return event


def remember_token(event: Any, context: Any) -> dict[str, str]:
    """For ``.waitForTaskToken`` tasks: hand the token to the test, like a queue consumer."""
    TOKENS.put(event["token"])
    return {"queued": True}


def boom(event: Any, context: Any) -> Any:
    raise CustomError("boom")


def fail_first_time(event: Any, context: Any) -> Any:
    """Fails on the first call for a key and succeeds afterwards (redrive tests)."""
    key = str(event.get("key"))
    if key not in _FAILED_ONCE:
        _FAILED_ONCE.add(key)
        raise CustomError(f"first attempt for {key}")
    return {"key": key, "attempt": "again"}


FUNCTIONS = {
    "echo": echo,
    "remember_token": remember_token,
    "boom": boom,
    "fail_first_time": fail_first_time,
}
