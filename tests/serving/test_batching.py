"""The dynamic batcher with an injected clock: no test waits for a real deadline."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor

import pytest

from visiongate.errors import ConfigError
from visiongate.serving.batching import BatchConfig, Batcher
from visiongate.serving.errors import InternalFailure, ServiceUnavailable


class FakeClock:
    """Time moves only when the test calls ``advance``."""

    def __init__(self) -> None:
        self.t = 0.0
        self._ticks: list[asyncio.Event] = []

    def now(self) -> float:
        return self.t

    async def wait(self, event: asyncio.Event, deadline: float) -> None:
        while not event.is_set() and self.t < deadline:
            tick = asyncio.Event()
            self._ticks.append(tick)
            waiters = {asyncio.ensure_future(event.wait()), asyncio.ensure_future(tick.wait())}
            _, pending = await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
            for task in pending:
                task.cancel()

    def advance(self, seconds: float) -> None:
        self.t += seconds
        for tick in self._ticks:
            tick.set()
        self._ticks.clear()


class Recorder:
    """A handler that multiplies by ten and remembers each batch it saw."""

    def __init__(self, fail_on: object = None) -> None:
        self.batches: list[list] = []
        self.fail_on = fail_on

    def __call__(self, items: list) -> Sequence:
        self.batches.append(list(items))
        if self.fail_on is not None and self.fail_on in items:
            raise ValueError(f"cannot handle {self.fail_on!r}")
        return [item * 10 for item in items]


async def settle() -> None:
    for _ in range(20):
        await asyncio.sleep(0)


def run(coro):
    return asyncio.run(coro)


@pytest.mark.parametrize(
    ("kwargs", "problem"),
    [
        ({"max_batch_size": 0}, "max batch size 0 must be 1..1024"),
        ({"max_wait_s": -0.001}, "max wait -1 ms must be 0..10000 ms"),
        ({"max_batch_size": 8, "max_queue": 4}, "max queue 4 must be at least the max batch size"),
        ({"concurrency": 0}, "concurrency 0 must be 1..64"),
    ],
)
def test_limits_are_validated_up_front(kwargs: dict, problem: str) -> None:
    with pytest.raises(ConfigError) as caught:
        BatchConfig(**kwargs)
    assert problem in caught.value.message


def test_a_full_batch_runs_at_once_without_waiting_for_the_deadline() -> None:
    async def scenario():
        handler, clock = Recorder(), FakeClock()
        batcher = Batcher(handler, BatchConfig(4, max_wait_s=10.0), clock=clock)
        batcher.start()
        results = await asyncio.gather(*(batcher.submit(i) for i in range(4)))
        await batcher.stop()
        return results, handler.batches, clock.t

    results, batches, elapsed = run(scenario())
    assert results == [0, 10, 20, 30]
    assert batches == [[0, 1, 2, 3]]
    assert elapsed == 0.0


def test_a_partial_batch_waits_exactly_until_the_oldest_request_deadline() -> None:
    async def scenario():
        handler, clock = Recorder(), FakeClock()
        batcher = Batcher(handler, BatchConfig(4, max_wait_s=0.125), clock=clock)
        batcher.start()
        futures = [asyncio.ensure_future(batcher.submit(i)) for i in (1, 2)]
        await settle()
        clock.advance(0.0625)  # binary fractions: the sum is exactly the deadline
        await settle()
        before = (list(handler.batches), [f.done() for f in futures])
        clock.advance(0.0625)
        results = await asyncio.gather(*futures)
        await batcher.stop()
        return before, results, handler.batches

    before, results, batches = run(scenario())
    assert before == ([], [False, False])
    assert results == [10, 20]
    assert batches == [[1, 2]]


def test_n_concurrent_requests_take_ceil_n_over_max_calls_and_keep_their_results() -> None:
    async def scenario():
        handler, clock = Recorder(), FakeClock()
        batcher = Batcher(handler, BatchConfig(4, max_wait_s=0.005), clock=clock)
        batcher.start()
        futures = [asyncio.ensure_future(batcher.submit(i)) for i in range(10)]
        await settle()
        clock.advance(0.005)  # the last, partial batch
        results = await asyncio.gather(*futures)
        await batcher.stop()
        return results, handler.batches, batcher.calls

    results, batches, calls = run(scenario())
    assert results == [i * 10 for i in range(10)]
    assert [len(b) for b in batches] == [4, 4, 2]
    assert calls == 3


def test_a_bad_input_never_fails_its_batch_mates() -> None:
    async def scenario():
        handler = Recorder(fail_on="bad")
        batcher = Batcher(handler, BatchConfig(3, max_wait_s=1.0), clock=FakeClock())
        batcher.start()
        outcomes = await asyncio.gather(
            batcher.submit(1), batcher.submit("bad"), batcher.submit(3), return_exceptions=True
        )
        await batcher.stop()
        return outcomes, handler.batches

    outcomes, batches = run(scenario())
    assert outcomes[0] == 10 and outcomes[2] == 30
    assert isinstance(outcomes[1], ValueError) and str(outcomes[1]) == "cannot handle 'bad'"
    assert batches == [[1, "bad", 3], [1], ["bad"], [3]]  # the batch, then each alone


def test_per_item_exceptions_fail_only_their_request_without_retry() -> None:
    def handler(items):
        return [ValueError("odd") if i % 2 else i for i in items]

    async def scenario():
        batcher = Batcher(handler, BatchConfig(2, max_wait_s=1.0), clock=FakeClock())
        batcher.start()
        outcomes = await asyncio.gather(
            batcher.submit(2), batcher.submit(3), return_exceptions=True
        )
        await batcher.stop()
        return outcomes, batcher.calls

    (even, odd), calls = run(scenario())
    assert even == 2 and isinstance(odd, ValueError) and calls == 1


def test_a_handler_returning_the_wrong_number_of_results_is_an_internal_failure() -> None:
    async def scenario():
        batcher = Batcher(lambda items: [1], BatchConfig(2, max_wait_s=1.0), clock=FakeClock())
        batcher.start()
        outcomes = await asyncio.gather(
            batcher.submit("a"), batcher.submit("b"), return_exceptions=True
        )
        await batcher.stop()
        return outcomes

    first, second = run(scenario())
    assert first == 1  # retried alone, one result for one input is fine
    assert second == 1


def test_wrong_count_for_a_single_input_fails_it() -> None:
    async def scenario():
        batcher = Batcher(lambda items: [], BatchConfig(1, max_wait_s=0.0), clock=FakeClock())
        batcher.start()
        try:
            await batcher.submit("a")
        finally:
            await batcher.stop()

    with pytest.raises(InternalFailure, match="returned 0 results for 1 inputs"):
        run(scenario())


def test_a_full_queue_answers_service_unavailable() -> None:
    release = threading.Event()

    def slow(items):
        release.wait(10)
        return [i * 10 for i in items]

    async def scenario():
        with ThreadPoolExecutor(1) as pool:
            batcher = Batcher(slow, BatchConfig(2, max_wait_s=0.0, max_queue=2), executor=pool)
            batcher.start()
            running = [asyncio.ensure_future(batcher.submit(i)) for i in range(2)]
            await settle()  # that batch is now in the model thread
            queued = [asyncio.ensure_future(batcher.submit(i)) for i in range(2, 4)]
            await settle()
            try:
                await batcher.submit(99)
            finally:
                release.set()
                await batcher.stop()
                assert await asyncio.gather(*running, *queued) == [0, 10, 20, 30]

    with pytest.raises(ServiceUnavailable, match="2 requests are already queued"):
        run(scenario())


def test_stop_runs_what_is_queued_without_waiting_and_then_refuses() -> None:
    async def scenario():
        handler, clock = Recorder(), FakeClock()
        batcher = Batcher(handler, BatchConfig(8, max_wait_s=10.0), clock=clock)
        batcher.start()
        futures = [asyncio.ensure_future(batcher.submit(i)) for i in range(3)]
        await settle()
        await batcher.stop()
        results = [f.result() for f in futures]
        try:
            await batcher.submit(4)
        except ServiceUnavailable as exc:
            return results, clock.t, exc.message

    results, elapsed, message = run(scenario())
    assert results == [0, 10, 20] and elapsed == 0.0
    assert message == "the endpoint is not accepting requests (starting or stopping)"


def test_the_observer_sees_batch_sizes_and_queue_times() -> None:
    seen = []

    async def scenario():
        clock = FakeClock()
        batcher = Batcher(
            Recorder(),
            BatchConfig(4, max_wait_s=0.5),
            clock=clock,
            observer=lambda n, q: seen.append((n, q)),
        )
        batcher.start()
        first = asyncio.ensure_future(batcher.submit(1))
        await settle()
        clock.advance(0.375)
        second = asyncio.ensure_future(batcher.submit(2))
        await settle()
        clock.advance(0.125)
        await asyncio.gather(first, second)
        await batcher.stop()

    run(scenario())
    assert len(seen) == 1
    size, queued = seen[0]
    assert size == 2 and queued == [0.5, 0.125]


def test_with_concurrency_two_batches_run_at_the_same_time() -> None:
    both_inside = threading.Barrier(2, timeout=10)  # breaks unless two batches overlap

    def handler(items):
        both_inside.wait()
        return [i * 10 for i in items]

    async def scenario():
        with ThreadPoolExecutor(2) as pool:
            config = BatchConfig(2, max_wait_s=0.0, concurrency=2)
            batcher = Batcher(handler, config, executor=pool)
            batcher.start()
            results = await asyncio.gather(*(batcher.submit(i) for i in range(4)))
            await batcher.stop()
            return results, batcher.calls

    assert run(scenario()) == ([0, 10, 20, 30], 2)
