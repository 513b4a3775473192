"""Time as the engine sees it: real by default, virtual for tests and ``--fast-time``.

Every wait the engine does — Wait states, retry back-off, task timeouts and heartbeats — goes
through a :class:`Clock`, so a test can run a definition with ``Wait: 3600`` or a five-attempt
exponential back-off in microseconds and still see realistic timestamps in the history.

``VirtualClock`` keeps one virtual "now" per thread of control. A Parallel branch or Map
iteration starts from its parent's time (:meth:`Clock.fork`) and the parent continues from the
latest child (:meth:`Clock.join`), so two branches that each wait 10 s take 10 virtual seconds,
not 20, exactly like the real thing.
"""

from __future__ import annotations

import threading
import time
import time as _time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol, TypeVar

T = TypeVar("T")


class Clock(Protocol):
    """What the engine needs from time. All durations are seconds (float)."""

    def now(self) -> datetime:
        """The current time, timezone-aware UTC."""

    def time(self) -> float:
        """The current time as seconds since the Unix epoch (cheaper than ``now``)."""

    def monotonic(self) -> float:
        """A monotonic reading for measuring durations in this thread of control."""

    def sleep(self, seconds: float, cancel: threading.Event | None = None) -> bool:
        """Wait ``seconds``; False when ``cancel`` was set first."""

    def wait(self, event: threading.Event, timeout: float | None) -> bool:
        """Wait until ``event`` is set (True) or ``timeout`` passes (False)."""

    def call(self, fn: Callable[[], T], timeout: float | None) -> T:
        """Run ``fn``; raise TimeoutError when it takes longer than ``timeout``."""

    def fork(self) -> object:
        """A token a child thread passes to :meth:`adopt` to start at the parent's time."""

    def adopt(self, token: object) -> None:
        """Start this (child) thread of control at the time captured by :meth:`fork`."""

    def finish(self, token: object) -> None:
        """Record, in the child's token, the time the child thread of control reached."""

    def join(self, tokens: list[object]) -> None:
        """Continue the parent at the latest time reached by children (their :meth:`fork`)."""


class RealClock:
    """Wall-clock time; waits really wait. Task timeouts run the task on a helper thread."""

    # How often a task waiting for a token looks for an answer from another process.
    poll_interval: float | None = 0.2

    def now(self) -> datetime:
        return datetime.now(UTC)

    # The C functions themselves: the history stamps every event, so no Python frame here.
    time = staticmethod(_time.time)
    monotonic = staticmethod(_time.monotonic)

    def sleep(self, seconds: float, cancel: threading.Event | None = None) -> bool:
        if seconds <= 0:
            return not (cancel is not None and cancel.is_set())
        if cancel is None:
            time.sleep(seconds)
            return True
        return not cancel.wait(seconds)

    def wait(self, event: threading.Event, timeout: float | None) -> bool:
        return event.wait(timeout)

    def call(self, fn: Callable[[], T], timeout: float | None) -> T:
        if timeout is None:
            return fn()
        # One thread per call (not a bounded pool, where a queued call would spend its
        # timeout waiting for a free worker).
        done = threading.Event()
        outcome: list[Any] = []

        def target() -> None:
            try:
                outcome.append((True, fn()))
            except BaseException as exc:  # noqa: BLE001 - re-raised in the caller
                outcome.append((False, exc))
            finally:
                done.set()

        threading.Thread(target=target, name="vg-task", daemon=True).start()
        if not done.wait(max(timeout, 0.0)):
            # A Python thread cannot be killed: the task keeps running and its result is
            # discarded, as AWS discards a timed-out Lambda's late response.
            raise TimeoutError(f"task did not finish within {timeout} s")
        ok, value = outcome[0]
        if ok:
            return value
        raise value

    def fork(self) -> object:
        return None

    def adopt(self, token: object) -> None:
        return None

    def finish(self, token: object) -> None:
        return None

    def join(self, tokens: list[object]) -> None:
        return None


class VirtualClock:
    """Instant time: sleeping advances a per-thread virtual "now" without waiting.

    ``start`` fixes the first instant (default: the real time at creation), so tests can
    assert exact timestamps. A wait for an event with a timeout returns at once: if the event
    is not already set, the timeout elapses virtually. A wait without a timeout blocks for
    real (someone else must set the event, e.g. ``send_task_success``).
    """

    poll_interval: float | None = None  # waits are instant; the store is read once per wait

    def __init__(self, start: datetime | None = None) -> None:
        self._start = start or datetime.now(UTC)
        self._epoch = self._start.timestamp()
        self._local = threading.local()

    def _offset(self) -> float:
        return getattr(self._local, "offset", 0.0)

    def advance(self, seconds: float) -> None:
        """Move this thread's virtual time forward (handlers may call it to "take" time)."""
        if seconds > 0:
            self._local.offset = self._offset() + seconds

    def now(self) -> datetime:
        return self._start + timedelta(seconds=self._offset())

    def time(self) -> float:
        return self._epoch + getattr(self._local, "offset", 0.0)

    def monotonic(self) -> float:
        return self._offset()

    def sleep(self, seconds: float, cancel: threading.Event | None = None) -> bool:
        if cancel is not None and cancel.is_set():
            return False
        self.advance(seconds)
        return True

    def wait(self, event: threading.Event, timeout: float | None) -> bool:
        if event.is_set():
            return True
        if timeout is None:
            return event.wait()
        self.advance(timeout)
        return event.is_set()

    def call(self, fn: Callable[[], T], timeout: float | None) -> T:
        started = self._offset()
        result = fn()
        if timeout is not None and self._offset() - started > timeout:
            self._local.offset = started + timeout
            raise TimeoutError(f"task did not finish within {timeout} s")
        return result

    def fork(self) -> object:
        return _Fork(self._offset())

    def adopt(self, token: object) -> None:
        if isinstance(token, _Fork):
            self._local.offset = token.offset

    def finish(self, token: object) -> None:
        if isinstance(token, _Fork):
            token.end = self._offset()

    def join(self, tokens: list[object]) -> None:
        times = [t.end if t.end is not None else t.offset for t in tokens if isinstance(t, _Fork)]
        if times:
            self._local.offset = max(times)


class _Fork:
    __slots__ = ("offset", "end")

    def __init__(self, offset: float) -> None:
        self.offset = offset
        self.end: float | None = None
