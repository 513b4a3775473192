"""What a running execution shares (:class:`Run`) and what each thread of control owns (:class:`Frame`).

A *Run* is one attempt at an execution in this process: its history, clock, cancellation flag,
deadline, mocked responses and the engine services states call (functions, task tokens, the
store). A *Frame* is one thread of control inside it — the top level, a Parallel branch or a
Map iteration — and carries the ``previousEventId`` chain, the flags that abort it, and its
variable scope.

Control-flow exceptions that are *not* ``States.*`` errors (no Retry or Catch sees them):

    Aborted            StopExecution was called (or a sibling iteration failed)
    ExecutionTimedOut  the state machine's TimeoutSeconds elapsed
"""

from __future__ import annotations

import random
import threading
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from visiongate.sfn.context import Scope, iso_millis
from visiongate.sfn.errors import StatesError
from visiongate.sfn.history import History

if TYPE_CHECKING:
    from visiongate.sfn.clock import Clock
    from visiongate.sfn.functions import FunctionRegistry
    from visiongate.sfn.mock_config import MockTestCase
    from visiongate.sfn.store import Store
    from visiongate.sfn.tokens import TaskTokens

# Executions running in this process, across every Engine (the API server keeps one engine per
# region on the same database): resume and stop must never mistake them for orphans.
ACTIVE_RUNS: dict[str, Run] = {}
ACTIVE_LOCK = threading.Lock()

PAYLOAD_LIMIT = 262_144  # bytes, https://docs.aws.amazon.com/step-functions/latest/dg/limits.html
DEFAULT_INLINE_CONCURRENCY = 40  # AWS: "up to 40 concurrent iterations" for an inline Map


class Aborted(Exception):
    """The thread of control must stop: the execution was stopped or a sibling failed."""


class ExecutionTimedOut(Exception):
    """The state machine's ``TimeoutSeconds`` elapsed."""


class Run:
    """Everything one execution attempt shares across its threads of control."""

    def __init__(
        self,
        *,
        arn: str,
        name: str,
        state_machine_arn: str,
        state_machine_name: str,
        role_arn: str,
        start_time: datetime,
        input_value: Any,
        redrive_count: int,
        clock: Clock,
        history: History,
        store: Store | None,
        functions: FunctionRegistry,
        tokens: TaskTokens,
        region: str,
        account: str,
        mocks: MockTestCase | None = None,
        persist_events: bool = True,
        flush_every: int = 2000,
        max_threads: int = 64,
        rand: Callable[[], float] = random.random,
        services: Any = None,
    ) -> None:
        self.arn = arn
        self.execution_id = 0  # the store's executions.id, set once the row exists
        self.name = name
        self.state_machine_arn = state_machine_arn
        self.state_machine_name = state_machine_name
        self.role_arn = role_arn
        self.clock = clock
        self.history = history
        self.store = store
        self.functions = functions
        self.tokens = tokens
        self.region = region
        self.account = account
        self.mocks = mocks
        self.persist_events = persist_events
        self.flush_every = flush_every
        self.max_threads = max_threads
        self.random = rand
        self.services = services  # the engine: nested executions, item readers, map runs
        self.cancel = threading.Event()
        self.stop_error: str | None = None
        self.stop_cause: str | None = None
        self.deadline: float | None = None
        self.prior_results: dict[str, dict[int, str]] = {}  # redrive: successful iterations
        self.failed_results: dict[str, dict[int, str]] = {}  # successes of a failed Map/Parallel
        self.variable_bytes = 0  # JSON bytes of every variable held (10 MiB quota)
        self._flush_lock = threading.Lock()
        self.context_execution = {
            "Id": arn,
            "Input": input_value,
            "Name": name,
            "RoleArn": role_arn,
            "StartTime": iso_millis(start_time),
            "RedriveCount": redrive_count,
        }
        self.context_state_machine = {"Id": state_machine_arn, "Name": state_machine_name}

    # -- time and cancellation --------------------------------------------------------------

    def remaining(self) -> float | None:
        """Seconds left before the execution times out, or None without a timeout."""
        if self.deadline is None:
            return None
        return self.deadline - self.clock.monotonic()

    def check(self) -> None:
        if self.cancel.is_set():
            raise Aborted()
        if self.deadline is not None and self.clock.monotonic() >= self.deadline:
            raise ExecutionTimedOut()

    def sleep(self, seconds: float) -> None:
        """Wait ``seconds`` (Wait state, retry back-off), honouring stop and the deadline."""
        remaining = self.remaining()
        if remaining is not None and remaining <= seconds:
            self.clock.sleep(max(remaining, 0.0), self.cancel)
            self.check()
            raise ExecutionTimedOut()
        if not self.clock.sleep(seconds, self.cancel):
            raise Aborted()

    # -- persistence ------------------------------------------------------------------------

    def flush(
        self, checkpoint: tuple[str, str, int, str | None] | None = None, **execution: Any
    ) -> None:
        """Write pending events (and the checkpoint/execution fields) in one transaction.

        ``checkpoint`` = (state to run next, its input JSON, previousEventId of its first
        event, the top-level variables as JSON or None); a resume after a crash restarts there
        and drops later events.
        """
        with self._flush_lock:
            events = self.history.take_pending()
            if self.store is None:
                return
            rows = events if self.persist_events else []
            if checkpoint is None and not execution:
                if rows:  # nothing depends on these yet: write them in the background
                    self.store.write_events_later(self.execution_id, rows)
                return
            last = self.history.last_id
            cp = None
            if checkpoint is not None:
                state, input_text, previous, variables = checkpoint
                cp = (self.arn, state, input_text, last, previous, self.clock.time(), variables)
            self.store.save_progress(
                self.arn,
                self.execution_id,
                rows,
                checkpoint=cp,
                execution=execution or None,
                last_event_id=last,
            )


