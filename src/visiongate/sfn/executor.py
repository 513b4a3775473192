"""Drive an execution's top level: checkpoints, the closing event, the persisted outcome.

The top level runs state by state. Before any state that may call out or wait (Task, Wait,
Parallel, Map) — and whenever the event buffer is full — the pending events are written in
one transaction with a *checkpoint*: the state to run next, its input, and the last event id
written. A process that dies mid-state loses nothing: :func:`resume` drops the events written
after the checkpoint and runs that state again (at-least-once, like AWS's own task delivery),
so completed states are never repeated and never duplicated in the history.

When the execution fails the checkpoint is kept at the failed state (with the outputs of the
Map iterations / Parallel branches that did succeed) for ``RedriveExecution``. Checkpoints
carry the top-level workflow variables, so resume and redrive continue with them.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from visiongate.sfn.errors import StatesError, StatesErrorName
from visiongate.sfn.history import NOT_TRUNCATED, dumps
from visiongate.sfn.model import Block, Machine
from visiongate.sfn.records import ABORTED, FAILED, SUCCEEDED, TIMED_OUT
from visiongate.sfn.runtime import Aborted, ExecutionTimedOut, Frame, Run
from visiongate.sfn.variables import restore, to_checkpoint

log = logging.getLogger(__name__)


Outcome = tuple[str, str | None, str | None, str | None]  # (status, output, error, cause)


def drive(
    run: Run,
    machine: Machine | Block,
    state_name: str,
    value: Any,
    text: str | None,
    previous: int,
    variables: str | None = None,
) -> Outcome:
    """Run the top level from ``state_name`` to the end, persist and return the outcome.

    ``variables`` is the checkpointed JSON of the top-level variables (resume, redrive).
    """
    frame = Frame(run, previous, top=True)
    if variables:
        run.variable_bytes = restore(frame.scope, json.loads(variables))
    states = machine.states
    history = run.history
    name: str | None = state_name
    current = state_name
    current_text = text
    try:
        while name is not None:
            state = states[name]
            run.check()
            if text is None:
                text = dumps(value)
            current, current_text = name, text
            if state.blocking or len(history.pending) >= run.flush_every:
                run.flush(checkpoint=(name, text, frame.prev, to_checkpoint(frame.scope)))
            run.failed_results.clear()
            name, value, text = state.run(frame, value, text)
        return _succeed(run, frame, text if text is not None else dumps(value))
    except StatesError as err:
        return _fail(run, frame, err, current, current_text)
    except Aborted:
        return _close(
            run,
            frame,
            ABORTED,
            "ExecutionAborted",
            "executionAbortedEventDetails",
            run.stop_error,
            run.stop_cause,
            current,
            current_text,
        )
    except ExecutionTimedOut:
        return _close(
            run,
            frame,
            TIMED_OUT,
            "ExecutionTimedOut",
            "executionTimedOutEventDetails",
            StatesErrorName.TIMEOUT.value,
            "The state machine execution timed out.",
            current,
            current_text,
        )
    except Exception as exc:  # a bug in the engine: never leave an execution RUNNING forever
        log.exception("execution %s failed with an internal error", run.arn)
        return _fail(
            run,
            frame,
            StatesError(StatesErrorName.RUNTIME, f"Internal engine error: {exc!r}"),
            current,
            current_text,
        )


def _details(error: str | None, cause: str | None) -> dict[str, str]:
    details: dict[str, str] = {}
    if error:
        details["error"] = error
    if cause:
        details["cause"] = cause
    return details


def _succeed(run: Run, frame: Frame, text: str) -> Outcome:
    frame.emit(
        "ExecutionSucceeded",
        "executionSucceededEventDetails",
        {"output": text, "outputDetails": NOT_TRUNCATED},
    )
    _persist_end(run, SUCCEEDED, output=text, keep_checkpoint=None)
    return SUCCEEDED, text, None, None


def _fail(run: Run, frame: Frame, err: StatesError, state: str, input_text: str | None) -> Outcome:
    frame.emit("ExecutionFailed", "executionFailedEventDetails", _details(err.error, err.cause))
    branch_results = run.failed_results.get(state) or {}
    _persist_end(
        run,
        FAILED,
        error=err.error,
        cause=err.cause,
        keep_checkpoint=(state, input_text or "null", frame.prev, to_checkpoint(frame.scope)),
        branch_results=[(run.arn, state, index, out) for index, out in branch_results.items()],
    )
    return FAILED, None, err.error, err.cause


def _close(
    run: Run,
    frame: Frame,
    status: str,
    event_type: str,
    details_key: str,
    error: str | None,
    cause: str | None,
    state: str,
    input_text: str | None,
) -> Outcome:
    frame.emit(event_type, details_key, _details(error, cause))
    _persist_end(
        run,
        status,
        error=error,
        cause=cause,
        keep_checkpoint=(state, input_text or "null", frame.prev, to_checkpoint(frame.scope)),
    )
    return status, None, error, cause


def _persist_end(
    run: Run,
    status: str,
    *,
    output: str | None = None,
    error: str | None = None,
    cause: str | None = None,
    keep_checkpoint: tuple[str, str, int, str | None] | None,
    branch_results: list[tuple[Any, ...]] | None = None,
) -> None:
    events = run.history.take_pending()
    if run.store is None:
        return
    rows = events if run.persist_events else []
    checkpoint = None
    if keep_checkpoint is not None:
        state, input_text, previous, variables = keep_checkpoint
        checkpoint = (
            run.arn,
            state,
            input_text,
            run.history.last_id,
            previous,
            run.clock.time(),
            variables,
        )
    run.store.save_progress(
        run.arn,
        run.execution_id,
        rows,
        checkpoint=checkpoint,
        clear_checkpoint=keep_checkpoint is None,
        branch_results=branch_results or (),
        execution={
            "status": status,
            "output": output,
            "error": error or None,
            "cause": cause or None,
            "stop_date": run.clock.time(),
            "owner": None,
        },
        last_event_id=run.history.last_id,
    )
