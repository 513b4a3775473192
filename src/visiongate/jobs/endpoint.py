"""The model server in this process: a ModelServer on its own event-loop thread.

    with LocalEndpoint(model_dir, capture="s3://captures/datacapture") as endpoint:
        endpoint.url            # http://127.0.0.1:<free port>
        settings = endpoint.settings(settings)   # endpoint_url / endpoint_name pointed at it

``visiongate serve`` runs the same server in the foreground (and owns SIGINT); the demo, the
notebook, tests and benchmarks need it *beside* the workflow, so it runs on a daemon thread
here and is drained (in-flight requests finished, capture flushed) on exit.
"""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path
from typing import Any

from visiongate.config import Settings

START_TIMEOUT = 120.0  # loading and warming a model on a loaded 2-core machine


class LocalEndpoint:
    """Start a model server on 127.0.0.1 in a background thread; stop it on ``close``."""

    def __init__(
        self,
        model_dir: str | Path,
        *,
        endpoint_name: str = "visiongate",
        port: int = 0,
        capture: str | None = None,
        capture_percent: float = 100.0,
        store: Any = None,
        database: Path | None = None,
        max_batch_size: int = 32,
        max_wait_s: float = 0.002,
        threads: int | None = None,
    ) -> None:
        from visiongate.serving.batching import BatchConfig
        from visiongate.serving.capture import CaptureConfig
        from visiongate.serving.server import ModelServer, ServerConfig

        capture_config = (
            CaptureConfig(capture, endpoint_name, percent=capture_percent, flush_seconds=1.0)
            if capture
            else None
        )
        if capture_config is not None and store is None:
            from visiongate.storage import open_store

            store = open_store()
        self.config = ServerConfig(
            model_dir=Path(model_dir),
            port=port,
            endpoint_name=endpoint_name,
            capture=capture_config,
            batch=BatchConfig(max_batch_size=max_batch_size, max_wait_s=max_wait_s),
            threads=threads,
            database=database,
        )
        self.server = ModelServer(self.config, store=store)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        return self.server.port

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.port}"

    @property
    def model(self) -> Any:
        return self.server.model

    def settings(self, settings: Settings) -> Settings:
        """``settings`` with the endpoint URL and name pointing at this server."""
        return settings.with_(endpoint_url=self.url, endpoint_name=self.config.endpoint_name)

    def _call(self, coro: Any, timeout: float) -> Any:
        assert self._loop is not None
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout)

    def start(self) -> LocalEndpoint:
        """Listen, load and warm the model; raises the model's load error (ModelLoadError)."""
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(
            target=self._loop.run_forever, name="visiongate-endpoint", daemon=True
        )
        self._thread.start()
        try:
            self._call(self.server.start(), START_TIMEOUT)
            self._call(self.server.ready(), START_TIMEOUT)
        except BaseException:
            self.close()
            raise
        return self

    def close(self) -> None:
        """Drain and stop the server (idempotent)."""
        if self._loop is None:
            return
        loop, thread = self._loop, self._thread
        self._loop = None
        try:
            if self.server.state not in ("stopped", "starting"):
                asyncio.run_coroutine_threadsafe(self.server.stop(), loop).result(60)
        finally:
            loop.call_soon_threadsafe(loop.stop)
            if thread is not None:
                thread.join(10)
            loop.close()

    def __enter__(self) -> LocalEndpoint:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()
