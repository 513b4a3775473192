"""Structured logs: one JSON object per line through the standard ``logging`` module.

Each handler logs ``invoked``, then ``succeeded`` or ``failed`` with its duration, the
request id (``context.aws_request_id``, https://docs.aws.amazon.com/lambda/latest/dg/python-context.html)
and a few facts about the work. Image bytes are never logged.

The lines go wherever logging is configured: on Lambda the runtime's handler sends
them to CloudWatch (adding its own prefix, or wrapping the message when the function
uses the JSON log format); locally the engine or the CLI decides. The level of the
``visiongate.functions`` logger follows ``AWS_LAMBDA_LOG_LEVEL`` (Lambda's advanced
logging controls) or ``LOG_LEVEL``, default INFO.
"""

from __future__ import annotations

import functools
import json
import logging
import os
import time
import traceback
from collections.abc import Callable
from typing import Any

from visiongate.errors import VisiongateError

LOGGER_PREFIX = "visiongate.functions"

_package_logger = logging.getLogger(LOGGER_PREFIX)
if _package_logger.level == logging.NOTSET:
    _level = (
        os.environ.get("AWS_LAMBDA_LOG_LEVEL") or os.environ.get("LOG_LEVEL") or "INFO"
    ).upper()
    _package_logger.setLevel(_level if _level in logging.getLevelNamesMapping() else "INFO")


def request_id(context: Any) -> str | None:
    value = getattr(context, "aws_request_id", None)
    return str(value) if value else None


class FunctionLog:
    """Writes JSON lines for one invocation of one function."""

    def __init__(self, function: str, context: Any = None) -> None:
        self.function = function
        self.logger = logging.getLogger(f"{LOGGER_PREFIX}.{function}")
        self.request_id = request_id(context)

    def log(self, level: int, event: str, **fields: Any) -> None:
        if not self.logger.isEnabledFor(level):
            return
        record: dict[str, Any] = {
            "level": logging.getLevelName(level),
            "function": self.function,
            "event": event,
        }
        if self.request_id:
            record["request_id"] = self.request_id
        record.update(fields)
        self.logger.log(level, json.dumps(record, default=str, separators=(",", ":")))

    def info(self, event: str, **fields: Any) -> None:
        self.log(logging.INFO, event, **fields)

    def warning(self, event: str, **fields: Any) -> None:
        self.log(logging.WARNING, event, **fields)


Handler = Callable[[Any, Any], dict[str, Any]]


def logged(function: str) -> Callable[[Callable[[Any, Any, FunctionLog], Any]], Handler]:
    """Wrap ``body(event, context, log)`` into a Lambda ``handler(event, context)`` that logs."""

    def decorate(body: Callable[[Any, Any, FunctionLog], Any]) -> Handler:
        @functools.wraps(body)
        def handler(event: Any, context: Any = None) -> dict[str, Any]:
            log = FunctionLog(function, context)
            started = time.perf_counter()
            log.info("invoked", event_type=type(event).__name__)
            try:
                result = body(event, context, log)
            except VisiongateError as exc:
                # An expected failure: the error type is the contract, the message the fix.
                log.warning(
                    "failed",
                    error_type=type(exc).__name__,
                    error_message=str(exc),
                    duration_ms=_ms(started),
                )
                raise
            except Exception as exc:
                log.log(
                    logging.ERROR,
                    "crashed",
                    error_type=type(exc).__name__,
                    error_message=str(exc),
                    traceback=traceback.format_exc(limit=20),
                    duration_ms=_ms(started),
                )
                raise
            log.info("succeeded", duration_ms=_ms(started))
            return result

        return handler

    return decorate


def _ms(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 3)
