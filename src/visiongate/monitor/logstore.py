"""The ``function_logs`` table: schema, writing, and reading back (by execution, or following).

One row per log record, in ``Settings.database`` next to the engine's tables (WAL mode,
so the dashboard and ``visiongate logs`` read while executions write, and several
processes may write at once)::

    function_logs(id INTEGER PRIMARY KEY AUTOINCREMENT, time TEXT, level TEXT, logger TEXT,
                  message TEXT, execution_arn TEXT, state TEXT, request_id TEXT,
                  function TEXT, extra TEXT -- JSON object or NULL)
    INDEX function_logs_execution (execution_arn, id)

``time`` is ISO-8601 UTC with milliseconds (``2026-11-22T00:00:00.123Z``).
"""

from __future__ import annotations

import json
import logging
import sqlite3
import threading
import time as _time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

SCHEMA = """
CREATE TABLE IF NOT EXISTS function_logs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    time TEXT NOT NULL,
    level TEXT NOT NULL,
    logger TEXT NOT NULL,
    message TEXT NOT NULL,
    execution_arn TEXT,
    state TEXT,
    request_id TEXT,
    function TEXT,
    extra TEXT
);
CREATE INDEX IF NOT EXISTS function_logs_execution ON function_logs (execution_arn, id);
"""


def connect(database: str | Path) -> sqlite3.Connection:
    """Open the database in WAL mode, creating the ``function_logs`` table if needed."""
    path = Path(database)
    path.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(path, timeout=30, check_same_thread=False, isolation_level=None)
    conn.row_factory = sqlite3.Row
    conn.execute("PRAGMA busy_timeout = 30000")
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = NORMAL")
    conn.executescript(SCHEMA)
    return conn


class LogWriter:
    """One connection (opened on first use) and a lock: safe to share between threads."""

    def __init__(self, database: str | Path) -> None:
        self.database = Path(database)
        self._conn: sqlite3.Connection | None = None
        self._lock = threading.Lock()

    def write(self, entry: dict[str, Any]) -> None:
        row = (
            entry["time"],
            entry["level"],
            entry["logger"],
            entry["message"],
            entry.get("execution_arn"),
            entry.get("state"),
            entry.get("request_id"),
            entry.get("function"),
            json.dumps(entry["extra"]) if entry.get("extra") else None,
        )
        with self._lock:
            if self._conn is None:
                self._conn = connect(self.database)
            self._conn.execute(
                "INSERT INTO function_logs (time, level, logger, message, execution_arn,"
                " state, request_id, function, extra) VALUES (?,?,?,?,?,?,?,?,?)",
                row,
            )

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None


@dataclass(frozen=True)
class LogEntry:
    id: int
    time: str
    level: str
    logger: str
    message: str
    execution_arn: str | None
    state: str | None
    request_id: str | None
    function: str | None
    extra: dict[str, Any] | None

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        if data["extra"] is None:
            del data["extra"]
        return data

    def json_line(self) -> str:
        return json.dumps(self.to_json(), ensure_ascii=False)


def _entry(row: sqlite3.Row) -> LogEntry:
    extra = None
    if row["extra"]:
        try:
            extra = json.loads(row["extra"])
        except ValueError:
            extra = {"raw": row["extra"]}
    return LogEntry(
        row["id"],
        row["time"],
        row["level"],
        row["logger"],
        row["message"],
        row["execution_arn"],
        row["state"],
        row["request_id"],
        row["function"],
        extra,
    )


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def read_logs(
    database: str | Path,
    execution: str | None = None,
    since_id: int | None = None,
    limit: int = 1000,
    level: str | None = None,
) -> list[LogEntry]:
    """Entries in insertion order. ``execution``: an execution ARN or its name (the ARN's end)."""
    if not Path(database).exists():
        return []
    where, args = [], []
    if execution:
        where.append("(execution_arn = ? OR execution_arn LIKE ? ESCAPE '\\')")
        args += [execution, "%:" + _escape_like(execution)]
    if since_id is not None:
        where.append("id > ?")
        args.append(int(since_id))
    if level:
        wanted = logging.getLevelName(level.upper())
        if isinstance(wanted, int):
            names = [
                n
                for n in ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
                if logging.getLevelName(n) >= wanted
            ]
            where.append(f"level IN ({','.join('?' * len(names))})")
            args += names
    sql = "SELECT * FROM function_logs"
    if where:
        sql += " WHERE " + " AND ".join(where)
    sql += " ORDER BY id LIMIT ?"
    args.append(max(1, int(limit)))
    conn = connect(database)
    try:
        return [_entry(row) for row in conn.execute(sql, args)]
    finally:
        conn.close()


def follow(
    database: str | Path,
    execution: str | None = None,
    since_id: int | None = None,
    level: str | None = None,
    poll_seconds: float = 0.5,
    sleep: Callable[[float], None] = _time.sleep,
    stop: Callable[[], bool] = lambda: False,
) -> Iterator[LogEntry]:
    """Yield entries as they arrive (``tail -f``) until ``stop()`` is true."""
    last = since_id
    while True:
        batch = read_logs(database, execution=execution, since_id=last, limit=500, level=level)
        yield from batch
        if batch:
            last = batch[-1].id
            continue
        if stop():
            return
        sleep(poll_seconds)
