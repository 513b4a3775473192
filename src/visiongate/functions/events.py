"""Event shapes in, response shape out: what every handler shares.

A handler may be invoked with any of four shapes, because the original functions
returned ``{"statusCode", "body"}`` with the body sometimes JSON-encoded, and the
state machine passes one function's whole output (``OutputPath: $.Payload``) to the next:

    {"s3_bucket": ..., "s3_key": ...}                    the body itself
    '{"s3_bucket": ..., "s3_key": ...}'                  the body as a JSON string
    {"statusCode": 200, "body": {...}}                   a previous function's response
    {"statusCode": 200, "body": "{...}"}                 the same, body JSON-encoded

``unwrap_event`` turns each into the body dict; ``respond`` builds the one shape
every handler returns.
"""

from __future__ import annotations

import json
import math
from typing import Any

from visiongate.functions.errors import InvalidEventError

_EXAMPLE = '{"s3_bucket": "images", "s3_key": "cats/cat.png"}'


def unwrap_event(event: Any) -> dict[str, Any]:
    """The body dict of any accepted event shape; InvalidEventError for anything else."""
    body = _decode(event, "event")
    if isinstance(body, dict) and "body" in body and "statusCode" in body:
        status = body["statusCode"]
        if status != 200:
            raise InvalidEventError(
                f"the previous step returned statusCode {status!r}, not 200",
                hint="only successful results can be processed; check the previous function",
            )
        body = _decode(body["body"], "event body")
    if not isinstance(body, dict):
        raise InvalidEventError(
            f"the event body must be a JSON object, got {_type_name(body)}",
            hint=f"send e.g. {_EXAMPLE}",
        )
    return body


def _decode(value: Any, what: str) -> Any:
    if isinstance(value, bytes | bytearray):
        try:
            value = value.decode("utf-8")
        except UnicodeDecodeError:
            raise InvalidEventError(f"the {what} is bytes but not UTF-8 text") from None
    if isinstance(value, str):
        try:
            return json.loads(value)
        except json.JSONDecodeError as exc:
            raise InvalidEventError(
                f"the {what} is a string but not valid JSON ({exc.msg} at character {exc.pos})",
                hint=f"send a JSON object such as {_EXAMPLE}",
            ) from None
        except RecursionError:
            raise InvalidEventError(f"the {what} is nested too deeply") from None
    return value


def require_str(body: dict[str, Any], field: str, example: str) -> str:
    """``body[field]`` if it is a non-empty string; InvalidEventError naming the fix otherwise."""
    if field not in body or body[field] is None:
        raise InvalidEventError(
            f"the event has no {field!r} field",
            hint=f'add "{field}": "{example}" (the event needs s3_bucket and s3_key)',
        )
    value = body[field]
    if not isinstance(value, str) or not value:
        raise InvalidEventError(
            f"the event field {field!r} must be a non-empty string, got {_type_name(value)}",
            hint=f'send e.g. "{field}": "{example}"',
        )
    return value


def optional_str(body: dict[str, Any], field: str) -> str | None:
    """``body[field]`` if present and not null; it must then be a non-empty string."""
    if body.get(field) is None:
        return None
    return require_str(body, field, "...")


def probabilities(value: Any, source: str) -> list[float]:
    """A non-empty list of finite numbers in [0, 1], or ValueError saying what is wrong."""
    if not isinstance(value, list) or not value:
        raise ValueError(
            f"{source} must be a non-empty list of probabilities, got {_describe(value)}"
        )
    result = []
    for index, item in enumerate(value):
        if isinstance(item, bool) or not isinstance(item, int | float):
            raise ValueError(f"{source}[{index}] is {_type_name(item)}, not a number")
        number = float(item)
        if not math.isfinite(number) or not -1e-6 <= number <= 1 + 1e-6:
            raise ValueError(f"{source}[{index}] = {number!r} is not a probability between 0 and 1")
        result.append(number)
    return result


def respond(body: dict[str, Any]) -> dict[str, Any]:
    """The response shape every handler returns (and the next handler accepts)."""
    return {"statusCode": 200, "body": body}


def _type_name(value: Any) -> str:
    if value is None:
        return "null"
    names = {dict: "an object", list: "a list", str: "a string", bool: "a boolean"}
    names.update({int: "a number", float: "a number"})
    return names.get(type(value), f"a {type(value).__name__}")


def _describe(value: Any) -> str:
    if isinstance(value, list):
        return "an empty list"
    text = json.dumps(value, default=str)
    return f"{_type_name(value)} {text[:80]}"
