"""Routing of the AWS JSON 1.0 protocol: ``POST /`` with ``X-Amz-Target: AWSStepFunctions.<Action>``.

No logic beyond picking the action (moto's ``urls.py``); the handler of an action is the
method of :class:`~visiongate.sfn.api.responses.StepFunctionsResponse` named after it.
https://smithy.io/2.0/aws/protocols/aws-json-1_0-protocol.html
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache

from visiongate.sfn.api.exceptions import UnknownOperationException
from visiongate.sfn.api.responses import implemented_actions

TARGET_HEADER = "X-Amz-Target"
TARGET_PREFIX = "AWSStepFunctions."
CONTENT_TYPES = frozenset({"application/x-amz-json-1.0", "application/json"})
URL_PATHS = {"/": "dispatch"}


@cache
def actions() -> frozenset[str]:
    return frozenset(implemented_actions())


def route(headers: Mapping[str, str]) -> str:
    """The action a request names, or UnknownOperationException."""
    target = headers.get(TARGET_HEADER) or ""
    prefix, _, action = target.partition(".")
    if f"{prefix}." != TARGET_PREFIX or action not in actions():
        raise UnknownOperationException(
            f"Operation {target!r} is not supported by this service"
            if target
            else f"Missing the {TARGET_HEADER} header naming the operation"
        )
    content_type = (headers.get("Content-Type") or "").split(";")[0].strip().lower()
    if content_type and content_type not in CONTENT_TYPES:
        raise UnknownOperationException(
            f"Content type {content_type!r} is not supported: send application/x-amz-json-1.0"
        )
    return action
