"""The virtual clock: waits, timeouts and parallel branches take virtual time, never real time."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime

import pytest

from visiongate.sfn.clock import RealClock, VirtualClock
from visiongate.sfn.engine import Engine

START = datetime(2024, 1, 1, tzinfo=UTC)


def test_sleep_advances_virtual_time_instantly() -> None:
    clock = VirtualClock(START)
    before = time.monotonic()
    assert clock.sleep(3600)
    assert time.monotonic() - before < 1
    assert clock.now() == datetime(2024, 1, 1, 1, tzinfo=UTC)
    assert clock.time() == START.timestamp() + 3600


def test_sleep_honours_cancellation() -> None:
    clock = VirtualClock(START)
    cancel = threading.Event()
    cancel.set()
    assert clock.sleep(10, cancel) is False
    assert RealClock().sleep(10, cancel) is False


def test_wait_with_timeout_elapses_virtually_unless_already_set() -> None:
    clock = VirtualClock(START)
    event = threading.Event()
    assert clock.wait(event, 30) is False
    assert clock.monotonic() == 30
    event.set()
    assert clock.wait(event, 30) is True
    assert clock.monotonic() == 30


def test_call_times_out_by_virtual_duration() -> None:
    clock = VirtualClock(START)
    assert clock.call(lambda: clock.advance(1) or "ok", timeout=5) == "ok"
    with pytest.raises(TimeoutError):
        clock.call(lambda: clock.advance(10), timeout=5)
    assert clock.monotonic() == 6  # 1 s, then the 5 s the timed-out call was allowed


def test_children_start_at_the_parents_time_and_the_parent_waits_for_the_slowest() -> None:
    clock = VirtualClock(START)
    clock.advance(100)
    tokens = [clock.fork(), clock.fork()]

    def child(token: object, seconds: float) -> None:
        clock.adopt(token)
        clock.advance(seconds)
        clock.finish(token)

    threads = [
        threading.Thread(target=child, args=(t, s)) for t, s in zip(tokens, (10, 25), strict=True)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    clock.join(tokens)
    assert clock.monotonic() == 125


def test_real_clock_call_times_out_on_a_helper_thread() -> None:
    clock = RealClock()
    release = threading.Event()
    with pytest.raises(TimeoutError):
        clock.call(lambda: release.wait(5), timeout=0.05)
    release.set()


def test_parallel_waits_overlap_on_the_virtual_clock(engine: Engine) -> None:
    branches = [
        {"StartAt": name, "States": {name: {"Type": "Wait", "Seconds": seconds, "End": True}}}
        for name, seconds in (("Short", 10), ("Long", 40))
    ]
    definition = {
        "StartAt": "Both",
        "States": {"Both": {"Type": "Parallel", "Branches": branches, "End": True}},
    }
    result = engine.run(definition)
    duration = (result.execution.stop_date - result.execution.start_date).total_seconds()
    assert duration == 40


def test_wait_until_a_timestamp(engine: Engine, clock: VirtualClock) -> None:
    definition = {
        "StartAt": "W",
        "States": {"W": {"Type": "Wait", "TimestampPath": "$.at", "End": True}},
    }
    result = engine.run(definition, {"at": "2024-01-31T13:00:00Z"})
    assert result.succeeded
    assert (result.execution.stop_date - result.execution.start_date).total_seconds() == 3600


def test_execution_timeout_seconds_times_the_execution_out(engine: Engine) -> None:
    definition = {
        "TimeoutSeconds": 60,
        "StartAt": "W",
        "States": {"W": {"Type": "Wait", "Seconds": 3600, "End": True}},
    }
    result = engine.run(definition)
    assert result.status == "TIMED_OUT"
    assert result.error == "States.Timeout"
    assert result.event_types()[-1] == "ExecutionTimedOut"
    assert (result.execution.stop_date - result.execution.start_date).total_seconds() == 60
