"""The model server: SageMaker's hosting contract over :mod:`visiongate.serving.http`.

    GET  /ping                              200 once the model is loaded and warmed up, else 503
    POST /invocations                       the container contract
    POST /endpoints/{name}/invocations      SageMaker Runtime's InvokeEndpoint route (boto3)
    GET  /metrics                           Prometheus text (CloudWatch names)

Contract: https://docs.aws.amazon.com/sagemaker/latest/dg/your-algorithms-inference-code.html
An invocation is the inference toolkit's four steps — load (once), decode by Content-Type,
predict (dynamically batched), encode by Accept — then an optional data-capture record.
Every failure is a :class:`ServingError` turned into JSON by ``http.error_response``.

Threads: the event loop parses HTTP and decodes small images inline (cheaper than a thread
hop for a 32x32 PNG; large ones go to a decode thread); ``batch.concurrency`` inference
threads run onnxruntime (which releases the GIL), each batch on cores // concurrency
intra-op threads unless ``threads`` says otherwise; capture and SQLite writes have their own
threads.
"""

from __future__ import annotations

import asyncio
import logging
import re
import signal
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np

from visiongate.errors import VisiongateError
from visiongate.serving.batching import Batcher
from visiongate.serving.capture import CaptureWriter
from visiongate.serving.codec import (
    check_content_type,
    claimed_pixels,
    decode_input,
    encode_output,
    negotiate,
)
from visiongate.serving.config import ServerConfig
from visiongate.serving.errors import (
    InternalFailure,
    MethodNotAllowed,
    ServiceUnavailable,
    ServingError,
    UnknownOperation,
    ValidationError,
)
from visiongate.serving.http import (
    ConnectionPool,
    HttpProtocol,
    Request,
    Response,
    error_response,
    json_response,
)
from visiongate.serving.metrics import EndpointMetrics
from visiongate.serving.metrics_history import MetricsHistory
from visiongate.serving.model import LoadedModel, available_cores, load_model_dir

log = logging.getLogger(__name__)

ENDPOINT_ROUTE = re.compile(r"^/endpoints/([^/]+)/invocations$")
INFERENCE_ID = re.compile(r"^\S[\x20-\x7e]{0,63}$")  # SageMaker: 1-64 printable characters
LOCAL_ACCOUNT = "000000000000"
INLINE_DECODE_PIXELS = 512 * 512  # decoded on the event loop; bigger ones in a thread


