"""Stop and Redrive from the dashboard, through whatever runs executions.

* ``StepFunctionsActions`` calls the Step Functions API with boto3 (``StopExecution``,
  ``RedriveExecution``): the local Step Functions–compatible server when
  ``AWS_ENDPOINT_URL_SFN`` points at it (``visiongate up``), or AWS itself;
* ``EngineActions`` uses an in-process :class:`visiongate.sfn.engine.Engine` on the same
  database: it stops executions this process runs or whose process died, and runs
  redrives itself (an execution owned by another live process must be stopped there);
* ``CallableActions`` wraps two functions (tests, an engine you already have).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from visiongate.errors import VisiongateError


class ActionError(VisiongateError):
    """Stop or Redrive could not be done; the message says why."""


class Actions(Protocol):
    def stop(self, arn: str) -> str: ...

    def redrive(self, arn: str) -> str: ...


@dataclass
class CallableActions:
    """Actions from two functions (``arn -> None``); useful for an in-process engine."""

    stop_fn: Callable[[str], object]
    redrive_fn: Callable[[str], object]

    def stop(self, arn: str) -> str:
        self.stop_fn(arn)
        return "Stop requested."

    def redrive(self, arn: str) -> str:
        self.redrive_fn(arn)
        return "Redrive started."


@dataclass
class StepFunctionsActions:
    endpoint_url: str | None = None
    region: str = "us-east-1"

    def _client(self):  # noqa: ANN202 - boto3 client
        import boto3

        return boto3.client(
            "stepfunctions",
            endpoint_url=self.endpoint_url,
            region_name=os.environ.get("AWS_DEFAULT_REGION", self.region),
        )

    def _call(self, operation: str, arn: str) -> None:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            getattr(self._client(), operation)(executionArn=arn)
        except ClientError as exc:
            error = exc.response.get("Error", {})
            raise ActionError(f"{error.get('Code', 'Error')}: {error.get('Message', '')}") from None
        except BotoCoreError as exc:
            raise ActionError(
                f"cannot reach the Step Functions API: {exc}",
                hint="start it with visiongate up (or set AWS_ENDPOINT_URL_SFN)",
            ) from None

    def stop(self, arn: str) -> str:
        self._call("stop_execution", arn)
        return "Stop requested."

    def redrive(self, arn: str) -> str:
        self._call("redrive_execution", arn)
        return "Redrive started."


class EngineActions:
    """Stop and redrive with an embedded engine, created on first use."""

    def __init__(self, settings: object = None) -> None:
        self.settings = settings
        self._engine = None
        self._lock = threading.Lock()

    def engine(self):  # noqa: ANN201 - visiongate.sfn.engine.Engine
        with self._lock:
            if self._engine is None:
                from visiongate.monitor.logs import subscribe
                from visiongate.sfn.engine import Engine

                self._engine = Engine(self.settings)
                subscribe(self._engine)  # logs of redriven executions reach the dashboard
            return self._engine

    def _do(self, call: Callable[[], object]) -> None:
        try:
            call()
        except VisiongateError as exc:
            raise ActionError(exc.message, exc.hint) from None

    def stop(self, arn: str) -> str:
        self._do(lambda: self.engine().stop_execution(arn))
        return "Stop requested."

    def redrive(self, arn: str) -> str:
        self._do(lambda: self.engine().redrive_execution(arn))
        return "Redrive started."

    def close(self) -> None:
        with self._lock:
            if self._engine is not None:
                self._engine.close(wait=False)
                self._engine = None


def default_actions(settings: object = None) -> Actions:
    """The local Step Functions API when ``AWS_ENDPOINT_URL_SFN`` is set, else an engine."""
    url = os.environ.get("AWS_ENDPOINT_URL_SFN")
    if url:
        return StepFunctionsActions(endpoint_url=url)
    return EngineActions(settings)
