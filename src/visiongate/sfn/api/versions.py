"""State machine versions: immutable, numbered snapshots of a state machine's revisions.

https://docs.aws.amazon.com/step-functions/latest/dg/concepts-state-machine-version.html

* ``publish=true`` on Create/UpdateStateMachine, or PublishStateMachineVersion, snapshots the
  current revision as ``<state machine ARN>:<n>``; n counts up from 1 and is never reused.
  Publishing a revision that already has a version returns that version.
* A version ARN can be described, started and listed; executions started through it report
  ``stateMachineVersionArn``. Deleting the state machine deletes its versions.

The engine knows state machines, not versions, so versions live in two tables of their own in
the same SQLite file (``api_versions``, ``api_execution_versions``). Executions of a version
run through the engine as executions of its state machine, which is only possible while the
version's definition and role are the machine's current ones (see :meth:`runnable`).
"""

from __future__ import annotations

import re
import sqlite3
import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

SCHEMA = """
CREATE TABLE IF NOT EXISTS api_versions (
    arn               TEXT PRIMARY KEY,   -- <state machine ARN>:<version>
    state_machine_arn TEXT NOT NULL,
    version           INTEGER NOT NULL,
    definition        TEXT NOT NULL,
    role_arn          TEXT NOT NULL,
    type              TEXT NOT NULL,
    revision_id       TEXT NOT NULL,
    description       TEXT,
    creation_date     REAL NOT NULL,
    deleted           INTEGER NOT NULL DEFAULT 0  -- kept so a number is never reused
);
CREATE INDEX IF NOT EXISTS ix_api_versions_machine ON api_versions(state_machine_arn);
CREATE TABLE IF NOT EXISTS api_execution_versions (
    execution_arn TEXT PRIMARY KEY,
    version_arn   TEXT NOT NULL
);
"""
_COLUMNS = (
    "arn", "state_machine_arn", "version", "definition", "role_arn", "type", "revision_id",
    "description", "creation_date",
)  # fmt: skip
_QUALIFIED = re.compile(
    r"^(?P<base>arn:[^:]+:states:[^:]*:[^:]*:stateMachine:[^:]+):(?P<version>\d+)$"
)


@dataclass(frozen=True)
class Version:
    arn: str
    state_machine_arn: str
    version: int
    definition: str
    role_arn: str
    type: str
    revision_id: str
    description: str | None
    creation_date: datetime


def split_version(arn: str) -> tuple[str, int | None]:
    """(state machine ARN, version number or None) of a possibly qualified ARN."""
    match = _QUALIFIED.match(arn)
    if match is None:
        return arn, None
    return match.group("base"), int(match.group("version"))


class VersionStore:
    """The version tables, on their own connection to the engine's SQLite file."""

    def __init__(self, database: str | Path) -> None:
        Path(database).parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._conn = sqlite3.connect(
            str(database), timeout=30.0, isolation_level=None, check_same_thread=False
        )
        with self._lock:
            self._conn.execute("PRAGMA busy_timeout=30000")
            self._conn.executescript(SCHEMA)

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    def _rows(self, sql: str, params: tuple[Any, ...] = ()) -> list[Version]:
        with self._lock:
            rows = self._conn.execute(
                f"SELECT {', '.join(_COLUMNS)} FROM api_versions {sql}", params
            ).fetchall()
        return [
            Version(*row[:-1], creation_date=datetime.fromtimestamp(row[-1], UTC))  # type: ignore[misc]
            for row in rows
        ]

    def get(self, arn: str) -> Version | None:
        found = self._rows("WHERE arn = ? AND deleted = 0", (arn,))
        return found[0] if found else None

    def of_machine(self, state_machine_arn: str) -> list[Version]:
        """Newest first."""
        return self._rows(
            "WHERE state_machine_arn = ? AND deleted = 0 ORDER BY version DESC",
            (state_machine_arn,),
        )

    def publish(self, machine: Any, description: str | None, now: datetime) -> tuple[Version, bool]:
        """(version of the machine's current revision, whether it was just created)."""
        for version in self.of_machine(machine.arn):
            if version.revision_id == machine.revision_id:
                return version, False
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                (highest,) = self._conn.execute(
                    "SELECT COALESCE(MAX(version), 0) FROM api_versions WHERE state_machine_arn = ?",
                    (machine.arn,),
                ).fetchone()
                number = highest + 1
                arn = f"{machine.arn}:{number}"
                self._conn.execute(
                    "INSERT INTO api_versions VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 0)",
                    (arn, machine.arn, number, machine.definition, machine.role_arn, machine.type,
                     machine.revision_id, description, now.timestamp()),
                )  # fmt: skip
                self._conn.execute("COMMIT")
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
        version = self.get(arn)
        assert version is not None
        return version, True

    def delete(self, arn: str) -> None:
        with self._lock:
            self._conn.execute("UPDATE api_versions SET deleted = 1 WHERE arn = ?", (arn,))

    def delete_machine(self, state_machine_arn: str) -> None:
        """A deleted machine's versions go, and its numbers restart if the name is reused."""
        with self._lock:
            self._conn.execute(
                "DELETE FROM api_versions WHERE state_machine_arn = ?", (state_machine_arn,)
            )

    def record_execution(self, execution_arn: str, version_arn: str) -> None:
        with self._lock:
            self._conn.execute(
                "INSERT OR REPLACE INTO api_execution_versions VALUES (?, ?)",
                (execution_arn, version_arn),
            )

    def version_of(self, execution_arn: str) -> str | None:
        with self._lock:
            row = self._conn.execute(
                "SELECT version_arn FROM api_execution_versions WHERE execution_arn = ?",
                (execution_arn,),
            ).fetchone()
        return row[0] if row else None

    def executions_of(self, version_arn: str) -> set[str]:
        with self._lock:
            rows = self._conn.execute(
                "SELECT execution_arn FROM api_execution_versions WHERE version_arn = ?",
                (version_arn,),
            ).fetchall()
        return {row[0] for row in rows}


def runnable(version: Version, machine: Any) -> bool:
    """Can the engine run ``version`` as its state machine (same definition and role)?"""
    return version.definition == machine.definition and version.role_arn == machine.role_arn
