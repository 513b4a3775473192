"""Function logs: JSON-shaped rows in SQLite, tagged by the engine's log_context, read back."""

from __future__ import annotations

import logging
import multiprocessing
import sqlite3
import threading

import pytest

from visiongate.monitor.logs import (
    FunctionLogHandler,
    connect,
    current_context,
    follow,
    install,
    log_context,
    read_logs,
    uninstall,
)

ARN = "arn:aws:states:us-east-1:123456789012:execution:image-classification:run-1"


@pytest.fixture
def handler(tmp_path):
    h = install(tmp_path / "vg.db")
    yield h
    uninstall(h)


def test_records_round_trip_with_their_context(handler):
    log = logging.getLogger("visiongate.functions.classify")
    with log_context(execution_arn=ARN, state="Classify", request_id="req-1"):
        log.info("invoking endpoint %s", "visiongate")
    [entry] = read_logs(handler.database)
    assert entry.to_json() == {
        "id": entry.id,
        "time": entry.time,
        "level": "INFO",
        "logger": "visiongate.functions.classify",
        "message": "invoking endpoint visiongate",
        "execution_arn": ARN,
        "state": "Classify",
        "request_id": "req-1",
        "function": "classify",  # from the logger name when the context does not say
    }
    assert entry.time.endswith("Z") and "T" in entry.time


def test_context_nests_and_is_restored():
    with log_context(execution_arn=ARN):
        with log_context(state="Classify"):
            assert current_context() == {"execution_arn": ARN, "state": "Classify"}
        assert current_context() == {"execution_arn": ARN}
    assert current_context() == {}


