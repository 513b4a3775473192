"""Answering a review's task token: SendTaskSuccess / SendTaskFailure, wherever executions run.

The same rule as the dashboard's Stop and Redrive (``dashboard/actions.py``):

* ``AWS_ENDPOINT_URL_SFN`` set (``visiongate up``'s API, or any Step Functions endpoint), or an
  explicit ``endpoint_url`` → :class:`StepFunctionsTasks`, boto3's ``stepfunctions`` client; the
  value ``"aws"`` means AWS itself (boto3's own endpoint resolution);
* otherwise → :class:`EngineTasks`, an embedded engine on ``Settings.database``: the task-token
  table is shared, so an execution waiting in another process (``visiongate run``, the API
  server) sees the answer at its next poll.

Both report AWS's error codes the same way: a token that no longer waits (``TaskTimedOut``,
``TaskDoesNotExist``, ``InvalidToken``) is :class:`TaskGone`; anything else is
:class:`TaskSendError`. https://docs.aws.amazon.com/step-functions/latest/apireference/API_SendTaskSuccess.html
"""

from __future__ import annotations

import json
import os
import threading
from typing import Any, Protocol

from visiongate.errors import VisiongateError
from visiongate.functions.net import is_loopback_url

GONE_CODES = {"TaskTimedOut", "TaskDoesNotExist", "InvalidToken"}
USE_AWS = "aws"


class TaskSendError(VisiongateError):
    """The task token could not be answered (API unreachable, rejected output, ...)."""


class TaskGone(TaskSendError):
    """The task no longer waits for this token: it timed out, or its execution ended."""

    def __init__(self, message: str, hint: str | None = None, code: str = "") -> None:
        super().__init__(message, hint)
        self.code = code


class TaskSender(Protocol):
    def succeed(self, token: str, output: dict[str, Any]) -> None: ...

    def fail(self, token: str, error: str, cause: str) -> None: ...

    def close(self) -> None: ...


def _gone(code: str, message: str) -> TaskGone:
    return TaskGone(
        f"the execution no longer waits for this review ({code}: {message})",
        hint="it timed out, was stopped, or the review was already answered",
        code=code,
    )


class EngineTasks:
    """Through an embedded engine on the shared database (created on first use)."""

    def __init__(self, settings: Any = None) -> None:
        self.settings = settings
        self._engine: Any = None
        self._lock = threading.Lock()

    def engine(self) -> Any:
        with self._lock:
            if self._engine is None:
                from visiongate.sfn.engine import Engine

                self._engine = Engine(self.settings, prepare_env=False)
            return self._engine

    def _call(self, method: str, *args: Any) -> None:
        from visiongate.sfn.errors import SfnApiError

        try:
            getattr(self.engine(), method)(*args)
        except SfnApiError as exc:
            if exc.code in GONE_CODES:
                raise _gone(exc.code, exc.message) from None
            raise TaskSendError(f"{exc.code}: {exc.message}", exc.hint) from None

    def succeed(self, token: str, output: dict[str, Any]) -> None:
        self._call("send_task_success", token, output)

    def fail(self, token: str, error: str, cause: str) -> None:
        self._call("send_task_failure", token, error, cause)

    def close(self) -> None:
        with self._lock:
            if self._engine is not None:
                self._engine.close(wait=False)
                self._engine = None


class StepFunctionsTasks:
    """Through a Step Functions API with boto3 (``endpoint_url=None``: AWS itself)."""

    def __init__(self, endpoint_url: str | None = None, region: str | None = None) -> None:
        self.endpoint_url = endpoint_url
        self.region = region or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1"
        self._client: Any = None

    def client(self) -> Any:
        if self._client is None:
            import boto3

            session = boto3.session.Session(region_name=self.region)
            extra: dict[str, str] = {}
            if is_loopback_url(self.endpoint_url) and session.get_credentials() is None:
                # The local API accepts any credentials; do not require the user to have some.
                extra = {"aws_access_key_id": "test", "aws_secret_access_key": "test"}
            self._client = session.client("stepfunctions", endpoint_url=self.endpoint_url, **extra)
        return self._client

    def _call(self, operation: str, **params: Any) -> None:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            getattr(self.client(), operation)(**params)
        except ClientError as exc:
            error = exc.response.get("Error", {})
            code, message = str(error.get("Code", "Error")), str(error.get("Message", ""))
            if code in GONE_CODES:
                raise _gone(code, message) from None
            raise TaskSendError(f"{code}: {message}") from None
        except BotoCoreError as exc:
            where = self.endpoint_url or "AWS"
            raise TaskSendError(
                f"cannot reach the Step Functions API at {where}: {exc}",
                hint="start it with visiongate up (or set AWS_ENDPOINT_URL_SFN)",
            ) from None

    def succeed(self, token: str, output: dict[str, Any]) -> None:
        self._call("send_task_success", taskToken=token, output=json.dumps(output))

    def fail(self, token: str, error: str, cause: str) -> None:
        self._call("send_task_failure", taskToken=token, error=error, cause=cause)

    def close(self) -> None:
        self._client = None


def default_tasks(settings: Any = None, endpoint_url: str | None = None) -> TaskSender:
    """``endpoint_url`` (or ``AWS_ENDPOINT_URL_SFN``): the API there; ``"aws"``: AWS; else an
    embedded engine."""
    url = endpoint_url or os.environ.get("AWS_ENDPOINT_URL_SFN")
    if url == USE_AWS:
        return StepFunctionsTasks(None)
    if url:
        return StepFunctionsTasks(url)
    return EngineTasks(settings)
