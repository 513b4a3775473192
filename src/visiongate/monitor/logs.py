"""Structured function logs: JSON lines per invocation, stored in SQLite, read per execution.

Lambda functions log with the standard library (``logging.getLogger(__name__)`` in
``visiongate.functions.*``). :func:`install` attaches a :class:`FunctionLogHandler` to
the ``visiongate.functions`` logger; each record becomes one JSON object::

    {"time": "2026-11-22T00:00:00.123Z", "level": "INFO",
     "logger": "visiongate.functions.classify", "message": "...",
     "execution_arn": "arn:aws:states:...:execution:sm:name", "state": "Classify",
     "request_id": "4c1e...", "function": "classify"}

stored as a row of the ``function_logs`` table in ``Settings.database`` (WAL, so the
dashboard reads while executions write; several processes may write at once).

Two ways in, one table:

* **the engine's hook** (preferred): ``visiongate.sfn.functions.FunctionRegistry`` captures
  the records a handler emits during an invocation, tags them (function name, request id,
  execution ARN, state) and passes each as a dict to its ``log_listeners``;
  ``subscribe(registry, database)`` adds a :class:`FunctionLogSink` there;
* **logging + context** for code outside the engine: :func:`install` attaches a
  :class:`FunctionLogHandler` to ``visiongate.functions`` and :func:`log_context` (a
  ``contextvars`` context, so threads and asyncio tasks each keep their own) says who runs::

    with log_context(execution_arn=arn, state="Classify", request_id=rid, function="classify"):
        handler(event, context)

Use one or the other in a process, not both, or records are stored twice. The
functions log JSON objects as messages (``visiongate.functions.logs``); their ``event``
becomes the message and the other fields go to ``extra``.
"""

from __future__ import annotations

import contextlib
import json
import logging
import time as _time
from collections.abc import Iterator
from contextvars import ContextVar
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from visiongate.monitor.logstore import (  # noqa: F401 - the reading side, re-exported
    SCHEMA,
    LogEntry,
    LogWriter,
    connect,
    follow,
    read_logs,
)

LOGGER_PREFIX = "visiongate.functions"
CONTEXT_FIELDS = ("execution_arn", "state", "request_id", "function")


# Attributes every LogRecord has; anything else came from ``extra=`` and is kept.
_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime"}

_context: ContextVar[dict[str, str] | None] = ContextVar("visiongate_log_context", default=None)


@contextlib.contextmanager
def log_context(
    execution_arn: str | None = None,
    state: str | None = None,
    request_id: str | None = None,
    function: str | None = None,
) -> Iterator[dict[str, str]]:
    """Tag every function log record inside the block with who is running."""
    given = {
        "execution_arn": execution_arn,
        "state": state,
        "request_id": request_id,
        "function": function,
    }
    merged = {**(_context.get() or {}), **{k: str(v) for k, v in given.items() if v is not None}}
    token = _context.set(merged)
    try:
        yield merged
    finally:
        _context.reset(token)


def current_context() -> dict[str, str]:
    return dict(_context.get() or {})


