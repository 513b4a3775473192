"""Task tokens for ``.waitForTaskToken``: issue, wait, and complete from any process.

Every token is a row in the store's ``task_tokens`` table, so ``visiongate send-task-success``
in another terminal (or the API server) can complete a task an execution in this process is
waiting for. Within one process the waiting thread is also woken at once through an event;
across processes it notices the stored outcome at its next poll.

API errors follow SendTaskSuccess: ``InvalidToken`` (malformed), ``TaskDoesNotExist``
(unknown), ``TaskTimedOut`` (the task is no longer waiting), ``InvalidOutput`` (not JSON).
https://docs.aws.amazon.com/step-functions/latest/apireference/API_SendTaskSuccess.html
"""

from __future__ import annotations

import base64
import json
import secrets
import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from visiongate.sfn.errors import InvalidOutput, InvalidToken, TaskDoesNotExist, TaskTimedOut
from visiongate.sfn.history import payload_size

if TYPE_CHECKING:
    from visiongate.sfn.store import Store

MAX_TOKEN_LENGTH = 2048  # AWS: taskToken length constraints 1-2048
_PAYLOAD_LIMIT = 262_144


@dataclass
class Outcome:
    status: str  # SUCCEEDED | FAILED
    output: str | None = None
    error: str | None = None
    cause: str | None = None


@dataclass
class Waiter:
    """What the waiting thread watches: a wake-up event, the outcome, the last heartbeat."""

    token: str
    execution_arn: str = ""
    signal: threading.Event = field(default_factory=threading.Event)
    outcome: Outcome | None = None
    heartbeats: int = 0


def new_token() -> str:
    # AWS tokens are long opaque base64 strings; ours are random and just as opaque.
    return base64.b64encode(secrets.token_bytes(96)).decode("ascii")


class TaskTokens:
    """Issued tokens of this process and their waiters, backed by the store."""

    def __init__(self, store: Store | None) -> None:
        self.store = store
        self._waiters: dict[str, Waiter] = {}
        self._lock = threading.Lock()
        self.on_issued: list[Any] = []  # callbacks(token, execution_arn, state_name)

    def issue(self, execution_arn: str, state_name: str) -> Waiter:
        token = new_token()
        if self.store is not None:
            self.store.create_task_token(token, execution_arn, state_name)
        waiter = Waiter(token, execution_arn)
        with self._lock:
            self._waiters[token] = waiter
        for callback in list(self.on_issued):
            callback(token, execution_arn, state_name)
        return waiter

    def release(self, waiter: Waiter, timed_out: bool = False) -> None:
        with self._lock:
            self._waiters.pop(waiter.token, None)
        if self.store is not None:
            self.store.close_task_token(waiter.token)

    def wake(self, execution_arn: str) -> None:
        """Wake every waiter of an execution (it is being stopped)."""
        with self._lock:
            waiters = [w for w in self._waiters.values() if w.execution_arn == execution_arn]
        for waiter in waiters:
            waiter.signal.set()

    def poll(self, waiter: Waiter) -> Outcome | None:
        """The outcome recorded by another process, if any."""
        if waiter.outcome is not None or self.store is None:
            return waiter.outcome
        row = self.store.get_task_token(waiter.token)
        if row is None or row["status"] not in ("SUCCEEDED", "FAILED"):
            return None
        waiter.outcome = Outcome(row["status"], row["output"], row["error"], row["cause"])
        return waiter.outcome

    def heartbeat_seen(self, waiter: Waiter) -> float | None:
        """The epoch time of the last heartbeat stored for this token (other processes)."""
        if self.store is None:
            return None
        row = self.store.get_task_token(waiter.token)
        return row["heartbeat"] if row else None

    # -- the API side -----------------------------------------------------------------------

    def _check_token(self, token: Any) -> str:
        if not isinstance(token, str) or not 1 <= len(token) <= MAX_TOKEN_LENGTH:
            raise InvalidToken(
                "Invalid Token: 'the task token is not a string of 1-2048 characters'"
            )
        return token

    def _not_waiting(self, token: str) -> Exception:
        row = self.store.get_task_token(token) if self.store is not None else None
        if row is None:
            with self._lock:
                if token in self._waiters:
                    return TaskTimedOut("Task Timed Out: 'Provided task does not exist anymore'")
            return TaskDoesNotExist("Task Does Not Exist: 'Provided task does not exist'")
        return TaskTimedOut("Task Timed Out: 'Provided task does not exist anymore'")

    def succeed(self, token: Any, output: Any) -> None:
        token = self._check_token(token)
        text = output if isinstance(output, str) else json.dumps(output)
        try:
            json.loads(text)
        except (TypeError, ValueError):
            raise InvalidOutput("Invalid Output: 'the output is not valid JSON'") from None
        if payload_size(text) > _PAYLOAD_LIMIT:
            raise InvalidOutput("Invalid Output: 'the output exceeds 262144 bytes'")
        self._complete(token, Outcome("SUCCEEDED", output=text))

    def fail(self, token: Any, error: str | None = None, cause: str | None = None) -> None:
        token = self._check_token(token)
        self._complete(token, Outcome("FAILED", error=error or "", cause=cause or ""))

    def heartbeat(self, token: Any) -> None:
        token = self._check_token(token)
        with self._lock:
            waiter = self._waiters.get(token)
        stored = self.store.heartbeat_task_token(token) if self.store is not None else False
        if waiter is None and not stored:
            raise self._not_waiting(token)
        if waiter is not None:
            waiter.heartbeats += 1
            waiter.signal.set()

    def _complete(self, token: str, outcome: Outcome) -> None:
        with self._lock:
            waiter = self._waiters.get(token)
        stored = (
            self.store.complete_task_token(
                token, outcome.status, outcome.output, outcome.error, outcome.cause
            )
            if self.store is not None
            else waiter is not None and waiter.outcome is None
        )
        if not stored:
            raise self._not_waiting(token)
        if waiter is not None:
            waiter.outcome = outcome
            waiter.signal.set()