class Frame:
    """One thread of control: the top level, a Parallel branch or a Map iteration.

    While a state runs, ``entered_id``/``entered_prev`` are its Entered event's id and
    previousEventId, and ``pending`` holds the variables its ``Assign`` computed, stored when
    the state exits (:func:`visiongate.sfn.variables.commit`).
    """

    __slots__ = ("run", "prev", "stops", "scope", "top", "pending", "entered_id", "entered_prev")

    def __init__(
        self,
        run: Run,
        prev: int = 0,
        stops: Sequence[threading.Event] = (),
        scope: Scope | None = None,
        top: bool = False,
    ) -> None:
        self.run = run
        self.prev = prev
        self.stops = tuple(stops)
        self.scope = scope if scope is not None else Scope()
        self.top = top
        self.pending: dict[str, Any] | None = None
        self.entered_id = 0
        self.entered_prev = 0

    def child(self, prev: int, stop: threading.Event | None = None) -> Frame:
        stops = self.stops + (stop,) if stop is not None else self.stops
        return Frame(self.run, prev, stops, self.scope.child())

    def check(self) -> None:
        for stop in self.stops:
            if stop.is_set():
                raise Aborted()
        self.run.check()

    def emit(self, event_type: str, key: str | None = None, details: Any = None) -> int:
        """Record an event that the next event of this thread follows."""
        run = self.run
        history = run.history
        self.prev = event_id = history.add_details(event_type, self.prev, key, details)
        if len(history.pending) >= run.flush_every:
            run.flush()
        return event_id

    def emit_raw(self, event_type: str, details: str | None, data: str | None) -> int:
        """:meth:`emit` with the details already JSON (the hot path of state events)."""
        run = self.run
        history = run.history
        self.prev = event_id = history.add(event_type, self.prev, details, data)
        if len(history.pending) >= run.flush_every:
            run.flush()
        return event_id

    def emit_aside(self, event_type: str, key: str | None = None, details: Any = None) -> int:
        """Record an event without moving this thread's previousEventId chain forward."""
        run = self.run
        event_id = run.history.add_details(event_type, self.prev, key, details)
        if len(run.history.pending) >= run.flush_every:
            run.flush()
        return event_id

    def context(
        self,
        state_name: str,
        entered: str | None,
        retry_count: int = 0,
        token: str | None = None,
        map_item: tuple[int, Any] | None = None,
    ) -> dict[str, Any]:
        """The Context object ``$$`` for a state of this thread (``entered``: ISO time)."""
        run = self.run
        context: dict[str, Any] = {
            "Execution": run.context_execution,
            "State": {
                "EnteredTime": entered or iso_millis(run.clock.now()),
                "Name": state_name,
                "RetryCount": retry_count,
            },
            "StateMachine": run.context_state_machine,
        }
        if token is not None:
            context["Task"] = {"Token": token}
        if map_item is not None:
            context["Map"] = {"Item": {"Index": map_item[0], "Value": map_item[1]}}
        return context


def run_concurrently(
    frame: Frame,
    count: int,
    work: Callable[[int, threading.Event], Any],
    *,
    concurrency: int,
    threaded: bool,
) -> list[Any]:
    """Run ``work(index, stop)`` for ``range(count)``, at most ``concurrency`` at a time.

    The first exception (a failed iteration or branch) sets ``stop`` so the others abort at
    their next state, and is re-raised once every worker has finished. ``threaded=False``
    runs the work in this thread, in order — used when the work can never wait (only Pass,
    Choice, Succeed and Fail states), where threads would only add overhead under the GIL.

    Time: each item starts when one of the ``concurrency`` slots frees up on the engine's
    clock, so on a virtual clock two 10 s branches take 10 s, and the parent continues when
    the slowest item ends.
    """
    results: list[Any] = [None] * count
    if count == 0:
        return results
    stop = threading.Event()
    if not threaded:
        # Pure work never waits, so no time passes: no clock bookkeeping at all.
        try:
            for index in range(count):
                results[index] = work(index, stop)
        except BaseException:
            stop.set()
            raise
        return results
    clock = frame.run.clock
    width = max(1, min(count, concurrency))
    origin = clock.fork()
    slots = [origin] * width  # when each slot is free, as clock tokens
    ends: list[object] = [origin]
    lock = threading.Lock()

    def run_item(index: int) -> None:
        with lock:
            slots.sort(key=_token_time)
            start = slots.pop(0)
        clock.adopt(start)
        try:
            results[index] = work(index, stop)
        finally:
            end = clock.fork()
            with lock:
                slots.append(end)
                ends.append(end)

    if width == 1:
        try:
            for index in range(count):
                run_item(index)
        except BaseException:
            stop.set()
            raise
        finally:
            clock.join(ends)
        return results

    errors: list[BaseException] = []
    cursor = [0]
    workers = min(width, frame.run.max_threads)

    def worker() -> None:
        while not stop.is_set():
            with lock:
                index = cursor[0]
                if index >= count:
                    return
                cursor[0] = index + 1
            try:
                run_item(index)
            except BaseException as exc:  # noqa: BLE001 - re-raised in the caller
                with lock:
                    errors.append(exc)
                stop.set()
                return

    threads = [
        threading.Thread(target=worker, name=f"vg-map-{i}", daemon=True) for i in range(workers)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    clock.join(ends)
    if errors:
        # Prefer a real failure over the Aborted of the siblings it stopped.
        for error in errors:
            if not isinstance(error, Aborted):
                raise error
        raise errors[0]
    return results


def _token_time(token: object) -> float:
    return float(getattr(token, "offset", 0.0))


def states_error(error: Any, cause: str = "") -> StatesError:
    return StatesError(str(error), cause)
