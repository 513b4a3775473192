"""Read-only queries for the dashboard over the shared SQLite file (``Settings.database``).

Tables read (owned by their areas, schemas documented there):
``executions`` and the ``history`` view of its events (the engine, docs/engine.md), ``endpoint_metrics`` (the
model server, visiongate.serving.metrics_history), ``function_logs`` (ours,
visiongate.monitor.logstore). A table that does not exist yet reads as empty: the
dashboard works before anything has run.
"""

from __future__ import annotations

import json
import sqlite3
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

STATUSES = ("RUNNING", "SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED", "PENDING_REDRIVE")


@contextmanager
def reader(database: str | Path):
    """A query-only connection, or None when the database file does not exist yet."""
    path = Path(database)
    if not path.exists():
        yield None
        return
    conn = sqlite3.connect(str(path), timeout=10, check_same_thread=False)
    conn.row_factory = sqlite3.Row
    conn.execute("PRAGMA query_only = ON")
    conn.execute("PRAGMA busy_timeout = 10000")
    try:
        yield conn
    finally:
        conn.close()


def _rows(conn: sqlite3.Connection | None, sql: str, args: list[Any] | tuple = ()) -> list:
    if conn is None:
        return []
    try:
        return conn.execute(sql, args).fetchall()
    except sqlite3.OperationalError as exc:
        if "no such table" in str(exc):
            return []
        raise


# The engine's events with payloads in place, as GetExecutionHistory shows them. Older
# databases have no view; their ``events`` table is keyed by execution_arn directly.
HISTORY_SOURCES = ("history", "events")


def _history_rows(
    conn: sqlite3.Connection | None,
    where: str,
    args: list[Any] | tuple,
    tail: str = "",
    columns: str = "*",
) -> list:
    for source in HISTORY_SOURCES:
        try:
            if conn is None:
                return []
            return conn.execute(
                f"SELECT {columns} FROM {source} WHERE {where} {tail}", args
            ).fetchall()
        except sqlite3.OperationalError as exc:
            if "no such" not in str(exc):
                raise
    return []


def _loads(text: Any) -> Any:
    if not isinstance(text, str):
        return text
    try:
        return json.loads(text)
    except ValueError:
        return text


def _body(value: Any, depth: int = 0) -> Any:
    """The functions' response body, whatever wrapping it arrived in."""
    value = _loads(value)
    if depth < 4 and isinstance(value, dict):
        if "body" in value and ("statusCode" in value or len(value) == 1):
            return _body(value["body"], depth + 1)
        if "Payload" in value:
            return _body(value["Payload"], depth + 1)
    return value


@dataclass(frozen=True)
class Prediction:
    index: int
    confidence: float
    label: str


def prediction(value: Any, classes: list[str] | None = None) -> Prediction | None:
    """Top class and probability from an output holding ``inferences`` (and maybe ``labels``)."""
    body = _body(value)
    if not isinstance(body, dict):
        return None
    probs = body.get("inferences")
    if not isinstance(probs, list) or not probs:
        return None
    try:
        numbers = [float(p) for p in probs]
    except (TypeError, ValueError):
        return None
    index = max(range(len(numbers)), key=numbers.__getitem__)
    labels = body.get("labels") if isinstance(body.get("labels"), list) else classes or []
    label = str(labels[index]) if index < len(labels) else f"class {index}"
    if body.get("reviewed") is True and isinstance(body.get("label"), str):
        # A person chose the label (the review definition); the model's guess was unsure.
        label = f"{body['label']} (reviewed)"
    return Prediction(index, numbers[index], label)


def input_key(input_text: Any) -> str:
    data = _loads(input_text)
    if isinstance(data, dict):
        for name in ("s3_key", "key", "prefix"):
            if isinstance(data.get(name), str):
                return data[name]
    return ""


@dataclass(frozen=True)
class ExecutionRow:
    arn: str
    name: str
    state_machine: str
    status: str
    start: float
    stop: float | None
    key: str
    prediction: Prediction | None
    error: str | None

    @property
    def duration(self) -> float | None:
        return None if self.stop is None else max(0.0, self.stop - self.start)


def _execution_filters(
    status: str | None, search: str | None, since: float | None
) -> tuple[str, list[Any]]:
    where, args = ["map_run_arn IS NULL"], []
    if status:
        where.append("status = ?")
        args.append(status)
    if since is not None:
        where.append("start_date >= ?")
        args.append(since)
    if search:
        pattern = "%" + search.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        where.append("(input LIKE ? ESCAPE '\\' OR name LIKE ? ESCAPE '\\')")
        args += [pattern, pattern]
    return " WHERE " + " AND ".join(where), args


def list_executions(
    database: str | Path,
    status: str | None = None,
    search: str | None = None,
    since: float | None = None,
    limit: int = 50,
    offset: int = 0,
    classes: list[str] | None = None,
) -> tuple[list[ExecutionRow], int]:
    """One page of executions, newest first, and how many match in total."""
    where, args = _execution_filters(status, search, since)
    with reader(database) as conn:
        total_rows = _rows(conn, f"SELECT COUNT(*) FROM executions{where}", args)
        total = total_rows[0][0] if total_rows else 0
        rows = _rows(
            conn,
            "SELECT arn, name, state_machine_name, status, input, output, error,"
            f" start_date, stop_date FROM executions{where}"
            " ORDER BY start_date DESC, arn DESC LIMIT ? OFFSET ?",
            [*args, limit, offset],
        )
        out = []
        for row in rows:
            pred = prediction(row["output"], classes)
            if pred is None:  # failed at the gate: the probabilities are in the history
                found = _history_rows(
                    conn,
                    "execution_arn = ? AND details LIKE '%inferences%'",
                    (row["arn"],),
                    "ORDER BY id DESC LIMIT 5",
                    "details",
                )
                for event in found:
                    pred = _prediction_in_details(event["details"], classes)
                    if pred is not None:
                        break
            out.append(
                ExecutionRow(
                    row["arn"],
                    row["name"],
                    row["state_machine_name"],
                    row["status"],
                    row["start_date"],
                    row["stop_date"],
                    input_key(row["input"]),
                    pred,
                    row["error"],
                )
            )
    return out, total


