"""The Step Functions backend: all state and logic of the API, no HTTP (moto's "models").

    backend = StepFunctionsBackend(settings, fast_time=True)
    backend.machines      create/update/describe/list/delete state machines, versions, tags
    backend.executions    start (async/sync), describe, list, history, stop, redrive,
                          task tokens, map runs
    backend.test_states   TestState
    backend.validate(...) ValidateStateMachineDefinition

Everything lives in the engine's SQLite store (``Settings.database``): the server, the CLI
(``visiongate executions list``) and the dashboard share it, and a restarted server finds its
state machines and executions — and resumes the executions a killed server left running.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from visiongate.sfn.api import definitions
from visiongate.sfn.api.engines import EnginePool
from visiongate.sfn.api.executions import Executions
from visiongate.sfn.api.machines import StateMachines
from visiongate.sfn.api.teststate import TestStates
from visiongate.sfn.api.versions import VersionStore
from visiongate.sfn.functions import DEFAULT_ACCOUNT

DEFAULT_REGION = "us-east-1"
MAX_DIAGNOSTICS = 100


class StepFunctionsBackend:
    def __init__(
        self,
        settings: Any = None,
        *,
        fast_time: bool = False,
        functions: Mapping[str, Any] | None = None,
        mock_config: Any = None,
        default_region: str | None = None,
        account: str = DEFAULT_ACCOUNT,
        engine_options: Mapping[str, Any] | None = None,
    ) -> None:
        if settings is None:
            from visiongate.config import load_settings

            settings = load_settings()
        self.settings = settings
        self.default_region = (
            default_region or os.environ.get("AWS_DEFAULT_REGION") or DEFAULT_REGION
        )
        self.engines = EnginePool(
            settings,
            default_region=self.default_region,
            account=account,
            fast_time=fast_time,
            functions=functions,
            mock_config=mock_config,
            engine_options=engine_options,
        )
        self.versions = VersionStore(settings.database)
        self.machines = StateMachines(self.engines, self.versions)
        self.executions = Executions(self.engines, self.machines)
        self.test_states = TestStates(self.engines)

    def start(self) -> list[str]:
        """Open the store and resume executions a previous (killed) server left running."""
        return self.engines.resume()

    def close(self, *, stop_running: bool = False) -> None:
        """Release the engines. ``stop_running`` aborts executions still running here."""
        if stop_running:
            for engine in self.engines.all():
                for arn in engine.running():
                    try:
                        engine.stop_execution(arn, "States.Runtime", "The server shut down")
                    except Exception:  # noqa: BLE001 - shutting down: best effort
                        pass
        self.engines.close()
        self.versions.close()

    def validate(
        self,
        definition: str,
        machine_type: str | None = None,
        severity: str | None = None,
        max_results: int | None = None,
    ) -> dict[str, Any]:
        """ValidateStateMachineDefinition: result OK/FAIL, diagnostics, truncated.

        https://docs.aws.amazon.com/step-functions/latest/apireference/API_ValidateStateMachineDefinition.html
        ``severity`` ERROR (the default) returns errors only, WARNING returns warnings too; this
        validator reports errors only, so both give the same list.
        """
        engine = self.engines.get()
        problems = definitions.problems(engine, definition, machine_type or "STANDARD")
        diagnostics = [definitions.diagnostic(problem) for problem in problems]
        limit = max_results or MAX_DIAGNOSTICS
        return {
            "result": "FAIL" if diagnostics else "OK",
            "diagnostics": diagnostics[:limit],
            "truncated": len(diagnostics) > limit,
        }