class ModelServer:
    """One endpoint variant: a model, its batcher, capture and metrics behind HTTP."""

    def __init__(
        self,
        config: ServerConfig,
        *,
        loader: Callable[..., LoadedModel] = load_model_dir,
        store: Any = None,
    ) -> None:
        self.config = config
        self.loader = loader
        self.state = "starting"  # starting -> loading -> ready -> draining -> stopped | failed
        self.load_error: BaseException | None = None
        self.model: LoadedModel | None = None
        self.history = (
            MetricsHistory(config.database, config.endpoint_name, config.variant)
            if config.database
            else None
        )
        self.metrics = EndpointMetrics(config.endpoint_name, config.variant, self.history)
        self.inference_pool = ThreadPoolExecutor(
            config.batch.concurrency, thread_name_prefix="inference"
        )
        self.decode_pool = ThreadPoolExecutor(1, thread_name_prefix="decode")
        self.io_pool = ThreadPoolExecutor(1, thread_name_prefix="metrics-io")
        self.batcher: Batcher[np.ndarray, tuple] = Batcher(
            self._predict_batch,
            config.batch,
            executor=self.inference_pool,
            observer=self.metrics.record_batch,
        )
        self.capture = CaptureWriter(config.capture, store) if config.capture else None
        self.pool = ConnectionPool(config.http)
        self.port = config.port
        self._server: asyncio.Server | None = None
        self._tasks: list[asyncio.Task[Any]] = []
        self._register_gauges()

    # -- lifecycle --------------------------------------------------------------
    async def start(self) -> None:
        """Listen at once (so /ping can say 503), then load and warm the model in a thread."""
        loop = asyncio.get_running_loop()
        if self.capture is not None:
            await loop.run_in_executor(self.io_pool, self.capture.prepare)
        try:
            self._server = await loop.create_server(
                lambda: HttpProtocol(self.handle, self.pool),
                self.config.host,
                self.config.port,
                reuse_address=True,
                reuse_port=self.config.reuse_port or None,
                backlog=1024,
            )
        except OSError as exc:
            raise VisiongateError(
                f"cannot listen on {self.config.host}:{self.config.port}: {exc.strerror or exc}",
                hint="choose another --port, or stop the process using it",
            ) from None
        self.port = self._server.sockets[0].getsockname()[1]
        self.state = "loading"
        self._load_task = loop.create_task(self._load())
        if self.history is not None:
            self._tasks.append(loop.create_task(self._flush_history()))

    async def _load(self) -> None:
        loop = asyncio.get_running_loop()
        try:
            threads = self.config.threads or max(
                1, available_cores() // self.config.batch.concurrency
            )
            model = await loop.run_in_executor(
                self.inference_pool, self.loader, self.config.model_dir, threads
            )
            await loop.run_in_executor(
                self.inference_pool, model.warm_up, self.config.batch.max_batch_size
            )
        except BaseException as exc:
            self.state = "failed"
            self.load_error = exc
            raise
        self.model = model
        self.batcher.start()
        if self.capture is not None:
            self.capture.start()
        self.state = "ready"

    async def ready(self) -> None:
        """Wait for the model; re-raises its load error (e.g. ModelLoadError)."""
        await asyncio.shield(self._load_task)

    async def stop(self) -> None:
        """Drain: stop listening, finish in-flight requests, flush capture and metrics."""
        if self.state in ("stopped", "draining"):
            return
        self.state = "draining"
        if self._server is not None:
            self._server.close()
        self.pool.drain()
        self.batcher.hurry()
        drained = await self.pool.wait_idle(self.config.drain_timeout)
        if not drained:
            log.warning("%d requests still running after the drain timeout", self.pool.in_flight)
        if self.batcher.started:
            await self.batcher.stop()
        for conn in list(self.pool.connections):
            conn.close()
        for task in self._tasks:
            task.cancel()
        loop = asyncio.get_running_loop()
        if self.capture is not None:
            await loop.run_in_executor(self.io_pool, self.capture.close)
        if self.history is not None:
            rows = self.history.collect()
            await loop.run_in_executor(self.io_pool, self.history.write, rows)
        for pool in (self.inference_pool, self.decode_pool, self.io_pool):
            pool.shutdown(wait=False, cancel_futures=True)
        self.state = "stopped"

    async def _flush_history(self) -> None:
        assert self.history is not None
        loop = asyncio.get_running_loop()
        while True:
            await asyncio.sleep(self.config.metrics_flush_seconds)
            rows = self.history.collect()
            await loop.run_in_executor(self.io_pool, self.history.write, rows)

    # -- routing ------------------------------------------------------------------
    async def handle(self, request: Request) -> Response:
        path, method = request.path, request.method
        try:
            if path == "/ping":
                self._allow(method, "GET")
                return self._ping()
            if path == "/metrics":
                self._allow(method, "GET")
                return Response(200, self.metrics.render().encode(), "text/plain; version=0.0.4")
            match = ENDPOINT_ROUTE.match(path)
            if path == "/invocations" or match:
                self._allow(method, "POST")
                return await self._invoke(request, match.group(1) if match else None)
            raise UnknownOperation(
                f"no route for {method} {path[:200]}",
                hint="routes: GET /ping, POST /invocations, "
                "POST /endpoints/{name}/invocations, GET /metrics",
            )
        except ServingError as exc:
            return error_response(exc)

    @staticmethod
    def _allow(method: str, allowed: str) -> None:
        if method != allowed:
            raise MethodNotAllowed(
                f"{method} is not allowed here", (allowed,), hint=f"use {allowed}"
            )

    def _ping(self) -> Response:
        if self.state == "ready" and self.model is not None:
            return json_response(200, {"status": "Healthy", "model": self.model.name})
        raise self._unavailable()

    def _unavailable(self) -> ServiceUnavailable:
        if self.state == "failed":
            reason = getattr(self.load_error, "message", None) or repr(self.load_error)
            return ServiceUnavailable(f"the model failed to load: {reason}")
        if self.state in ("draining", "stopped"):
            return ServiceUnavailable(
                "the endpoint is shutting down", hint="retry on another instance"
            )
        return ServiceUnavailable("the model is loading", hint="retry when GET /ping answers 200")

    # -- invocations --------------------------------------------------------------
    async def _invoke(self, request: Request, endpoint: str | None) -> Response:
        metrics = self.metrics
        metrics.in_flight += 1
        model_us = 0.0
        try:
            response, model_us = await self._predict_request(request, endpoint)
        except ServingError as exc:
            response = error_response(exc)
        except Exception as exc:  # noqa: BLE001 - never an unexplained 500
            log.exception("invocation failed")
            response = error_response(
                InternalFailure(f"internal error: {type(exc).__name__}: {exc}")
            )
        finally:
            metrics.in_flight -= 1
        if self.state == "draining":
            response.close = True
        total_us = (time.perf_counter() - request.received) * 1e6
        metrics.record_invocation(response.status, model_us, max(total_us - model_us, 0.0))
        return response

    async def _predict_request(
        self, request: Request, endpoint: str | None
    ) -> tuple[Response, float]:
        if self.state != "ready" or self.model is None:
            raise self._unavailable()
        if endpoint is not None and endpoint != self.config.endpoint_name:
            raise ValidationError(
                f"Endpoint {endpoint} of account {LOCAL_ACCOUNT} not found.",
                hint=f"this server hosts endpoint {self.config.endpoint_name!r}",
            )
        model, headers = self.model, request.headers
        content_type = headers.get("content-type", "")
        check_content_type(content_type)
        fmt = negotiate(
            headers.get("accept"),
            headers.get("x-amzn-sagemaker-custom-attributes"),
            len(model.classes),
        )
        inference_id = headers.get("x-amzn-sagemaker-inference-id")
        if inference_id is not None and not INFERENCE_ID.match(inference_id):
            raise ValidationError(
                "X-Amzn-SageMaker-Inference-Id must be 1-64 printable characters",
                hint="e.g. the request id of the calling workflow",
            )
        started = time.perf_counter()
        body = request.body
        pixels = claimed_pixels(body)
        if pixels is not None and pixels <= INLINE_DECODE_PIXELS:
            image = decode_input(body, model.prep)
        else:
            loop = asyncio.get_running_loop()
            image = await loop.run_in_executor(self.decode_pool, decode_input, body, model.prep)
        probs, embedding = await self.batcher.submit(image)
        out = encode_output(probs, embedding, model.classes, fmt)
        model_us = (time.perf_counter() - started) * 1e6
        if self.capture is not None:
            self.capture.offer(
                body, content_type or "application/x-image", out, fmt.content_type, inference_id
            )
        response_headers = [
            ("X-Amzn-Invoked-Production-Variant", self.config.variant),
            ("x-amzn-RequestId", str(uuid.uuid4())),
        ]
        return Response(200, out, fmt.content_type, response_headers), model_us

    def _predict_batch(self, images: list[np.ndarray]) -> list[tuple]:
        """Runs in the inference thread: one onnxruntime call for the whole batch."""
        assert self.model is not None
        probs, embedding = self.model.predict(np.stack(images))
        if embedding is None:
            return [(p, None) for p in probs]
        return list(zip(probs, embedding, strict=True))

    def _register_gauges(self) -> None:
        m = self.metrics
        m.gauges["QueueDepth"] = ("Requests waiting for a batch.", lambda: self.batcher.depth)
        m.gauges["ModelLoaded"] = (
            "1 once the model is loaded and warm.",
            lambda: self.state == "ready",
        )
        m.gauges["OpenConnections"] = ("Open HTTP connections.", lambda: len(self.pool.connections))
        if self.capture is not None:
            cap = self.capture
            m.counters["CaptureRecordsWritten"] = (
                "Data capture records written.",
                lambda: cap.written,
            )
            m.counters["CaptureRecordsDropped"] = (
                "Records dropped (queue full, disk full).",
                lambda: cap.dropped,
            )
            m.gauges["CapturePaused"] = (
                "1 while capture is paused by a full disk.",
                lambda: cap.paused,
            )


def run(
    config: ServerConfig,
    *,
    store: Any = None,
    on_ready: Callable[[ModelServer], None] | None = None,
) -> None:
    """Serve until SIGTERM or SIGINT, then drain. Raises the model's load error, if any."""
    asyncio.run(_main(config, store, on_ready))


async def _main(
    config: ServerConfig, store: Any, on_ready: Callable[[ModelServer], None] | None
) -> None:
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    server = ModelServer(config, store=store)
    await server.start()
    stopping = loop.create_task(stop.wait())
    try:
        done, _ = await asyncio.wait(
            {server._load_task, stopping}, return_when=asyncio.FIRST_COMPLETED
        )
        if server._load_task in done:
            await server.ready()  # raises the load error
            if on_ready is not None:
                on_ready(server)
            await stopping
    finally:
        stopping.cancel()
        await server.stop()
