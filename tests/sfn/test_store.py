"""The SQLite store: WAL, schema, and what another process (the dashboard) can read."""

from __future__ import annotations

import sqlite3

from visiongate.sfn.engine import Engine
from visiongate.sfn.store import SCHEMA_VERSION, Store


def test_database_is_in_wal_mode_with_a_schema_version(tmp_path) -> None:
    store = Store(tmp_path / "db.sqlite")
    store.close()
    with sqlite3.connect(tmp_path / "db.sqlite") as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert conn.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()[
            0
        ] == str(SCHEMA_VERSION)
        tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master")}
    assert {
        "state_machines",
        "executions",
        "events",
        "checkpoints",
        "task_tokens",
        "map_runs",
        "history",
    } <= tables


def test_another_connection_sees_executions_and_state_machines(engine: Engine) -> None:
    result = engine.run(
        {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}}, {"v": 1}, name="visible"
    )
    with sqlite3.connect(engine.store.path) as conn:
        row = conn.execute(
            "SELECT name, status, input, output, state_machine_name FROM executions WHERE arn = ?",
            (result.arn,),
        ).fetchone()
        machines = conn.execute("SELECT name, type FROM state_machines").fetchall()
    assert row[:4] == ("visible", "SUCCEEDED", '{"v":1}', '{"v":1}')
    assert machines == [(row[4], "STANDARD")]


def test_a_finished_execution_leaves_no_checkpoint(engine: Engine) -> None:
    result = engine.run({"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}})
    assert engine.store.get_checkpoint(result.arn) is None
    failed = engine.run({"StartAt": "F", "States": {"F": {"Type": "Fail", "Error": "E"}}})
    assert engine.store.get_checkpoint(failed.arn)["state"] == "F"  # kept for redrive
