"""The four event shapes every handler must accept, built from one body."""

from __future__ import annotations

import json
from typing import Any

SHAPE_IDS = ["body", "json-string", "response", "response-with-json-body"]


def four_shapes(body: dict[str, Any]) -> list[Any]:
    return [
        body,
        json.dumps(body),
        {"statusCode": 200, "body": body},
        {"statusCode": 200, "body": json.dumps(body)},
    ]


def through_step_functions(response: dict[str, Any]) -> Any:
    """What the next state receives: the Lambda result as JSON (OutputPath $.Payload)."""
    return json.loads(json.dumps(response))
