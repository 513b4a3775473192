"""Retry and Catch: which error a retrier or catcher takes, and how long to back off.

https://docs.aws.amazon.com/step-functions/latest/dg/concepts-error-handling.html

* Retriers are tried in order; the first whose ``ErrorEquals`` matches decides. Each retrier
  counts its own attempts; once it has made ``MaxAttempts`` retries (``0`` = never) the error
  goes on to the catchers — a later retrier that also matches is not consulted.
* The n-th retry (0-based) waits ``IntervalSeconds * BackoffRate ** n`` seconds, capped by
  ``MaxDelaySeconds``; ``JitterStrategy: FULL`` picks uniformly in ``[0, delay]``.
* ``States.ALL`` matches every error except the terminal ``States.Runtime`` and
  ``States.DataLimitExceeded``, which no retrier or catcher handles.
* ``States.TaskFailed`` matches any error except ``States.Timeout`` (and the terminal ones).
* ``States.Timeout`` also takes ``States.HeartbeatTimeout`` ("a Task state either ran longer
  than TimeoutSeconds, or failed to send a heartbeat for longer than HeartbeatSeconds").
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from visiongate.sfn.errors import StatesErrorName

TERMINAL_ERRORS = frozenset(
    {StatesErrorName.RUNTIME.value, StatesErrorName.DATA_LIMIT_EXCEEDED.value}
)
_ALL = StatesErrorName.ALL.value
_TASK_FAILED = StatesErrorName.TASK_FAILED.value
_TIMEOUT = StatesErrorName.TIMEOUT.value
_HEARTBEAT = StatesErrorName.HEARTBEAT_TIMEOUT.value


def error_matches(error_equals: tuple[str, ...], error: str) -> bool:
    """True when a retrier's or catcher's ``ErrorEquals`` takes ``error``."""
    if error in TERMINAL_ERRORS:
        return False
    if error in error_equals or _ALL in error_equals:
        return True
    if error == _HEARTBEAT and _TIMEOUT in error_equals:
        return True
    # States.TaskFailed is a wildcard for every error except States.Timeout.
    return _TASK_FAILED in error_equals and error != _TIMEOUT


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """One entry of a state's ``Retry`` array, with AWS's defaults."""

    error_equals: tuple[str, ...]
    interval_seconds: float = 1.0
    max_attempts: int = 3
    backoff_rate: float = 2.0
    max_delay_seconds: float | None = None
    jitter: str = "NONE"  # or "FULL"

    @classmethod
    def from_json(cls, spec: dict[str, Any]) -> RetryPolicy:
        return cls(
            error_equals=tuple(spec["ErrorEquals"]),
            interval_seconds=float(spec.get("IntervalSeconds", 1)),
            max_attempts=int(spec.get("MaxAttempts", 3)),
            backoff_rate=float(spec.get("BackoffRate", 2.0)),
            max_delay_seconds=(
                float(spec["MaxDelaySeconds"]) if "MaxDelaySeconds" in spec else None
            ),
            jitter=str(spec.get("JitterStrategy", "NONE")),
        )

    def matches(self, error: str) -> bool:
        return error_matches(self.error_equals, error)

    def delay(self, attempt: int, rand: Callable[[], float] = random.random) -> float:
        """Seconds to wait before retry number ``attempt`` (0 = the first retry)."""
        delay = self.interval_seconds * (self.backoff_rate**attempt)
        if self.max_delay_seconds is not None:
            delay = min(delay, self.max_delay_seconds)
        if self.jitter == "FULL":
            delay = rand() * delay
        return delay


@dataclass(frozen=True, slots=True)
class Catcher:
    """One entry of a state's ``Catch`` array."""

    error_equals: tuple[str, ...]
    next: str
    result_path: str | None = "$"  # None: discard the error output, keep the state input

    @classmethod
    def from_json(cls, spec: dict[str, Any]) -> Catcher:
        return cls(
            error_equals=tuple(spec["ErrorEquals"]),
            next=str(spec["Next"]),
            result_path=spec.get("ResultPath", "$"),
        )

    def matches(self, error: str) -> bool:
        return error_matches(self.error_equals, error)


class RetryState:
    """Attempt counters of one state execution (one per retrier) and the total retry count."""

    __slots__ = ("policies", "attempts", "retry_count")

    def __init__(self, policies: tuple[RetryPolicy, ...]) -> None:
        self.policies = policies
        self.attempts = [0] * len(policies)
        self.retry_count = 0

    def next_delay(self, error: str, rand: Callable[[], float] = random.random) -> float | None:
        """Seconds to wait before retrying after ``error``, or None when not to retry."""
        for index, policy in enumerate(self.policies):
            if policy.matches(error):
                attempt = self.attempts[index]
                if attempt >= policy.max_attempts:
                    return None
                self.attempts[index] = attempt + 1
                self.retry_count += 1
                return policy.delay(attempt, rand)
        return None
