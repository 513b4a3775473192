"""Where a batch's executions run: the embedded engine, or a state machine deployed on AWS.

Both runners offer the same four calls to :mod:`visiongate.jobs.batch` — ``open`` (returns
the state machine ARN), ``execute(name, input)`` (start one execution and wait for it; returns
an object with ``arn, status, output, error, cause``), ``stop(name)`` and ``close`` — so
resume, progress, Ctrl-C and the results file are one implementation for both.
"""

from __future__ import annotations

import contextlib
import json
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from visiongate.config import Settings
from visiongate.errors import VisiongateError
from visiongate.jobs.batch_functions import FUNCTIONS, SUBSTITUTIONS

BATCHED_DEFINITION = Path(__file__).with_name("image_classification_batched.asl.json")
BATCHED_MACHINE = "image_classification_batched"
PER_IMAGE_MACHINE = "image_classification"  # the name `visiongate run` gives the definition


def make_engine(settings: Settings, **kwargs: Any) -> Any:
    """An engine that also knows the batch functions and the batch definition's placeholders."""
    from visiongate.sfn.engine import Engine

    merged = settings.with_(
        functions={**settings.functions, **FUNCTIONS},
        substitutions={**settings.substitutions, **SUBSTITUTIONS},
    )
    return Engine(merged, **kwargs)


class LocalRunner:
    """Executions of the embedded engine, each run to the end in the calling thread."""

    def __init__(
        self,
        settings: Settings,
        batched: bool,
        *,
        engine: Any = None,
        workers: int = 4,
        store_logs: bool = True,
    ) -> None:
        self.settings = settings
        self.batched = batched
        self.engine = engine
        self.own_engine = engine is None
        self.workers = workers
        self.store_logs = store_logs
        self.machine_name = BATCHED_MACHINE if batched else PER_IMAGE_MACHINE
        self.machine_arn = ""

    def open(self) -> str:
        if self.engine is None:
            self.engine = make_engine(self.settings, max_workers=self.workers)
        if self.store_logs:
            with contextlib.suppress(ImportError):
                from visiongate.monitor.logs import subscribe

                subscribe(self.engine)
        if self.batched:
            text = BATCHED_DEFINITION.read_text(encoding="utf-8")
        else:
            text = Path(self.settings.definition).read_text(encoding="utf-8")
        self.machine_arn = self.engine.ensure_state_machine(self.machine_name, text).arn
        return self.machine_arn

    def execute(self, name: str, payload: dict[str, Any]) -> Any:
        return self.engine.start_execution(self.machine_arn, payload, name, wait=True)

    def stop(self, name: str) -> None:
        arn = self.engine.arns.execution(self.machine_name, name)
        with contextlib.suppress(VisiongateError):
            self.engine.stop_execution(arn, "Abandoned", "the batch run was interrupted")

    def inferences(self, execution: Any) -> list[float] | None:
        """The classify step's probabilities of a failed execution, from its history."""
        for event in self.engine.get_execution_history(execution.arn, reverse=True):
            details = event.get("taskSucceededEventDetails")
            if not details:
                continue
            with contextlib.suppress(ValueError, TypeError, AttributeError):
                payload = json.loads(details.get("output") or "{}").get("Payload") or {}
                body = payload.get("body") if isinstance(payload, dict) else None
                if isinstance(body, str):
                    body = json.loads(body)
                if isinstance(body, dict) and body.get("inferences"):
                    return [float(x) for x in body["inferences"]]
        return None

    def close(self, abandon: bool = False) -> None:
        if self.own_engine and self.engine is not None:
            self.engine.close(wait=not abandon)


@dataclass(frozen=True)
class RemoteExecution:
    arn: str
    status: str
    output: str | None
    error: str | None
    cause: str | None


class Abandoned(Exception):
    """Raised inside a waiting thread when the run is abandoned."""


class AwsRunner:
    """Executions of the deployed per-image state machine (``visiongate deploy aws``).

    Uses the deploy area's ``stack_outputs`` (the state machine ARN) and ``start_and_wait``.
    Abandoning stops *waiting*; executions already started go on in AWS.
    """

    def __init__(self, stack: str, region: str | None = None, poll: float = 1.0) -> None:
        self.stack = stack
        self.region = region
        self.poll = poll
        self.machine_arn = ""
        self.outputs: dict[str, str] = {}
        self._abandon = threading.Event()

    def open(self) -> str:
        from visiongate.deploy.aws import stack_outputs

        if self.machine_arn:
            return self.machine_arn
        self.outputs = stack_outputs(self.stack, self.region)
        arn = self.outputs.get("StateMachineArn")
        if not arn:
            raise VisiongateError(
                f"stack {self.stack!r} has no StateMachineArn output",
                hint="deploy it with `visiongate deploy aws --stack NAME`",
            )
        self.machine_arn = arn
        return arn

    def store(self) -> Any:
        """The images bucket's store: S3 in the stack's region."""
        import boto3

        from visiongate.storage.s3 import S3Store

        region = self.region or self.machine_arn.split(":")[3] or None
        return S3Store(boto3.session.Session(region_name=region).client("s3"))

    def _sleep(self, seconds: float) -> None:
        if self._abandon.wait(seconds):
            raise Abandoned()

    def execute(self, name: str, payload: dict[str, Any]) -> Any:
        from visiongate.deploy.aws import start_and_wait

        if self._abandon.is_set():
            return None
        try:
            result = start_and_wait(
                self.machine_arn,
                payload,
                poll=self.poll,
                region=self.region,
                name=name,
                sleep=self._sleep,
            )
        except Abandoned:
            return None
        output = result.get("output")
        return RemoteExecution(
            arn=result["execution_arn"],
            status=result["status"],
            output=None if output is None else json.dumps(output),
            error=result.get("error"),
            cause=result.get("cause"),
        )

    def stop(self, name: str) -> None:
        self._abandon.set()

    def inferences(self, execution: Any) -> list[float] | None:
        return None  # reading a deployed execution's history per image costs an API call each

    def close(self, abandon: bool = False) -> None:
        if abandon:
            self._abandon.set()
