"""Step 3 of 4, under load: group concurrent requests into one model call.

    batcher = Batcher(handler, BatchConfig(max_batch_size=32, max_wait_s=0.002), executor=pool)
    result = await batcher.submit(item)        # one future per request

A batch is cut when it is full or when its oldest request has waited ``max_wait_s``,
whichever comes first; while the model is busy (``concurrency`` batches already running),
requests simply accumulate, so under load batches fill without waiting at all. The handler runs in ``executor`` (a thread: onnxruntime
releases the GIL) and must return one result per input, in order — checked. If it raises for
a batch, each request is retried alone so that one bad input never fails its batch-mates.
The clock is injectable so tests of the deadline never sleep.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import Executor
from dataclasses import dataclass
from typing import Generic, Protocol, TypeVar

from visiongate.errors import ConfigError
from visiongate.serving.errors import InternalFailure, ServiceUnavailable

T = TypeVar("T")
R = TypeVar("R")


class Clock(Protocol):
    def now(self) -> float: ...

    async def wait(self, event: asyncio.Event, deadline: float) -> None:
        """Return when ``event`` is set or the clock reaches ``deadline``."""


class MonotonicClock:
    def now(self) -> float:
        return time.monotonic()

    async def wait(self, event: asyncio.Event, deadline: float) -> None:
        timeout = deadline - time.monotonic()
        if timeout > 0:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(event.wait(), timeout)


@dataclass(frozen=True)
class BatchConfig:
    """Batch limits, validated once when the server starts."""

    max_batch_size: int = 16
    max_wait_s: float = 0.002
    max_queue: int = 1024  # beyond this, requests get 503 instead of unbounded memory
    concurrency: int = 1  # batches running at once (the executor needs as many threads)

    def __post_init__(self) -> None:
        problems = []
        if not isinstance(self.max_batch_size, int) or not 1 <= self.max_batch_size <= 1024:
            problems.append(f"max batch size {self.max_batch_size!r} must be 1..1024")
        if not 0 <= self.max_wait_s <= 10:
            problems.append(f"max wait {self.max_wait_s * 1000:g} ms must be 0..10000 ms")
        if not isinstance(self.max_queue, int) or self.max_queue < self.max_batch_size:
            problems.append(f"max queue {self.max_queue!r} must be at least the max batch size")
        if not isinstance(self.concurrency, int) or not 1 <= self.concurrency <= 64:
            problems.append(f"concurrency {self.concurrency!r} must be 1..64")
        if problems:
            raise ConfigError(
                "invalid batching settings: " + "; ".join(problems),
                hint="e.g. --max-batch-size 16 --max-wait-ms 2",
            )


@dataclass
class _Pending(Generic[T, R]):
    item: T
    future: asyncio.Future[R]
    enqueued: float


BatchObserver = Callable[[int, list[float]], None]  # (batch size, queue seconds per item)


class Batcher(Generic[T, R]):
    def __init__(
        self,
        handler: Callable[[list[T]], Sequence[R | BaseException]],
        config: BatchConfig | None = None,
        *,
        executor: Executor | None = None,
        clock: Clock | None = None,
        observer: BatchObserver | None = None,
    ) -> None:
        self.handler = handler
        self.config = config or BatchConfig()
        self.executor = executor
        self.clock = clock or MonotonicClock()
        self.observer = observer
        self.calls = 0  # handler invocations, including single retries
        self._queue: deque[_Pending[T, R]] = deque()
        self._arrived: asyncio.Event | None = None
        self._task: asyncio.Task[None] | None = None
        self._closing = False
        self._hurry = False
        self._slots: asyncio.Semaphore | None = None
        self._running: set[asyncio.Task[None]] = set()

    @property
    def started(self) -> bool:
        return self._task is not None

    @property
    def depth(self) -> int:
        """Requests waiting for a batch (not counting the one running)."""
        return len(self._queue)

    def start(self) -> None:
        self._arrived = asyncio.Event()
        self._slots = asyncio.Semaphore(self.config.concurrency)
        self._task = asyncio.get_running_loop().create_task(self._run(), name="batcher")

    def hurry(self) -> None:
        """Stop waiting for batches to fill (used while draining); still accept requests."""
        self._hurry = True
        if self._arrived is not None:
            self._arrived.set()

    async def stop(self) -> None:
        """Run every queued request (without waiting for deadlines), then stop."""
        self._closing = True
        if self._arrived is not None:
            self._arrived.set()
        if self._task is not None:
            await self._task
        if self._running:
            await asyncio.gather(*self._running, return_exceptions=True)

    async def submit(self, item: T) -> R:
        if self._task is None or self._closing:
            raise ServiceUnavailable(
                "the endpoint is not accepting requests (starting or stopping)"
            )
        if len(self._queue) >= self.config.max_queue:
            raise ServiceUnavailable(
                f"the endpoint is overloaded: {len(self._queue)} requests are already queued",
                hint="retry with backoff, or lower the request rate",
            )
        future: asyncio.Future[R] = asyncio.get_running_loop().create_future()
        self._queue.append(_Pending(item, future, self.clock.now()))
        assert self._arrived is not None
        self._arrived.set()
        return await future

    async def _run(self) -> None:
        assert self._arrived is not None and self._slots is not None
        config = self.config
        while True:
            if not self._queue:
                if self._closing:
                    return
                self._arrived.clear()
                await self._arrived.wait()
                continue
            # Wait for a free model slot first: requests keep arriving meanwhile, so a busy
            # model means fuller batches instead of more waiting.
            await self._slots.acquire()
            deadline = self._queue[0].enqueued + config.max_wait_s if self._queue else 0.0
            while (
                len(self._queue) < config.max_batch_size
                and not (self._closing or self._hurry)
                and self.clock.now() < deadline
            ):
                self._arrived.clear()
                await self.clock.wait(self._arrived, deadline)
            batch = []
            while self._queue and len(batch) < config.max_batch_size:
                pending = self._queue.popleft()
                if not pending.future.done():  # the client may have gone away
                    batch.append(pending)
            if not batch:
                self._slots.release()
                continue
            task = asyncio.get_running_loop().create_task(self._guarded(batch))
            self._running.add(task)
            task.add_done_callback(self._running.discard)

    async def _guarded(self, batch: list[_Pending[T, R]]) -> None:
        assert self._slots is not None
        try:
            await self._execute(batch)
        except BaseException as exc:  # never leave a request waiting forever
            for pending in batch:
                raise_into(pending.future, InternalFailure(f"batch failed: {exc!r}"))
            if not isinstance(exc, Exception):
                raise
        finally:
            self._slots.release()

    async def _execute(self, batch: list[_Pending[T, R]]) -> None:
        started = self.clock.now()
        if self.observer is not None:
            self.observer(len(batch), [started - p.enqueued for p in batch])
        try:
            results = await self._call([p.item for p in batch])
        except Exception as exc:  # noqa: BLE001 - isolate the culprit by running each input alone
            if len(batch) == 1:
                raise_into(batch[0].future, exc)
                return
            for pending in batch:
                raise_into(pending.future, await self._single(pending.item))
            return
        for pending, result in zip(batch, results, strict=True):
            raise_into(pending.future, result)

    async def _single(self, item: T) -> R | BaseException:
        try:
            return (await self._call([item]))[0]
        except Exception as exc:  # noqa: BLE001 - becomes this request's error only
            return exc

    async def _call(self, items: list[T]) -> Sequence[R | BaseException]:
        self.calls += 1
        if self.executor is None:
            results = self.handler(items)
        else:
            loop = asyncio.get_running_loop()
            results = await loop.run_in_executor(self.executor, self.handler, items)
        if len(results) != len(items):
            raise InternalFailure(
                f"the batch handler returned {len(results)} results for {len(items)} inputs"
            )
        return results


def raise_into(future: asyncio.Future[R], result: R | BaseException) -> None:
    """Resolve ``future`` with a result, or fail it with an exception result."""
    if future.done():
        return
    if isinstance(result, BaseException):
        future.set_exception(result)
    else:
        future.set_result(result)
