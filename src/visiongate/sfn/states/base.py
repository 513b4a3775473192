"""The base of every state: events in and out, the payload quota, Retry and Catch.

Each state type implements only its body (:meth:`State.execute`, or :meth:`Recoverable.attempt`
for Task/Parallel/Map); this module owns what they share once:

* ``<Type>StateEntered`` / ``<Type>StateExited`` events with AWS's detail keys;
* the 262,144-byte quota on state output (``States.DataLimitExceeded``);
* AWS's prefix on ``States.Runtime`` causes ("An error occurred while executing the state
  'X' (entered at the event id #2). ...");
* Retry (per-retrier attempt counts, back-off through the clock) and Catch (first matching
  catcher, error output ``{"Error", "Cause"}`` placed by its ResultPath into the raw input, or
  shaped by its JSONata ``Output``; its ``Assign`` replaces the state's);
* workflow variables: what a state's ``Assign`` computed (``frame.pending``) is stored when the
  state exits and recorded as ``assignedVariables`` in its Exited event;
* ``States.QueryEvaluationError`` (a JSONata field that failed): one ``EvaluationFailed`` event
  with the field's location, and AWS's cause prefix, as for ``States.Runtime``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from visiongate.sfn.context import iso_millis
from visiongate.sfn.errors import StatesError, StatesErrorName
from visiongate.sfn.history import dumps, payload_size, state_details
from visiongate.sfn.jsonata import QueryEvaluationError
from visiongate.sfn.retry import TERMINAL_ERRORS, Catcher, RetryPolicy, RetryState
from visiongate.sfn.runtime import PAYLOAD_LIMIT, Aborted, Frame, run_concurrently
from visiongate.sfn.variables import commit

if TYPE_CHECKING:
    from visiongate.sfn.model import Compiler

_RUNTIME = StatesErrorName.RUNTIME.value
_PREFIX = "An error occurred while executing the state"
_ENTERED = "stateEnteredEventDetails"
_EXITED = "stateExitedEventDetails"


def data_limit_error(name: str) -> StatesError:
    return StatesError(
        StatesErrorName.DATA_LIMIT_EXCEEDED,
        f"The state/task '{name}' returned a result with a size exceeding the maximum number "
        "of bytes service limit.",
    )


def runtime_error(name: str, entered_id: int, cause: str) -> StatesError:
    return StatesError(
        _RUNTIME, f"{_PREFIX} '{name}' (entered at the event id #{entered_id}). {cause}"
    )


def record_failure(frame: Frame, name: str, err: StatesError) -> StatesError:
    """The error a failed state reports: AWS's cause prefix on ``States.Runtime`` and
    ``States.QueryEvaluationError`` (once), and the ``EvaluationFailed`` event of the latter."""
    if err.error == _RUNTIME and not err.cause.startswith(_PREFIX):
        return runtime_error(name, frame.entered_id, err.cause)
    if isinstance(err, QueryEvaluationError) and not err.recorded:
        err.recorded = True
        err.cause = f"{_PREFIX} '{name}' (entered at the event id #{frame.entered_id}). {err.cause}"
        details: dict[str, Any] = {"cause": err.cause, "error": err.error}
        if err.location:
            details["location"] = err.location
        details["state"] = name
        # AWS links it to the event before the state's Entered event (recorded histories).
        run = frame.run
        frame.prev = run.history.add_details(
            "EvaluationFailed", frame.entered_prev, "evaluationFailedEventDetails", details
        )
    return err


class State:
    """A compiled state. Subclasses set the class attributes and implement ``execute``."""

    kind: ClassVar[str] = ""
    entered_type: ClassVar[str] = ""
    exited_type: ClassVar[str | None] = None
    aborted_type: ClassVar[str | None] = None  # emitted when StopExecution interrupts the state
    blocking: ClassVar[bool] = False  # may call out or wait: checkpoint before it
    pure: ClassVar[bool] = True  # never waits: iterations of pure blocks run inline

    def __init__(self, name: str, spec: dict[str, Any], compiler: Compiler) -> None:
        self.name = name
        self.spec = spec
        self.next: str | None = spec.get("Next")
        self.io = compiler.io(spec, self)
        self.needs_context = bool(getattr(self.io, "needs_context", False))
        self.entered_details = state_details(_ENTERED, name, "input")
        self.exited_details = state_details(_EXITED, name, "output")

    def run(self, frame: Frame, value: Any, text: str | None) -> tuple[str | None, Any, str]:
        """Enter, execute and exit: (next state or None at the end, output, output JSON)."""
        if text is None:
            text = dumps(value)
        frame.entered_prev = frame.prev
        frame.entered_id = frame.emit_raw(self.entered_type, self.entered_details, text)
        entered = iso_millis(frame.run.clock.now()) if self.needs_context else None
        try:
            next_name, output = self.execute(frame, value, entered)
        except StatesError as err:
            frame.pending = None
            failed = record_failure(frame, self.name, err)
            if failed is err:
                raise
            raise failed from None
        except Aborted:
            frame.pending = None
            if self.aborted_type is not None and frame.run.cancel.is_set():
                frame.emit(self.aborted_type)
            raise
        out_text = dumps(output)
        if len(out_text) > PAYLOAD_LIMIT // 4 and payload_size(out_text) > PAYLOAD_LIMIT:
            frame.pending = None
            raise data_limit_error(self.name)
        details = self.exited_details
        pending = frame.pending
        if pending is not None:
            frame.pending = None
            if pending:
                details = commit(frame, self.name, pending)
        if self.exited_type is not None:
            frame.emit_raw(self.exited_type, details, out_text)
        return next_name, output, out_text

    def execute(self, frame: Frame, raw: Any, entered: str | None) -> tuple[str | None, Any]:
        raise NotImplementedError

    def context(self, frame: Frame, entered: str | None, retry_count: int = 0, **extra: Any) -> Any:
        if not self.needs_context and not extra:
            return None
        return frame.context(self.name, entered, retry_count, **extra)


class Recoverable(State):
    """A state with ``Retry`` and ``Catch`` (Task, Parallel, Map)."""

    blocking = True
    pure = False

    def __init__(self, name: str, spec: dict[str, Any], compiler: Compiler) -> None:
        super().__init__(name, spec, compiler)
        self.retriers = tuple(RetryPolicy.from_json(r) for r in spec.get("Retry", ()))
        self.catchers = tuple(Catcher.from_json(c) for c in spec.get("Catch", ()))

    def run_children(
        self,
        frame: Frame,
        kind: str,
        count: int,
        work: Any,
        concurrency: int,
        succeeded: dict[int, Any],
    ) -> list[Any]:
        """Run Map iterations or Parallel branches and record ``<kind>StateFailed/Aborted/
        Succeeded``; a top-level failure keeps ``succeeded`` so redrive re-runs only the rest."""
        run = frame.run
        try:
            outputs = run_concurrently(
                frame, count, work, concurrency=concurrency, threaded=self.threaded
            )
        except StatesError:
            frame.prev = run.history.last_id
            frame.emit(f"{kind}StateFailed")
            if frame.top:
                run.failed_results[self.name] = succeeded
            raise
        except Aborted:
            frame.prev = run.history.last_id
            if run.cancel.is_set():
                frame.emit(f"{kind}StateAborted")
            raise
        frame.prev = run.history.last_id
        frame.emit_aside(f"{kind}StateSucceeded")
        return outputs

    def execute(self, frame: Frame, raw: Any, entered: str | None) -> tuple[str | None, Any]:
        retry = RetryState(self.retriers)
        while True:
            try:
                return self.next, self.attempt(frame, raw, entered, retry.retry_count)
            except StatesError as err:
                frame.pending = None  # an attempt that failed assigns nothing
                if err.error in TERMINAL_ERRORS:
                    raise
                err = record_failure(frame, self.name, err)
                delay = retry.next_delay(err.error, frame.run.random) if self.retriers else None
                if delay is not None:
                    frame.run.sleep(delay)
                    frame.check()
                    continue
                for index, catcher in enumerate(self.catchers):
                    if catcher.matches(err.error):
                        error_output = {"Error": err.error, "Cause": err.cause}
                        context = self.context(frame, entered, retry.retry_count)
                        return catcher.next, self.io.catch(frame, index, raw, error_output, context)
                raise err from None

    def attempt(self, frame: Frame, raw: Any, entered: str | None, retry_count: int) -> Any:
        """One try: input processing, the body, result processing. Returns the output."""
        raise NotImplementedError
