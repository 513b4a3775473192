"""Execution history as AWS's ``HistoryEvent`` records, with the 25,000-event quota.

Each event reads like GetExecutionHistory returns it: ``id``, ``previousEventId``,
``timestamp`` (an aware datetime), ``type`` and at most one ``...EventDetails`` key.
https://docs.aws.amazon.com/step-functions/latest/apireference/API_HistoryEvent.html

``previousEventId`` links each event to the previous one *in its own thread of control*
(the top level, a Parallel branch or a Map iteration), as AWS does; ``ExecutionStarted`` and the
``...Succeeded`` closing events of Map/Parallel do not move that link forward.

In memory and in SQLite an event is a row ``(id, previous_event_id, timestamp, type, details,
data)``: ``details`` is the JSON of ``{"<x>EventDetails": {...}}`` *without* its payload, and
``data`` is the payload text (the ``input`` or ``output`` field — whichever of ``inputDetails``
/ ``outputDetails`` the details carry). Keeping the payload out of the details JSON means it is
never escaped twice, and the details of state events are constants per state.

Quota (https://docs.aws.amazon.com/step-functions/latest/dg/bp-history-limit.html): "When an
execution reaches 24,999 events, it waits for the next event. If the event number 25,000 is
ExecutionSucceeded, the execution finishes successfully; if it isn't, ExecutionFailed is
logged". :class:`History` raises :class:`HistoryLimitExceeded` for any other 25,000th event.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from visiongate.sfn.errors import StatesError, StatesErrorName

HISTORY_LIMIT = 25_000
NOT_TRUNCATED: dict[str, bool] = {"truncated": False}
_CLOSING = frozenset(
    {"ExecutionSucceeded", "ExecutionFailed", "ExecutionTimedOut", "ExecutionAborted"}
)

try:  # the C encoder, called directly: three times faster than json.dumps for small values
    from json.encoder import c_make_encoder, encode_basestring

    _encode = c_make_encoder(
        None, None, encode_basestring, None, ":", ",", False, False, True
    )  # markers=None: JSON values from JSON never contain cycles
except (ImportError, TypeError):  # pragma: no cover - PyPy and friends
    _encode = None
_fallback = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode


class HistoryLimitExceeded(StatesError):
    """The execution needs more events than the quota allows: it fails (States.Runtime)."""

    def __init__(self, limit: int) -> None:
        super().__init__(
            StatesErrorName.RUNTIME,
            f"The execution reached the maximum number of history events ({limit}).",
        )


def dumps(value: Any) -> str:
    """JSON the way Step Functions prints payloads: compact, UTF-8 kept as is."""
    if _encode is not None:
        try:
            return "".join(_encode(value, 0))
        except (TypeError, ValueError):
            pass  # not JSON (or a type the C encoder rejects): let json say why
    return _fallback(value)


def payload_size(text: str) -> int:
    """Bytes of ``text`` as UTF-8 (the unit of the 262,144-byte payload quota)."""
    return len(text) if text.isascii() else len(text.encode("utf-8"))


def split_details(key: str, details: dict[str, Any]) -> tuple[str, str | None]:
    """(details JSON without the payload, payload text or None)."""
    if "outputDetails" in details and isinstance(details.get("output"), str):
        data = details["output"]
        rest = {k: v for k, v in details.items() if k != "output"}
    elif "inputDetails" in details and isinstance(details.get("input"), str):
        data = details["input"]
        rest = {k: v for k, v in details.items() if k != "input"}
    else:
        return dumps({key: details}), None
    return dumps({key: rest}), data


def state_details(key: str, name: str, payload_field: str) -> str:
    """The constant details JSON of a state's Entered/Exited event (payload in ``data``)."""
    return dumps({key: {"name": name, f"{payload_field}Details": NOT_TRUNCATED}})


class History:
    """The events of one execution attempt, numbered, with a buffer of unsaved rows.

    ``add`` is thread-safe (Map iterations and Parallel branches emit concurrently).
    ``take_pending`` hands the unsaved rows to the store, which writes them in batches.
    """

    __slots__ = ("_lock", "last_id", "pending", "limit", "_time", "halted")

    def __init__(
        self,
        time: Callable[[], float],
        *,
        last_id: int = 0,
        limit: int | None = HISTORY_LIMIT,
    ) -> None:
        self._lock = threading.Lock()
        self.last_id = last_id
        self.pending: list[tuple[Any, ...]] = []
        self.limit = limit
        self._time = time
        self.halted = False

    def add(
        self, event_type: str, previous: int, details: str | None = None, data: str | None = None
    ) -> int:
        """Append one event (details already JSON); returns its id."""
        with self._lock:
            event_id = self.last_id + 1
            limit = self.limit
            if (
                limit is not None
                and (self.halted or event_id >= limit)
                and event_type not in _CLOSING
            ):
                self.halted = True
                raise HistoryLimitExceeded(limit)
            self.last_id = event_id
            self.pending.append((event_id, previous, self._time(), event_type, details, data))
        return event_id

    def add_details(
        self, event_type: str, previous: int, key: str | None = None, details: Any = None
    ) -> int:
        """Append one event given as (details key, details dict)."""
        if key is None:
            return self.add(event_type, previous)
        text, data = split_details(key, details)
        return self.add(event_type, previous, text, data)

    def take_pending(self) -> list[tuple[Any, ...]]:
        with self._lock:
            events, self.pending = self.pending, []
            return events


def event_from_row(row: tuple[Any, ...]) -> dict[str, Any]:
    """An AWS-shaped event from ``(id, previous_event_id, timestamp, type, details, data)``."""
    event_id, previous, timestamp, event_type, details, data = row
    event: dict[str, Any] = {
        "id": event_id,
        "previousEventId": previous,
        "timestamp": datetime.fromtimestamp(timestamp, UTC),
        "type": event_type,
    }
    if details:
        parsed = json.loads(details)
        if data is not None:
            for key, body in parsed.items():
                field = "input" if "inputDetails" in body else "output"
                rebuilt: dict[str, Any] = {}
                for name, value in body.items():
                    if name == f"{field}Details":
                        rebuilt[field] = data
                    rebuilt[name] = value
                parsed[key] = rebuilt
        event.update(parsed)
    return event