def _iso(created: float) -> str:
    moment = datetime.fromtimestamp(created, UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def _jsonable(value: Any) -> Any:
    try:
        json.dumps(value)
        return value
    except (TypeError, ValueError):
        return repr(value)


def _expand_json_message(entry: dict[str, Any]) -> dict[str, Any]:
    """A message that is a JSON object (the functions' own format) becomes fields."""
    message = entry.get("message") or ""
    if not (isinstance(message, str) and message.startswith("{")):
        return entry
    try:
        fields = json.loads(message)
    except ValueError:
        return entry
    if not isinstance(fields, dict) or "event" not in fields:
        return entry
    fields.pop("level", None)
    for name in ("request_id", "function", "execution_arn", "state"):
        value = fields.pop(name, None)
        if value and not entry.get(name):
            entry[name] = str(value)
    text = str(fields.pop("event"))
    if fields.get("error_type"):
        text += f": {fields['error_type']}"
        if fields.get("error_message"):
            text += f": {fields['error_message']}"
    entry["message"] = text
    extra = dict(entry.get("extra") or {})
    extra.update({k: _jsonable(v) for k, v in fields.items()})
    if extra:
        entry["extra"] = extra
    return entry


def entry_from_listener(item: dict[str, Any]) -> dict[str, Any]:
    """The engine's captured-record dict (``FunctionRegistry.log_listeners``) as an entry."""

    def first(*names: str) -> Any:
        return next((item[n] for n in names if item.get(n) not in (None, "")), None)

    when = first("timestamp", "time")
    entry: dict[str, Any] = {
        "time": _iso(float(when)) if isinstance(when, int | float) else str(when or ""),
        "level": str(first("level") or "INFO"),
        "logger": str(first("logger") or LOGGER_PREFIX),
        "message": str(first("message") or ""),
        "execution_arn": first("execution_arn", "executionArn"),
        "state": first("state", "state_name", "stateName"),
        "request_id": first("request_id", "requestId"),
        "function": first("function", "function_name", "functionName"),
    }
    known = {
        "timestamp",
        "time",
        "level",
        "logger",
        "message",
        "execution_arn",
        "executionArn",
        "state",
        "state_name",
        "stateName",
        "request_id",
        "requestId",
        "function",
        "function_name",
        "functionName",
    }
    extra = {k: _jsonable(v) for k, v in item.items() if k not in known}
    if extra:
        entry["extra"] = extra
    if not entry["time"]:
        entry["time"] = _iso(_time.time())
    return _expand_json_message(entry)


class FunctionLogSink:
    """A ``FunctionRegistry.log_listeners`` callback that stores each captured record."""

    def __init__(self, database: str | Path) -> None:
        self.writer = LogWriter(database)

    def __call__(self, item: dict[str, Any]) -> None:
        self.writer.write(entry_from_listener(item))

    def close(self) -> None:
        self.writer.close()


def subscribe(engine: Any, database: str | Path | None = None) -> FunctionLogSink:
    """Store the function logs an engine captures (once per database).

    ``engine``: a ``visiongate.sfn.engine.Engine`` (its ``on_function_log`` list) or a
    ``FunctionRegistry`` (its ``log_listeners``). ``database`` defaults to the engine's
    ``settings.database``, else the configured one.
    """
    listeners = getattr(engine, "log_listeners", None)
    if listeners is None:
        listeners = engine.on_function_log
    if database is None:
        settings = getattr(engine, "settings", None)
        if settings is None:
            from visiongate.config import load_settings

            settings = load_settings()
        database = settings.database
    for listener in listeners:
        if isinstance(listener, FunctionLogSink) and listener.writer.database == Path(database):
            return listener
    sink = FunctionLogSink(database)
    listeners.append(sink)
    return sink


def to_entry(record: logging.LogRecord) -> dict[str, Any]:
    """The JSON object for one record: context from :func:`log_context`, ``extra=`` wins."""
    context = current_context()
    entry: dict[str, Any] = {
        "time": _iso(record.created),
        "level": record.levelname,
        "logger": record.name,
        "message": record.getMessage(),
    }
    for name in CONTEXT_FIELDS:
        entry[name] = getattr(record, name, None) or context.get(name)
    if not entry["function"] and record.name.startswith(LOGGER_PREFIX + "."):
        entry["function"] = record.name[len(LOGGER_PREFIX) + 1 :].split(".")[0]
    extra = {
        k: _jsonable(v)
        for k, v in vars(record).items()
        if k not in _STANDARD and k not in CONTEXT_FIELDS and not k.startswith("_")
    }
    if record.exc_info:
        extra["exception"] = logging.Formatter().formatException(record.exc_info)
    if extra:
        entry["extra"] = extra
    return _expand_json_message(entry)


class FunctionLogHandler(logging.Handler):
    """Writes ``visiongate.functions.*`` records to ``function_logs`` as JSON-shaped rows."""

    def __init__(self, database: str | Path, level: int = logging.DEBUG) -> None:
        super().__init__(level)
        self.writer = LogWriter(database)

    @property
    def database(self) -> Path:
        return self.writer.database

    def emit(self, record: logging.LogRecord) -> None:
        if not (record.name == LOGGER_PREFIX or record.name.startswith(LOGGER_PREFIX + ".")):
            return
        try:
            self.writer.write(to_entry(record))
        except Exception:  # noqa: BLE001 - logging must never break the function
            self.handleError(record)

    def close(self) -> None:
        self.writer.close()
        super().close()


def install(database: str | Path | None = None, level: int = logging.INFO) -> FunctionLogHandler:
    """Attach (once per database) the handler to ``visiongate.functions``; returns it."""
    if database is None:
        from visiongate.config import load_settings

        database = load_settings().database
    logger = logging.getLogger(LOGGER_PREFIX)
    for handler in logger.handlers:
        if isinstance(handler, FunctionLogHandler) and handler.database == Path(database):
            return handler
    handler = FunctionLogHandler(database)
    logger.addHandler(handler)
    if logger.level == logging.NOTSET or logger.level > level:
        logger.setLevel(level)
    return handler


def uninstall(handler: FunctionLogHandler) -> None:
    logging.getLogger(LOGGER_PREFIX).removeHandler(handler)
    handler.close()
