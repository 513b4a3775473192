"""The Step Functions service model (botocore's own) and request validation against it.

Every request member is checked the way AWS's request layer checks it before the service
sees the request: JSON types (a wrong type is a ``SerializationException``), then the model's
constraints — required members, string/list length, number range, enum values, patterns —
collected into one ``ValidationException``:

    1 validation error detected: Value '1001' at 'maxResults' failed to satisfy constraint:
    Member must have value less than or equal to 1000

(wording recorded against AWS in LocalStack's ``test_sfn_api.snapshot.json``). Sensitive
members (definitions, inputs, outputs) never echo their value: ``Value at 'input' ...``.
https://docs.aws.amazon.com/step-functions/latest/apireference/CommonErrors.html
"""

from __future__ import annotations

import re
from functools import cache
from typing import Any

from visiongate.sfn.api.exceptions import SerializationException, ValidationException

SERVICE = "stepfunctions"

# AWS lists some enums in its own (Java set) order, not the model's.
_ENUM_ORDER = {
    "ExecutionStatus": [
        "SUCCEEDED",
        "TIMED_OUT",
        "PENDING_REDRIVE",
        "ABORTED",
        "FAILED",
        "RUNNING",
    ],
}


@cache
def service_model() -> Any:
    """botocore's ``stepfunctions`` service model (the same file boto3 clients use)."""
    import botocore.session

    return botocore.session.get_session().get_service_model(SERVICE)


def operation_names() -> list[str]:
    return list(service_model().operation_names)


def _pattern(shape: Any) -> re.Pattern[str] | None:
    text = shape.metadata.get("pattern")
    if not text:
        return None
    text = text.replace(r"\p{ASCII}", r"\x00-\x7f" if "[" in text else r"[\x00-\x7f]")
    try:
        return re.compile(text)
    except re.error:
        return None


def _type_name(value: Any) -> str:
    if isinstance(value, bool):
        return "BOOLEAN_VALUE"
    if isinstance(value, int | float):
        return "NUMBER_VALUE"
    if isinstance(value, str):
        return "STRING_VALUE"
    return "VALUE"


def _check_type(shape: Any, value: Any) -> None:
    kind = shape.type_name
    if kind in ("structure", "map"):
        if not isinstance(value, dict):
            raise SerializationException(f"{_type_name(value)} can not be converted to a structure")
        return
    if kind == "list":
        if not isinstance(value, list):
            raise SerializationException(f"{_type_name(value)} can not be converted to a list")
        return
    if isinstance(value, dict):
        raise SerializationException("Start of structure or map found where not expected.")
    if isinstance(value, list):
        raise SerializationException("Start of list found where not expected")
    if kind == "string":
        if not isinstance(value, str):
            raise SerializationException(f"{_type_name(value)} can not be converted to a String")
    elif kind in ("integer", "long"):
        if isinstance(value, bool) or not isinstance(value, int):
            if isinstance(value, float) and value.is_integer():
                return
            raise SerializationException(f"{_type_name(value)} can not be converted to an Integer")
    elif kind in ("float", "double"):
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise SerializationException(f"{_type_name(value)} can not be converted to a Double")
    elif kind == "boolean":
        if not isinstance(value, bool):
            raise SerializationException(f"{_type_name(value)} can not be converted to a Boolean")
    elif kind == "timestamp" and (
        isinstance(value, bool) or not isinstance(value, int | float | str)
    ):
        raise SerializationException(f"{_type_name(value)} can not be converted to a Timestamp")


def _describe(value: Any, shape: Any, path: str) -> str:
    if shape.metadata.get("sensitive") or shape.type_name in ("structure", "list", "map"):
        return f"Value at '{path}'"
    return f"Value '{value}' at '{path}'"


def _check(shape: Any, value: Any, path: str, errors: list[str]) -> None:
    _check_type(shape, value)
    meta = shape.metadata
    kind = shape.type_name
    head = _describe(value, shape, path)
    if kind in ("string", "list", "map"):
        size = len(value)
        if "min" in meta and size < meta["min"]:
            errors.append(
                f"{head} failed to satisfy constraint: Member must have length greater than or "
                f"equal to {meta['min']}"
            )
        if "max" in meta and size > meta["max"]:
            errors.append(
                f"{head} failed to satisfy constraint: Member must have length less than or "
                f"equal to {meta['max']}"
            )
    if kind in ("integer", "long", "float", "double"):
        if "min" in meta and value < meta["min"]:
            errors.append(
                f"{head} failed to satisfy constraint: Member must have value greater than or "
                f"equal to {meta['min']}"
            )
        if "max" in meta and value > meta["max"]:
            errors.append(
                f"{head} failed to satisfy constraint: Member must have value less than or "
                f"equal to {meta['max']}"
            )
    if kind == "string":
        enum = shape.enum
        if enum and value not in enum:
            listed = ", ".join(_ENUM_ORDER.get(shape.name, enum))
            errors.append(
                f"{head} failed to satisfy constraint: Member must satisfy enum value set: [{listed}]"
            )
        pattern = _pattern(shape)
        if pattern is not None and not pattern.fullmatch(value):
            errors.append(
                f"{head} failed to satisfy constraint: Member must satisfy regular expression "
                f"pattern: {meta['pattern']}"
            )
    if kind == "structure":
        _check_members(shape, value, path + ".", errors)
    elif kind == "list":
        for index, item in enumerate(value, start=1):
            if item is not None:
                _check(shape.member, item, f"{path}.{index}.member", errors)
    elif kind == "map":
        for key, item in value.items():
            _check(shape.key, key, f"{path}.{key}.key", errors)
            if item is not None:
                _check(shape.value, item, f"{path}.{key}.value", errors)


def _check_members(shape: Any, params: dict[str, Any], prefix: str, errors: list[str]) -> None:
    required = set(shape.required_members)
    for name, member in shape.members.items():
        value = params.get(name)
        if value is None:
            if name in required:
                errors.append(
                    f"Value null at '{prefix}{name}' failed to satisfy constraint: Member must not "
                    "be null"
                )
            continue
        _check(member, value, prefix + name, errors)


def validate_request(operation: str, params: dict[str, Any]) -> dict[str, Any]:
    """``params`` with JSON nulls dropped; raises SerializationException/ValidationException."""
    shape = service_model().operation_model(operation).input_shape
    if shape is None:
        return {}
    errors: list[str] = []
    _check_members(shape, params, "", errors)
    if errors:
        count = len(errors)
        noun = "error" if count == 1 else "errors"
        raise ValidationException(f"{count} validation {noun} detected: " + "; ".join(errors))
    return {key: value for key, value in params.items() if value is not None}