def test_context_is_per_thread(handler):
    log = logging.getLogger("visiongate.functions.serialize_image")

    def run(name: str) -> None:
        with log_context(execution_arn=f"{ARN}-{name}", state="Serialize"):
            log.info("from %s", name)

    threads = [threading.Thread(target=run, args=(str(i),)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    entries = read_logs(handler.database)
    assert sorted((e.execution_arn, e.message) for e in entries) == sorted(
        (f"{ARN}-{i}", f"from {i}") for i in range(8)
    )


def test_extra_fields_and_exceptions_are_kept(handler):
    log = logging.getLogger("visiongate.functions.filter_confidence")
    try:
        raise ValueError("THRESHOLD_CONFIDENCE_NOT_MET")
    except ValueError:
        log.exception("gate failed", extra={"confidence": 0.61})
    [entry] = read_logs(handler.database)
    assert entry.level == "ERROR"
    assert entry.extra["confidence"] == 0.61
    assert "THRESHOLD_CONFIDENCE_NOT_MET" in entry.extra["exception"]


def test_other_loggers_are_not_stored(handler):
    logging.getLogger("visiongate.sfn").warning("engine noise")
    logging.getLogger("visiongate.functionsx").warning("not a function")
    assert read_logs(handler.database) == []


def test_install_is_idempotent_per_database(handler):
    assert install(handler.database) is handler
    assert (
        sum(
            isinstance(h, FunctionLogHandler)
            for h in logging.getLogger("visiongate.functions").handlers
        )
        == 1
    )


def test_filter_by_execution_arn_or_name_since_id_and_level(handler):
    log = logging.getLogger("visiongate.functions.classify")
    with log_context(execution_arn=ARN):
        log.info("one")
        log.warning("two")
    with log_context(execution_arn=ARN.replace("run-1", "run-10")):
        log.info("other")
    assert [e.message for e in read_logs(handler.database, execution=ARN)] == ["one", "two"]
    assert [e.message for e in read_logs(handler.database, execution="run-1")] == ["one", "two"]
    first = read_logs(handler.database)[0]
    assert [e.message for e in read_logs(handler.database, since_id=first.id)] == ["two", "other"]
    assert [e.message for e in read_logs(handler.database, level="warning")] == ["two"]
    assert len(read_logs(handler.database, limit=2)) == 2


def test_names_with_like_wildcards_match_literally(handler):
    log = logging.getLogger("visiongate.functions.classify")
    with log_context(execution_arn=ARN.replace("run-1", "run_%")):
        log.info("wild")
    with log_context(execution_arn=ARN.replace("run-1", "runX1")):
        log.info("tame")
    assert [e.message for e in read_logs(handler.database, execution="run_%")] == ["wild"]


def test_reading_a_database_that_does_not_exist_yet_is_empty(tmp_path):
    assert read_logs(tmp_path / "none.db") == []


def test_follow_yields_new_entries_without_sleeping_for_real(handler):
    log = logging.getLogger("visiongate.functions.classify")
    log.info("before")
    naps: list[float] = []

    def sleep(seconds: float) -> None:  # a writer that logs while we "sleep"
        naps.append(seconds)
        if len(naps) == 1:
            log.info("during")

    stream = follow(handler.database, sleep=sleep, stop=lambda: len(naps) >= 2, poll_seconds=0.25)
    assert [e.message for e in stream] == ["before", "during"]
    assert naps == [0.25, 0.25]


def _write_many(database: str, worker: int, count: int) -> None:
    handler = install(database)
    log = logging.getLogger("visiongate.functions.classify")
    for i in range(count):
        with log_context(execution_arn=f"{ARN}-{worker}", request_id=f"{worker}-{i}"):
            log.info("message %d", i)
    uninstall(handler)


def test_concurrent_writer_processes_lose_nothing(tmp_path):
    database = str(tmp_path / "vg.db")
    connect(database).close()
    ctx = multiprocessing.get_context("spawn")
    workers = [ctx.Process(target=_write_many, args=(database, w, 100)) for w in range(4)]
    for p in workers:
        p.start()
    for p in workers:
        p.join(timeout=60)
        assert p.exitcode == 0
    entries = read_logs(database, limit=10_000)
    assert len(entries) == 400
    assert len({e.request_id for e in entries}) == 400
    for w in range(4):
        mine = [e.message for e in read_logs(database, execution=f"{ARN}-{w}", limit=1000)]
        assert mine == [f"message {i}" for i in range(100)]  # each writer's order is kept
    mode = sqlite3.connect(database).execute("PRAGMA journal_mode").fetchone()[0]
    assert mode == "wal"


# --- the engine's hook: FunctionRegistry.log_listeners ------------------------------------


def test_the_engines_captured_records_are_stored_per_execution(tmp_path):
    from visiongate.functions.logs import FunctionLog
    from visiongate.monitor.logs import subscribe
    from visiongate.sfn.functions import FunctionRegistry

    def handler(event, context):
        FunctionLog("classify", context).info("invoked", endpoint="visiongate")
        logging.getLogger("visiongate.functions.classify").warning("plain text line")
        return {"ok": True}

    registry = FunctionRegistry({"classify": handler})
    database = tmp_path / "vg.db"
    sink = subscribe(registry, database)
    assert subscribe(registry, database) is sink  # once per database
    try:
        function = registry.resolve("classify")
        registry.invoke(
            function, {}, request_id="req-42", tags={"execution_arn": ARN, "state": "Classify"}
        )
    finally:
        registry.close()
        sink.close()
    entries = read_logs(database, execution="run-1")
    by_message = {e.message: e for e in entries}
    invoked = by_message["invoked"]
    assert (invoked.function, invoked.request_id, invoked.state) == (
        "classify",
        "req-42",
        "Classify",
    )
    assert invoked.extra["endpoint"] == "visiongate"
    assert by_message["plain text line"].level == "WARNING"
    # The runtime's own START/END/REPORT lines are kept too, as on CloudWatch.
    assert any(m.startswith("REPORT RequestId: req-42") for m in by_message)


def test_json_messages_of_the_functions_become_fields(handler):
    log = logging.getLogger("visiongate.functions.filter_confidence")
    log.warning(
        '{"level":"WARNING","function":"filter_confidence","event":"failed",'
        '"request_id":"r-9","error_type":"THRESHOLD_CONFIDENCE_NOT_MET",'
        '"error_message":"below 0.75","duration_ms":1.5}'
    )
    [entry] = read_logs(handler.database)
    assert entry.message == "failed: THRESHOLD_CONFIDENCE_NOT_MET: below 0.75"
    assert entry.request_id == "r-9"
    assert entry.extra == {
        "error_type": "THRESHOLD_CONFIDENCE_NOT_MET",
        "error_message": "below 0.75",
        "duration_ms": 1.5,
    }
