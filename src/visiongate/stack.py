"""The whole local stack in one process: the Step Functions API, the model endpoint, the dashboard.

    from visiongate.stack import Stack, StackConfig
    with Stack(settings, StackConfig(model_dir=Path("models/bikes"))) as stack:
        stack.urls               # {"sfn": "http://127.0.0.1:8083", "endpoint": ..., "dashboard": ...}
        stack.environment()      # AWS_ENDPOINT_URL_SFN=..., AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME=...
        stack.wait()             # until stop() (the CLI: until Ctrl-C or SIGTERM)

``visiongate up`` is this class behind a command. Each part is the project's own server,
started in a thread of this process:

* the Step Functions–compatible API (:mod:`visiongate.sfn.api`) over the engine's SQLite
  database, resuming executions a previous run left waiting; it knows the review definition's
  ``request_review`` function (:func:`visiongate.monitor.review.review_settings`), and every
  engine it creates stores its function logs (:func:`visiongate.monitor.logs.subscribe`);
* the model endpoint (:mod:`visiongate.serving`), when a model directory is given or found
  (the newest ``<home>/demo/models/*`` or ``<home>/models/*``); the functions of this process
  call it;
* the dashboard, whose Stop, Redrive and Review forms go through the stack's own API.

``stop()`` closes the three servers (ports are free when it returns). Executions still
waiting (for example for a human review) stay RUNNING in the database and resume at the next
start, as with ``visiongate stepfunctions``.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from visiongate.config import Settings, load_settings
from visiongate.errors import VisiongateError
from visiongate.functions.net import is_loopback

START_TIMEOUT = 120.0  # loading and warming a model on a busy 2-core machine
LOCAL_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test"}


class StackError(VisiongateError):
    """A part of the local stack could not start."""


@dataclass(frozen=True)
class StackConfig:
    host: str = "127.0.0.1"
    sfn_port: int = 8083
    endpoint_port: int = 8080
    dashboard_port: int = 8000
    model_dir: Path | None = None  # None: the newest model under the home folder, if any
    endpoint: bool = True  # False: no model endpoint, even when a model is found
    token: str | None = None  # dashboard token; generated when host is not loopback
    captures: str | None = None  # endpoint data capture (and the dashboard's source), s3://...
    review_buckets: list[str] | None = field(default=None)


def client_host(host: str) -> str:
    """The address a client on this machine uses for a server bound to ``host``."""
    if host in ("", "0.0.0.0", "::", "[::]"):
        return "127.0.0.1"
    return f"[{host}]" if ":" in host and not host.startswith("[") else host


def find_model(settings: Settings) -> Path | None:
    """The newest model directory under the home folder (the demo's, or trained ones)."""
    home = Path(settings.home)
    found = [
        path.parent
        for pattern in ("demo/models/*/model.json", "models/*/model.json")
        for path in home.glob(pattern)
        if (path.parent / "model.onnx").is_file()
    ]
    return max(found, key=lambda p: (p / "model.json").stat().st_mtime, default=None)


class _Endpoint:
    """A ModelServer on its own event-loop thread, bound to any host."""

    def __init__(
        self, settings: Settings, model_dir: Path, host: str, port: int, captures: str | None
    ) -> None:
        from visiongate.serving.capture import CaptureConfig
        from visiongate.serving.server import ModelServer, ServerConfig

        capture, store = None, None
        if captures:
            from visiongate.storage import open_store

            capture, store = CaptureConfig(captures, settings.endpoint_name), open_store(settings)
        self.config = ServerConfig(
            model_dir=model_dir,
            host=host,
            port=port,
            endpoint_name=settings.endpoint_name,
            capture=capture,
            database=settings.database,
        )
        self.server = ModelServer(self.config, store=store)
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(
            target=self.loop.run_forever, name="visiongate-up-endpoint", daemon=True
        )

    def _call(self, coro: Any, timeout: float) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def start(self) -> None:
        self.thread.start()
        self._call(self.server.start(), START_TIMEOUT)
        self._call(self.server.ready(), START_TIMEOUT)

    def stop(self) -> None:
        try:
            if self.server.state not in ("stopped", "starting"):
                self._call(self.server.stop(), 60)
        finally:
            self.loop.call_soon_threadsafe(self.loop.stop)
            self.thread.join(10)
            self.loop.close()


class Stack:
    """Start with :meth:`start` (or ``with``); :meth:`stop` ends every part."""

    def __init__(self, settings: Settings | None = None, config: StackConfig | None = None):
        self.settings = settings or load_settings()
        self.config = config or StackConfig()
        self.urls: dict[str, str] = {}
        self.model_dir: Path | None = None
        self.token = self.config.token
        if not is_loopback(self.config.host) and not self.token:
            self.token = secrets.token_urlsafe(24)
        self._endpoint: _Endpoint | None = None
        self._backend: Any = None
        self._sfn: Any = None
        self._sfn_thread: threading.Thread | None = None
        self._dashboard: Any = None
        self._saved_env: dict[str, str | None] = {}
        self._stopped = threading.Event()

    # -- lifecycle --------------------------------------------------------------------------

    def start(self) -> Stack:
        try:
            self._start_endpoint()
            self._start_sfn()
            self._start_dashboard()
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        """Stop the dashboard, the API and the endpoint; idempotent."""
        if self._dashboard is not None:
            self._dashboard.stop()
            self._dashboard = None
        if self._sfn is not None:
            self._sfn.shutdown()
            self._sfn.server_close()
            if self._sfn_thread is not None:
                self._sfn_thread.join(10)
            self._sfn = None
        if self._backend is not None:
            self._backend.close()
            self._backend = None
        if self._endpoint is not None:
            self._endpoint.stop()
            self._endpoint = None
        for name, value in self._saved_env.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        self._saved_env.clear()
        self._stopped.set()

    def wait(self, timeout: float | None = None) -> bool:
        """Block until :meth:`stop` (True) or ``timeout`` seconds (False)."""
        return self._stopped.wait(timeout)

    def __enter__(self) -> Stack:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- what clients need ------------------------------------------------------------------

    def environment(self) -> dict[str, str]:
        """The variables that point boto3 and the AWS CLI at this stack."""
        env = {"AWS_ENDPOINT_URL_SFN": self.urls["sfn"]}
        if "endpoint" in self.urls:
            env["AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME"] = self.urls["endpoint"]
        env.update(LOCAL_CREDENTIALS)
        env["AWS_DEFAULT_REGION"] = os.environ.get("AWS_DEFAULT_REGION") or "us-east-1"
        return env

    @property
    def backend(self) -> Any:
        """The Step Functions backend (its ``engines`` run the executions); None when stopped."""
        return self._backend

    @property
    def dashboard_link(self) -> str:
        """The dashboard's URL (with its token, when it has one)."""
        return self.urls["dashboard"] + (f"/?token={self.token}" if self.token else "/")

    # -- the parts --------------------------------------------------------------------------

    def _set_env(self, name: str, value: str) -> None:
        if name not in self._saved_env:
            self._saved_env[name] = os.environ.get(name)
        os.environ[name] = value

    def _url(self, port: int) -> str:
        return f"http://{client_host(self.config.host)}:{port}"

    def _start_endpoint(self) -> None:
        if not self.config.endpoint:
            return
        self.model_dir = self.config.model_dir or find_model(self.settings)
        if self.model_dir is None:
            return
        if not (Path(self.model_dir) / "model.json").is_file():
            raise StackError(
                f"{self.model_dir} is not a model directory (no model.json)",
                hint="pass --model with a folder written by visiongate train, or --no-endpoint",
            )
        self._endpoint = _Endpoint(
            self.settings,
            Path(self.model_dir),
            self.config.host,
            self.config.endpoint_port,
            self.config.captures,
        )
        self._endpoint.start()
        url = self._url(self._endpoint.server.port)
        self.urls["endpoint"] = url
        # The functions of this process (classify) read the endpoint from the environment.
        self._set_env("AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME", url)
        self.settings = self.settings.with_(endpoint_url=url)

    def _start_sfn(self) -> None:
        from visiongate.monitor.logs import subscribe
        from visiongate.monitor.review import review_settings
        from visiongate.sfn.api import StepFunctionsBackend, make_server

        backend = StepFunctionsBackend(review_settings(self.settings))
        pool = backend.engines
        create = pool.get

        def get_and_subscribe(region: str | None = None) -> Any:
            # EnginePool has no construction hook: every engine it hands out stores its logs.
            engine = create(region)
            subscribe(engine)
            return engine

        pool.get = get_and_subscribe
        self._backend = backend
        try:
            self._sfn = make_server(backend, self.config.host, self.config.sfn_port)
        except OSError as exc:
            raise StackError(
                f"cannot listen on {self.config.host}:{self.config.sfn_port} for the Step "
                f"Functions API: {exc.strerror}",
                hint="pick another --sfn-port, or stop the process using it",
            ) from None
        backend.start()  # resume executions a previous run left waiting
        self._sfn_thread = threading.Thread(
            target=self._sfn.serve_forever, args=(0.1,), name="visiongate-up-sfn", daemon=True
        )
        self._sfn_thread.start()
        self.urls["sfn"] = self._url(self._sfn.server_address[1])

    def _start_dashboard(self) -> None:
        import boto3

        from visiongate.monitor.dashboard import Dashboard, DashboardConfig, StepFunctionsActions
        from visiongate.monitor.review import ReviewQueue
        from visiongate.monitor.review_tasks import StepFunctionsTasks

        if boto3.session.Session().get_credentials() is None:
            # The dashboard's own boto3 calls go to the local API, which takes any credentials.
            for name, value in LOCAL_CREDENTIALS.items():
                self._set_env(name, value)
        sfn = self.urls["sfn"]
        config = DashboardConfig(
            self.settings,
            model_dir=Path(self.model_dir) if self.model_dir else None,
            captures=self.config.captures,
            review_buckets=self.config.review_buckets,
        )
        reviews = ReviewQueue(
            self.settings,
            buckets=self.config.review_buckets,
            classes=config.classes(),
            tasks=StepFunctionsTasks(sfn),
        )
        try:
            self._dashboard = Dashboard(
                config,
                host=self.config.host,
                port=self.config.dashboard_port,
                token=self.token,
                actions=StepFunctionsActions(endpoint_url=sfn),
                reviews=reviews,
            )
        except OSError as exc:
            raise StackError(
                f"cannot listen on {self.config.host}:{self.config.dashboard_port} for the "
                f"dashboard: {exc.strerror}",
                hint="pick another --dashboard-port, or stop the process using it",
            ) from None
        self._dashboard.start()
        self.urls["dashboard"] = self._url(self._dashboard.server.server_address[1])
