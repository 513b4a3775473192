"""One embedded :class:`~visiongate.sfn.engine.Engine` per AWS region, all on one SQLite file.

ARNs carry the region of the request that created them (from the SigV4 credential scope), as
on AWS, and the engine stamps its own region into every ARN it makes; so each region a client
uses gets its own engine, created on first use. They share ``Settings.database``, so the CLI,
the dashboard and every engine see the same state machines and executions.

An execution runs in the engine that started (or resumed) it; calls that act on a running
execution (stop, task tokens) are routed to that engine.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from visiongate.sfn.api.arns import parse
from visiongate.sfn.engine import Engine
from visiongate.sfn.functions import DEFAULT_ACCOUNT


class EnginePool:
    """Engines by region, created lazily with the same settings and options."""

    def __init__(
        self,
        settings: Any,
        *,
        default_region: str = "us-east-1",
        account: str = DEFAULT_ACCOUNT,
        fast_time: bool = False,
        functions: Mapping[str, Any] | None = None,
        mock_config: Any = None,
        engine_options: Mapping[str, Any] | None = None,
    ) -> None:
        self.settings = settings
        self.default_region = default_region
        self.account = account
        self._options: dict[str, Any] = {
            "fast_time": fast_time,
            "functions": dict(functions or {}),
            "mock_config": mock_config,
            "account": account,
            **dict(engine_options or {}),
        }
        if isinstance(mock_config, str | Path):
            from visiongate.sfn.mock_config import MockConfig

            self._options["mock_config"] = MockConfig.load(mock_config)
        self._prepare_env = bool(self._options.pop("prepare_env", True))
        self._engines: dict[str, Engine] = {}
        self._lock = threading.Lock()

    def get(self, region: str | None = None) -> Engine:
        region = region or self.default_region
        with self._lock:
            engine = self._engines.get(region)
            if engine is None:
                engine = Engine(
                    self.settings,
                    region=region,
                    prepare_env=self._prepare_env and not self._engines,
                    **self._options,
                )
                from visiongate.monitor.logs import subscribe

                subscribe(engine)  # function logs for `visiongate logs` and the dashboard
                self._engines[region] = engine
            return engine

    def for_arn(self, arn: str) -> Engine:
        """The engine of the region named in ``arn``."""
        return self.get(parse(arn).region or self.default_region)

    def running(self, execution_arn: str) -> Engine:
        """The engine running ``execution_arn`` in this process, else the one of its region."""
        for engine in self.all():
            if execution_arn in engine.running():
                return engine
        return self.for_arn(execution_arn)

    def all(self) -> list[Engine]:
        with self._lock:
            return list(self._engines.values())

    @property
    def store(self) -> Any:
        """The shared SQLite store (through the default region's engine)."""
        return self.get().store

    def resume(self) -> list[str]:
        """Resume executions left RUNNING by a process that died (e.g. a killed server)."""
        return self.get().resume_running()

    def close(self, wait: bool = False) -> None:
        with self._lock:
            engines, self._engines = list(self._engines.values()), {}
        for engine in engines:
            engine.close(wait=wait)
