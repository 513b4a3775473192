"""SQLite persistence for state machines, executions, history, checkpoints and task tokens.

One file (``Settings.database``) in WAL mode, shared by every process on the machine: the CLI,
the Step Functions API server and the dashboard read and write it concurrently. The schema is
documented in docs/engine.md; timestamps are REAL seconds since the Unix epoch (UTC), JSON
payloads are TEXT exactly as Step Functions prints them.

Durability: each batch of events is written in one transaction together with the
execution's checkpoint, so a process killed at any moment leaves a consistent file
(``synchronous=NORMAL`` in WAL mode survives a process crash; only a power cut may lose the
last transactions).
"""

from __future__ import annotations

import queue
import sqlite3
import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

SCHEMA_VERSION = 2

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS state_machines (
    arn                   TEXT PRIMARY KEY,
    name                  TEXT NOT NULL,
    type                  TEXT NOT NULL,             -- STANDARD | EXPRESS
    definition            TEXT NOT NULL,             -- as given (placeholders unresolved)
    role_arn              TEXT NOT NULL,
    status                TEXT NOT NULL,             -- ACTIVE | DELETING
    creation_date         REAL NOT NULL,
    update_date           REAL,
    revision_id           TEXT NOT NULL,
    description           TEXT NOT NULL DEFAULT '',
    logging_configuration TEXT,                      -- JSON
    tracing_configuration TEXT,                      -- JSON
    tags                  TEXT NOT NULL DEFAULT '{}' -- JSON object
);
CREATE INDEX IF NOT EXISTS ix_state_machines_name ON state_machines(name);
CREATE TABLE IF NOT EXISTS executions (
    id                 INTEGER PRIMARY KEY,  -- events.execution_id
    arn                TEXT NOT NULL UNIQUE,
    name               TEXT NOT NULL,
    state_machine_arn  TEXT NOT NULL,
    state_machine_name TEXT NOT NULL,
    type               TEXT NOT NULL,     -- STANDARD | EXPRESS
    definition         TEXT NOT NULL,     -- the resolved definition this execution runs
    role_arn           TEXT,
    status             TEXT NOT NULL,     -- RUNNING | SUCCEEDED | FAILED | TIMED_OUT | ABORTED | PENDING_REDRIVE
    input              TEXT NOT NULL,
    output             TEXT,
    error              TEXT,
    cause              TEXT,
    start_date         REAL NOT NULL,
    stop_date          REAL,
    redrive_count      INTEGER NOT NULL DEFAULT 0,
    redrive_date       REAL,
    map_run_arn        TEXT,              -- set for the child executions of a Distributed Map
    test_case          TEXT,              -- mocked-response test case, if any
    trace_header       TEXT,
    owner              TEXT,              -- host:pid of the process running it
    last_event_id      INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS ix_executions_status ON executions(status, start_date);
CREATE INDEX IF NOT EXISTS ix_executions_machine ON executions(state_machine_arn, start_date);
CREATE INDEX IF NOT EXISTS ix_executions_name ON executions(name);
CREATE INDEX IF NOT EXISTS ix_executions_map_run ON executions(map_run_arn);
CREATE TABLE IF NOT EXISTS events (
    key               INTEGER PRIMARY KEY, -- executions.id << 32 | event id: one B-tree, appended in order
    previous_event_id INTEGER NOT NULL,
    timestamp         REAL NOT NULL,
    type              TEXT NOT NULL,
    details           TEXT,                -- JSON {"<x>EventDetails": {...}} without the payload
    data              TEXT                 -- the payload: details' "input" or "output" text
);
-- Events as GetExecutionHistory shows them: execution ARN, event id, payload put back.
CREATE VIEW IF NOT EXISTS history AS
SELECT x.arn AS execution_arn, e.key & 4294967295 AS id, e.previous_event_id, e.timestamp, e.type,
       CASE WHEN e.data IS NULL THEN e.details
            ELSE json_set(e.details,
                 '$."' || (SELECT key FROM json_each(e.details)) || '".'
                 || CASE WHEN instr(e.details, '"inputDetails"') > 0 THEN 'input' ELSE 'output' END,
                 e.data)
       END AS details
FROM events e JOIN executions x ON x.id = e.key >> 32;
CREATE TABLE IF NOT EXISTS checkpoints (
    execution_arn TEXT PRIMARY KEY,
    state         TEXT NOT NULL,          -- the top-level state to run (or re-run) next
    input         TEXT NOT NULL,          -- its input, JSON
    last_event_id INTEGER NOT NULL,       -- events after this id are discarded on resume
    previous_id   INTEGER NOT NULL,       -- previousEventId for the state's first event
    updated       REAL NOT NULL,
    variables     TEXT                    -- the top-level workflow variables, JSON object
);
CREATE TABLE IF NOT EXISTS branch_results (
    execution_arn TEXT NOT NULL,
    state         TEXT NOT NULL,          -- a top-level Map or Parallel state that failed
    idx           INTEGER NOT NULL,       -- iteration or branch index
    output        TEXT NOT NULL,          -- its successful output, reused by redrive
    PRIMARY KEY (execution_arn, state, idx)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS task_tokens (
    token         TEXT PRIMARY KEY,
    execution_arn TEXT NOT NULL,
    state         TEXT NOT NULL,
    status        TEXT NOT NULL,          -- WAITING | SUCCEEDED | FAILED | CLOSED
    output        TEXT,
    error         TEXT,
    cause         TEXT,
    created       REAL NOT NULL,
    heartbeat     REAL,
    closed        REAL
);
CREATE INDEX IF NOT EXISTS ix_task_tokens_execution ON task_tokens(execution_arn);
CREATE TABLE IF NOT EXISTS map_runs (
    arn                          TEXT PRIMARY KEY,
    execution_arn                TEXT NOT NULL,
    state_name                   TEXT NOT NULL,
    label                        TEXT,
    status                       TEXT NOT NULL,  -- RUNNING | SUCCEEDED | FAILED | ABORTED
    start_date                   REAL NOT NULL,
    stop_date                    REAL,
    max_concurrency              INTEGER NOT NULL,
    tolerated_failure_percentage REAL NOT NULL,
    tolerated_failure_count      INTEGER NOT NULL,
    item_counts                  TEXT NOT NULL,  -- JSON, DescribeMapRun's itemCounts
    execution_counts             TEXT NOT NULL,  -- JSON, DescribeMapRun's executionCounts
    redrive_count                INTEGER NOT NULL DEFAULT 0,
    redrive_date                 REAL
);
CREATE INDEX IF NOT EXISTS ix_map_runs_execution ON map_runs(execution_arn);
"""

EXECUTION_COLUMNS = (
    "id",
    "arn",
    "name",
    "state_machine_arn",
    "state_machine_name",
    "type",
    "definition",
    "role_arn",
    "status",
    "input",
    "output",
    "error",
    "cause",
    "start_date",
    "stop_date",
    "redrive_count",
    "redrive_date",
    "map_run_arn",
    "test_case",
    "trace_header",
    "owner",
    "last_event_id",
)
STATE_MACHINE_COLUMNS = (
    "arn",
    "name",
    "type",
    "definition",
    "role_arn",
    "status",
    "creation_date",
    "update_date",
    "revision_id",
    "description",
    "logging_configuration",
    "tracing_configuration",
    "tags",
)
MAP_RUN_COLUMNS = (
    "arn",
    "execution_arn",
    "state_name",
    "label",
    "status",
    "start_date",
    "stop_date",
    "max_concurrency",
    "tolerated_failure_percentage",
    "tolerated_failure_count",
    "item_counts",
    "execution_counts",
    "redrive_count",
    "redrive_date",
)
_EXECUTION_SELECT = "SELECT " + ", ".join(EXECUTION_COLUMNS) + " FROM executions"
_INSERT_EVENT = "INSERT OR REPLACE INTO events VALUES (?, ?, ?, ?, ?, ?)"
_INSERT_CHECKPOINT = (
    "INSERT OR REPLACE INTO checkpoints (execution_arn, state, input, last_event_id, "
    "previous_id, updated, variables) VALUES (?, ?, ?, ?, ?, ?, ?)"
)


def _checkpoint_row(checkpoint: tuple[Any, ...]) -> tuple[Any, ...]:
    """(arn, state, input, last_event_id, previous_id, updated[, variables JSON])."""
    return checkpoint if len(checkpoint) == 7 else (*checkpoint, None)


_ID_MASK = 0xFFFFFFFF


def _event_rows(execution_id: int, events: Iterable[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    """History rows (id, previous_event_id, timestamp, type, details, data) as table rows."""
    base = execution_id << 32
    return [(base | event[0], *event[1:]) for event in events]


class Store:
    """Thread-safe access to the engine's SQLite file (one connection, one lock)."""

    def __init__(self, path: str | Path) -> None:
        self.path = str(path)
        if self.path != ":memory:":
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.RLock()
        self._conn = sqlite3.connect(
            self.path, timeout=30.0, isolation_level=None, check_same_thread=False
        )
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute("PRAGMA synchronous=NORMAL")
        self._conn.execute("PRAGMA busy_timeout=30000")
        self._jobs: queue.Queue[tuple[int, list[tuple[Any, ...]]] | None] = queue.Queue()
        self._writer: threading.Thread | None = None
        self._writer_error: BaseException | None = None
        # executescript commits implicitly, so it runs outside our BEGIN/COMMIT.
        with self._lock:
            self._migrate()
            self._conn.executescript(SCHEMA)
            if "variables" not in self._columns("checkpoints"):  # schema 2 without variables
                self._conn.execute("ALTER TABLE checkpoints ADD COLUMN variables TEXT")
            self._conn.execute(
                "INSERT OR REPLACE INTO meta(key, value) VALUES ('schema_version', ?)",
                (str(SCHEMA_VERSION),),
            )

    def _columns(self, table: str) -> list[str]:
        return [row[1] for row in self._conn.execute(f"PRAGMA table_info({table})")]

    def _migrate(self) -> None:
        """Bring a database written by an earlier engine to the current schema."""
        events = self._columns("events")
        if not events or "key" in events:
            return
        self._conn.execute("BEGIN IMMEDIATE")
        try:
            self._conn.execute("DROP VIEW IF EXISTS history")
            if "execution_id" in events and "id" in self._columns("executions"):
                # Schema 1: (execution_id, id) key -> one integer key.
                self._conn.execute("ALTER TABLE events RENAME TO events_v1")
                self._conn.execute(
                    "CREATE TABLE events (key INTEGER PRIMARY KEY, previous_event_id INTEGER "
                    "NOT NULL, timestamp REAL NOT NULL, type TEXT NOT NULL, details TEXT, data TEXT)"
                )
                self._conn.execute(
                    "INSERT INTO events SELECT (execution_id << 32) | id, previous_event_id, "
                    "timestamp, type, details, data FROM events_v1"
                )
                self._conn.execute("DROP TABLE events_v1")
            else:
                # A development schema before the first release: keep it aside, start afresh.
                for table in ("events", "executions", "checkpoints"):
                    if self._columns(table):
                        self._conn.execute(f"ALTER TABLE {table} RENAME TO {table}_legacy")
            self._conn.execute("COMMIT")
        except BaseException:
            self._conn.execute("ROLLBACK")
            raise

    def close(self) -> None:
        self.drain()
        if self._writer is not None:
            self._jobs.put(None)
            self._writer.join()
            self._writer = None
        with self._lock:
            self._conn.close()

    # -- background event writer ------------------------------------------------------------

    def write_events_later(self, execution_id: int, events: list[tuple[Any, ...]]) -> None:
        """Queue events for the background writer (SQLite releases the GIL while it writes,
        so the interpreter keeps running on the other core). Any synchronous write or read
        of this store first waits for the queue, so order and read-your-writes hold."""
        if self._writer is None:
            with self._lock:
                if self._writer is None:
                    self._writer = threading.Thread(
                        target=self._write_loop, name="vg-sqlite-writer", daemon=True
                    )
                    self._writer.start()
        self._jobs.put((execution_id, events))

    def _write_loop(self) -> None:
        while True:
            job = self._jobs.get()
            try:
                if job is None:
                    return
                execution_id, events = job
                with self.transaction() as conn:
                    conn.executemany(_INSERT_EVENT, _event_rows(execution_id, events))
            except BaseException as exc:  # surfaced by the next drain()
                self._writer_error = exc
            finally:
                self._jobs.task_done()

    def drain(self) -> None:
        """Wait until every queued event is written."""
        if self._writer is not None:
            self._jobs.join()
        if self._writer_error is not None:
            error, self._writer_error = self._writer_error, None
            raise error

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """``BEGIN IMMEDIATE`` ... ``COMMIT`` under the store lock (rolled back on error)."""
        if self._writer is not None and threading.current_thread() is not self._writer:
            self.drain()
        with self._lock:
            conn = self._conn
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")

    def _query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        if self._writer is not None:
            self.drain()
        with self._lock:
            return self._conn.execute(sql, params).fetchall()

    # -- state machines ---------------------------------------------------------------------

    def insert_state_machine(self, row: dict[str, Any]) -> None:
        names = ", ".join(row)
        marks = ", ".join("?" for _ in row)
        with self.transaction() as conn:
            conn.execute(
                f"INSERT INTO state_machines ({names}) VALUES ({marks})", list(row.values())
            )

    def update_state_machine(self, arn: str, **fields: Any) -> None:
        sets = ", ".join(f"{name} = ?" for name in fields)
        with self.transaction() as conn:
            conn.execute(f"UPDATE state_machines SET {sets} WHERE arn = ?", [*fields.values(), arn])

    def delete_state_machine(self, arn: str) -> None:
        with self.transaction() as conn:
            conn.execute("DELETE FROM state_machines WHERE arn = ?", (arn,))

    def get_state_machine(self, arn: str) -> dict[str, Any] | None:
        rows = self._query(
            f"SELECT {', '.join(STATE_MACHINE_COLUMNS)} FROM state_machines WHERE arn = ?", (arn,)
        )
        return dict(zip(STATE_MACHINE_COLUMNS, rows[0], strict=True)) if rows else None

    def list_state_machines(self) -> list[dict[str, Any]]:
        rows = self._query(
            f"SELECT {', '.join(STATE_MACHINE_COLUMNS)} FROM state_machines "
            "ORDER BY creation_date, arn"
        )
        return [dict(zip(STATE_MACHINE_COLUMNS, row, strict=True)) for row in rows]

    # -- executions -------------------------------------------------------------------------

    def insert_execution(
        self,
        row: dict[str, Any],
        events: Iterable[tuple[Any, ...]] = (),
        checkpoint: tuple | None = None,
    ) -> int:
        """Insert an execution with its first events; returns its ``id`` (events.execution_id)."""
        names = ", ".join(row)
        marks = ", ".join("?" for _ in row)
        with self.transaction() as conn:
            cursor = conn.execute(
                f"INSERT INTO executions ({names}) VALUES ({marks})", list(row.values())
            )
            execution_id = int(cursor.lastrowid or 0)
            conn.executemany(_INSERT_EVENT, _event_rows(execution_id, events))
            if checkpoint is not None:
                conn.execute(_INSERT_CHECKPOINT, _checkpoint_row(checkpoint))
        return execution_id

    def get_execution(self, arn: str) -> dict[str, Any] | None:
        rows = self._query(f"{_EXECUTION_SELECT} WHERE arn = ?", (arn,))
        return dict(zip(EXECUTION_COLUMNS, rows[0], strict=True)) if rows else None

    def find_executions_by_name(self, name: str) -> list[dict[str, Any]]:
        rows = self._query(f"{_EXECUTION_SELECT} WHERE name = ? ORDER BY start_date DESC", (name,))
        return [dict(zip(EXECUTION_COLUMNS, row, strict=True)) for row in rows]

    def list_executions(
        self,
        *,
        state_machine_arn: str | None = None,
        status: str | None = None,
        map_run_arn: str | None = None,
        include_children: bool = False,
        limit: int | None = None,
        offset: int = 0,
    ) -> list[dict[str, Any]]:
        """Newest first. Child executions of Distributed Maps only when asked for."""
        where, params = [], []
        if state_machine_arn is not None:
            where.append("state_machine_arn = ?")
            params.append(state_machine_arn)
        if status is not None:
            where.append("status = ?")
            params.append(status)
        if map_run_arn is not None:
            where.append("map_run_arn = ?")
            params.append(map_run_arn)
        elif not include_children:
            where.append("map_run_arn IS NULL")
        sql = _EXECUTION_SELECT
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY start_date DESC, arn DESC"
        if limit is not None:
            sql += " LIMIT ? OFFSET ?"
            params += [limit, offset]
        rows = self._query(sql, params)
        return [dict(zip(EXECUTION_COLUMNS, row, strict=True)) for row in rows]

    def update_execution(self, arn: str, **fields: Any) -> None:
        sets = ", ".join(f"{name} = ?" for name in fields)
        with self.transaction() as conn:
            conn.execute(f"UPDATE executions SET {sets} WHERE arn = ?", [*fields.values(), arn])

    def save_progress(
        self,
        arn: str,
        execution_id: int,
        events: Sequence[tuple[Any, ...]],
        *,
        checkpoint: tuple | None = None,
        clear_checkpoint: bool = False,
        execution: dict[str, Any] | None = None,
        branch_results: Sequence[tuple[Any, ...]] = (),
        last_event_id: int | None = None,
    ) -> None:
        """One transaction: new events (rows without the execution id), and optionally the
        checkpoint and execution fields."""
        with self.transaction() as conn:
            if events:
                conn.executemany(_INSERT_EVENT, _event_rows(execution_id, events))
            if checkpoint is not None:
                conn.execute(_INSERT_CHECKPOINT, _checkpoint_row(checkpoint))
            elif clear_checkpoint:
                conn.execute("DELETE FROM checkpoints WHERE execution_arn = ?", (arn,))
            if branch_results:
                conn.executemany(
                    "INSERT OR REPLACE INTO branch_results VALUES (?, ?, ?, ?)", branch_results
                )
            fields = dict(execution or {})
            if last_event_id is not None:
                fields["last_event_id"] = last_event_id
            if fields:
                sets = ", ".join(f"{name} = ?" for name in fields)
                conn.execute(f"UPDATE executions SET {sets} WHERE arn = ?", [*fields.values(), arn])

    # -- history ----------------------------------------------------------------------------

    def execution_id(self, arn: str) -> int | None:
        rows = self._query("SELECT id FROM executions WHERE arn = ?", (arn,))
        return rows[0][0] if rows else None

    def get_events(
        self,
        arn: str,
        *,
        reverse: bool = False,
        after_id: int | None = None,
        limit: int | None = None,
    ) -> list[tuple[Any, ...]]:
        """Rows (id, previous_event_id, timestamp, type, details, data) in id order (or
        reverse); ``after_id`` continues a page in that order."""
        base = (self.execution_id(arn) or 0) << 32
        low, high = base, base | _ID_MASK
        if after_id is not None:
            if reverse:
                high = base | max(after_id - 1, 0)
            else:
                low = base | (after_id + 1)
        sql = (
            "SELECT key & 4294967295, previous_event_id, timestamp, type, details, data "
            "FROM events WHERE key BETWEEN ? AND ?"
        )
        params: list[Any] = [low, high]
        sql += " ORDER BY key DESC" if reverse else " ORDER BY key"
        if limit is not None:
            sql += " LIMIT ?"
            params.append(limit)
        return self._query(sql, params)

    def count_events(self, arn: str) -> int:
        base = (self.execution_id(arn) or 0) << 32
        return self._query(
            "SELECT COUNT(*) FROM events WHERE key BETWEEN ? AND ?", (base, base | _ID_MASK)
        )[0][0]

    def discard_events_after(self, arn: str, last_event_id: int) -> None:
        base = (self.execution_id(arn) or 0) << 32
        with self.transaction() as conn:
            conn.execute(
                "DELETE FROM events WHERE key BETWEEN ? AND ?",
                (base | (last_event_id + 1), base | _ID_MASK),
            )

    # -- checkpoints and redrive ------------------------------------------------------------

    def get_checkpoint(self, arn: str) -> dict[str, Any] | None:
        rows = self._query(
            "SELECT state, input, last_event_id, previous_id, variables FROM checkpoints "
            "WHERE execution_arn = ?",
            (arn,),
        )
        if not rows:
            return None
        state, input_text, last_event_id, previous_id, variables = rows[0]
        return {
            "state": state,
            "input": input_text,
            "last_event_id": last_event_id,
            "previous_id": previous_id,
            "variables": variables,
        }

    def get_branch_results(self, arn: str, state: str) -> dict[int, str]:
        rows = self._query(
            "SELECT idx, output FROM branch_results WHERE execution_arn = ? AND state = ?",
            (arn, state),
        )
        return dict(rows)

    def clear_branch_results(self, arn: str) -> None:
        with self.transaction() as conn:
            conn.execute("DELETE FROM branch_results WHERE execution_arn = ?", (arn,))

    # -- task tokens ------------------------------------------------------------------------

    def create_task_token(self, token: str, execution_arn: str, state: str) -> None:
        with self.transaction() as conn:
            conn.execute(
                "INSERT INTO task_tokens (token, execution_arn, state, status, created) "
                "VALUES (?, ?, ?, 'WAITING', ?)",
                (token, execution_arn, state, time.time()),
            )

    def get_task_token(self, token: str) -> dict[str, Any] | None:
        rows = self._query(
            "SELECT token, execution_arn, state, status, output, error, cause, heartbeat "
            "FROM task_tokens WHERE token = ?",
            (token,),
        )
        if not rows:
            return None
        keys = (
            "token",
            "execution_arn",
            "state",
            "status",
            "output",
            "error",
            "cause",
            "heartbeat",
        )
        return dict(zip(keys, rows[0], strict=True))

    def complete_task_token(
        self,
        token: str,
        status: str,
        output: str | None = None,
        error: str | None = None,
        cause: str | None = None,
    ) -> bool:
        """Record a task's outcome; False when the token is not waiting (unknown or closed)."""
        with self.transaction() as conn:
            cursor = conn.execute(
                "UPDATE task_tokens SET status = ?, output = ?, error = ?, cause = ?, closed = ? "
                "WHERE token = ? AND status = 'WAITING'",
                (status, output, error, cause, time.time(), token),
            )
            return cursor.rowcount == 1

    def heartbeat_task_token(self, token: str) -> bool:
        with self.transaction() as conn:
            cursor = conn.execute(
                "UPDATE task_tokens SET heartbeat = ? WHERE token = ? AND status = 'WAITING'",
                (time.time(), token),
            )
            return cursor.rowcount == 1

    def close_task_token(self, token: str) -> None:
        with self.transaction() as conn:
            conn.execute(
                "UPDATE task_tokens SET status = 'CLOSED', closed = ? "
                "WHERE token = ? AND status = 'WAITING'",
                (time.time(), token),
            )

    # -- map runs ---------------------------------------------------------------------------

    def upsert_map_run(self, row: dict[str, Any]) -> None:
        names = ", ".join(row)
        marks = ", ".join("?" for _ in row)
        with self.transaction() as conn:
            conn.execute(
                f"INSERT OR REPLACE INTO map_runs ({names}) VALUES ({marks})", list(row.values())
            )

    def get_map_run(self, arn: str) -> dict[str, Any] | None:
        rows = self._query(
            f"SELECT {', '.join(MAP_RUN_COLUMNS)} FROM map_runs WHERE arn = ?", (arn,)
        )
        return dict(zip(MAP_RUN_COLUMNS, rows[0], strict=True)) if rows else None

    def list_map_runs(self, execution_arn: str) -> list[dict[str, Any]]:
        rows = self._query(
            f"SELECT {', '.join(MAP_RUN_COLUMNS)} FROM map_runs WHERE execution_arn = ? "
            "ORDER BY start_date",
            (execution_arn,),
        )
        return [dict(zip(MAP_RUN_COLUMNS, row, strict=True)) for row in rows]
