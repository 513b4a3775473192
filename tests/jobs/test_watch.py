"""``visiongate watch``: one execution per new object version, at most once, across restarts.

Behaviour modelled on S3 → EventBridge → Step Functions
(https://docs.aws.amazon.com/AmazonS3/latest/userguide/EventBridge.html); execution names
are unique per state machine, which makes them the idempotency key
(https://docs.aws.amazon.com/step-functions/latest/apireference/API_StartExecution.html).
"""

from __future__ import annotations

import pytest

from tests.jobs.conftest import png
from visiongate.jobs.scope import job_environment
from visiongate.jobs.watch import Watcher, WatchError, execution_name
from visiongate.sfn.engine import Engine


class Crash(Exception):
    """The process dies at this point."""


@pytest.fixture
def engine(settings):
    with job_environment(settings), Engine(settings) as running:
        yield running


def watcher(settings, engine, **kwargs) -> Watcher:
    return Watcher(settings, "images", "in/", engine=engine, sleep=lambda s: None, **kwargs)


def test_objects_present_when_a_watch_begins_are_not_run_new_ones_are(
    settings, store, images, engine
) -> None:
    with watcher(settings, engine) as first:
        first.prepare()
        assert first.stats.baseline == 12
        assert first.poll_once() == []
        store.put("images", "in/new.png", png(50))
        store.put("images", "elsewhere/ignored.png", png(51))
        started = first.poll_once()
        assert [s.key for s in started] == ["in/new.png"]
        first.drain(timeout=30)
        assert first.stats.finished == 1
    assert len(engine.list_executions()) == 1


def test_include_existing_runs_what_is_already_there(settings, images, engine) -> None:
    with watcher(settings, engine, include_existing=True) as first:
        started = first.poll_once()
        first.drain(timeout=30)
    assert sorted(s.key for s in started) == images
    assert {e.status for e in engine.list_executions()} <= {"SUCCEEDED", "FAILED"}


def test_a_restart_starts_nothing_twice_and_a_new_version_runs_once(
    settings, store, images, engine
) -> None:
    with watcher(settings, engine) as first:
        first.prepare()
        store.put("images", "in/a.png", png(60))
        assert len(first.poll_once()) == 1
        first.drain(timeout=30)

    with watcher(settings, engine) as restarted:  # same database: a restart
        assert restarted.poll_once() == []
        assert restarted.stats.baseline == 0  # the watch had begun before
        store.put("images", "in/a.png", png(61))  # overwritten: a new object version
        again = restarted.poll_once()
        assert [s.key for s in again] == ["in/a.png"]
        assert restarted.poll_once() == []
        restarted.drain(timeout=30)
    names = [e.name for e in engine.list_executions()]
    assert len(names) == len(set(names)) == 2


def test_two_watchers_on_one_database_never_both_start_a_version(
    settings, store, images, engine
) -> None:
    with watcher(settings, engine) as one, watcher(settings, engine) as two:
        one.prepare()
        two.prepare()
        store.put("images", "in/b.png", png(70))
        started = one.poll_once() + two.poll_once()
        one.drain(timeout=30)
    assert len(started) == 1
    assert len(engine.list_executions()) == 1


@pytest.mark.parametrize("crash_after_start", [False, True])
def test_a_crash_between_claim_and_confirmation_is_repaired_without_a_second_start(
    settings, store, images, engine, crash_after_start: bool
) -> None:
    def crashing_start(machine_arn, payload, name):
        if crash_after_start:
            engine.start_execution(machine_arn, payload, name)
        raise Crash()

    with watcher(settings, engine, start=crashing_start) as doomed:
        doomed.prepare()
        store.put("images", "in/c.png", png(80))
        with pytest.raises(Crash):
            doomed.poll_once()
    started_before = len(engine.list_executions())
    assert started_before == (1 if crash_after_start else 0)

    with watcher(settings, engine) as restarted:
        repaired = restarted.prepare()
        assert restarted.poll_once() == []
        restarted.drain(timeout=30)
    executions = engine.list_executions()
    assert len(executions) == 1  # exactly once in both cases
    version = store.head("images", "in/c.png").version
    assert executions[0].name == execution_name("images", "in/c.png", version)
    if not crash_after_start:
        assert [s.key for s in repaired] == ["in/c.png"] and repaired[0].repaired
    # (after a start, the repair either meets ExecutionAlreadyExists or, while the first
    # execution still runs, StartExecution's idempotent answer: the same execution)


def test_the_loop_polls_max_iterations_times_and_sleeps_in_between(settings, images, engine):
    sleeps = []
    w = Watcher(settings, "images", "in/", engine=engine, sleep=sleeps.append)
    with w:
        stats = w.run(interval=2.5, max_iterations=3)
    assert stats.polls == 3
    assert sleeps == [2.5, 2.5]


def test_watching_a_missing_bucket_says_so(settings, engine) -> None:
    with (
        Watcher(settings, "nothere", engine=engine) as w,
        pytest.raises(WatchError, match="does not exist"),
    ):
        w.prepare()