def _prediction_in_details(details: Any, classes: list[str] | None) -> Prediction | None:
    data = _loads(details)
    if not isinstance(data, dict):
        return None
    for inner in data.values():
        if isinstance(inner, dict):
            for key in ("output", "input", "parameters"):
                pred = prediction(inner.get(key), classes)
                if pred is not None:
                    return pred
    return None


def get_execution(database: str | Path, arn: str) -> dict[str, Any] | None:
    with reader(database) as conn:
        rows = _rows(conn, "SELECT * FROM executions WHERE arn = ?", (arn,))
        return dict(rows[0]) if rows else None


def get_events(database: str | Path, arn: str, limit: int = 2000) -> list[dict[str, Any]]:
    with reader(database) as conn:
        rows = _history_rows(
            conn,
            "execution_arn = ?",
            (arn, limit),
            "ORDER BY id LIMIT ?",
            "id, previous_event_id, timestamp, type, details",
        )
    return [
        {
            "id": r["id"],
            "previous_event_id": r["previous_event_id"],
            "timestamp": r["timestamp"],
            "type": r["type"],
            "details": _loads(r["details"]),
        }
        for r in rows
    ]


def steps(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each state entered, with its input, output (when exited) and times, in order."""
    out: list[dict[str, Any]] = []
    open_by_name: dict[str, dict[str, Any]] = {}
    for event in events:
        details = event.get("details") or {}
        if event["type"].endswith("StateEntered"):
            inner = details.get("stateEnteredEventDetails") or {}
            step = {
                "name": inner.get("name", "?"),
                "type": event["type"][: -len("StateEntered")],
                "input": inner.get("input"),
                "output": None,
                "entered": event["timestamp"],
                "exited": None,
                "status": "running",
            }
            out.append(step)
            open_by_name[step["name"]] = step
        elif event["type"].endswith("StateExited"):
            inner = details.get("stateExitedEventDetails") or {}
            step = open_by_name.pop(inner.get("name", "?"), None)
            if step is not None:
                # Exited after a failure: a Catch moved on (the error stays shown).
                status = "caught" if step["status"] == "failed" else "succeeded"
                step.update(output=inner.get("output"), exited=event["timestamp"], status=status)
        elif event["type"].endswith("Succeeded") and not event["type"].startswith("Execution"):
            for step in open_by_name.values():  # a retry succeeded after a failed attempt
                if step["status"] == "failed":
                    step.update(status="running", error=None, cause=None)
        elif event["type"].endswith("Failed") or event["type"].endswith("TimedOut"):
            for step in open_by_name.values():
                step["status"] = "failed"
                inner = next(iter(details.values()), {}) if details else {}
                if isinstance(inner, dict):
                    step["error"] = inner.get("error")
                    step["cause"] = inner.get("cause")
    return out


def endpoint_metrics(database: str | Path, since: float) -> dict[str, list[dict[str, Any]]]:
    """Per-minute rows of ``endpoint_metrics`` since ``since``, grouped by endpoint/variant."""
    with reader(database) as conn:
        rows = _rows(
            conn,
            "SELECT * FROM endpoint_metrics WHERE ts >= ? ORDER BY endpoint, variant, ts",
            (int(since),),
        )
    grouped: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        grouped.setdefault(f"{row['endpoint']}/{row['variant']}", []).append(dict(row))
    return grouped


def execution_figures(database: str | Path, since: float | None = None) -> dict[str, float]:
    """Measured averages for the cost page: executions, transitions, duration, Lambda ms."""
    where, args = ("WHERE e.start_date >= ?", [since]) if since is not None else ("", [])
    with reader(database) as conn:
        count = _rows(
            conn, f"SELECT COUNT(*), AVG(stop_date - start_date) FROM executions e {where}", args
        )
        transitions = _history_rows(
            conn,
            "type LIKE '%StateEntered' AND execution_arn IN (SELECT arn FROM executions e "
            f"{where})",
            args,
            columns="COUNT(*)",
        )
        durations = _rows(
            conn,
            "SELECT message FROM function_logs WHERE message LIKE 'REPORT RequestId:%' "
            "ORDER BY id DESC LIMIT 5000",
        )
    executions = count[0][0] if count else 0
    lambda_ms = []
    for row in durations:
        for part in row["message"].split("\t"):
            if part.startswith("Duration:"):
                try:
                    lambda_ms.append(float(part.split()[1]))
                except (IndexError, ValueError):
                    pass
    return {
        "executions": float(executions or 0),
        "execution_seconds": float(count[0][1]) if count and count[0][1] is not None else 0.0,
        "transitions_per_execution": (transitions[0][0] / executions)
        if executions and transitions
        else 0.0,
        "lambda_ms": sum(lambda_ms) / len(lambda_ms) if lambda_ms else 0.0,
        "lambda_samples": float(len(lambda_ms)),
    }


def now() -> float:
    return time.time()
