"""Serving fixtures: a tiny ONNX model directory (no torch), test images of every mode,
and real servers on 127.0.0.1 running in a background event loop."""

from __future__ import annotations

import asyncio
import http.client
import io
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from tests.serving.tiny_model import write_model_dir
from visiongate.serving.server import ModelServer, ServerConfig


@pytest.fixture(scope="session")
def model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_model_dir(tmp_path_factory.mktemp("models") / "tiny")


@pytest.fixture(scope="session")
def poison_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Fails in onnxruntime on any batch holding a mostly white image."""
    return write_model_dir(tmp_path_factory.mktemp("models") / "poison", poison=True)


def png(image: Image.Image, **params: Any) -> bytes:
    out = io.BytesIO()
    image.save(out, format="PNG", **params)
    return out.getvalue()


def jpeg(image: Image.Image, **params: Any) -> bytes:
    out = io.BytesIO()
    image.save(out, format="JPEG", **params)
    return out.getvalue()


def noise_image(seed: int, size: tuple[int, int] = (32, 32), mode: str = "RGB") -> Image.Image:
    rng = np.random.default_rng(seed)
    array = rng.integers(0, 200, (size[1], size[0], 3), dtype=np.uint8)
    return Image.fromarray(array, "RGB").convert(mode)


WHITE_PNG = png(Image.new("RGB", (32, 32), (255, 255, 255)))


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class RunningServer:
    server: ModelServer
    loop: asyncio.AbstractEventLoop
    host: str = "127.0.0.1"
    clients: list[http.client.HTTPConnection] = field(default_factory=list)

    @property
    def port(self) -> int:
        return self.server.port

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def call(self, coro: Any, timeout: float = 30) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def request(
        self,
        method: str,
        path: str,
        body: bytes | None = None,
        headers: dict[str, str] | None = None,
    ) -> Reply:
        conn = http.client.HTTPConnection(self.host, self.port, timeout=20)
        try:
            conn.request(method, path, body=body, headers=headers or {})
            resp = conn.getresponse()
            return Reply(resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read())
        finally:
            conn.close()

    def invoke(self, body: bytes, content_type: str = "image/png", **headers: str) -> Reply:
        return self.request("POST", "/invocations", body, {"Content-Type": content_type, **headers})

    def runtime(self) -> Any:
        import boto3

        return boto3.client(
            "sagemaker-runtime",
            endpoint_url=self.url,
            region_name="us-east-1",
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )


@contextmanager
def running_server(
    config: ServerConfig, *, wait_ready: bool = True, **kwargs: Any
) -> Iterator[RunningServer]:
    """A ModelServer on its own event-loop thread; drained and stopped on exit."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, name="test-server", daemon=True)
    thread.start()
    server = ModelServer(config, **kwargs)
    running = RunningServer(server, loop)
    try:
        running.call(server.start())
        if wait_ready:
            running.call(server.ready())
        yield running
    finally:
        try:
            running.call(server.stop())
        finally:
            loop.call_soon_threadsafe(loop.stop)
            thread.join(10)
            loop.close()


def config_for(model: Path, **overrides: Any) -> ServerConfig:
    return ServerConfig(model_dir=model, port=0, **overrides)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    """One shared server for read-only tests of the module."""
    model = write_model_dir(tmp_path_factory.mktemp("shared-model") / "tiny")
    with running_server(config_for(model)) as running:
        yield running


@pytest.fixture(scope="session")
def bike_pngs(shared_dir: Path) -> list[bytes]:
    """A few real CIFAR PNGs from ../shared (skips when absent)."""
    files = sorted((shared_dir / "datasets" / "cifar100-bikes" / "train").glob("*.png"))[:24]
    if not files:
        pytest.skip("no CIFAR PNGs in ../shared")
    return [f.read_bytes() for f in files]
