"""The server as a process: the CLI, the container's ``serve`` entrypoint with the
/opt/ml/model layout, and SIGTERM draining in-flight requests before exit.
Container contract: https://docs.aws.amazon.com/sagemaker/latest/dg/your-algorithms-inference-code.html
"""

from __future__ import annotations

import http.client
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.serving.conftest import noise_image, png

REPO = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def process(
    args: list[str], ready_text: str, env: dict[str, str] | None = None
) -> Iterator[subprocess.Popen]:
    """Start ``args``; yield once a stdout line contains ``ready_text``; kill on exit."""
    proc = subprocess.Popen(
        args, cwd=REPO, env={**os.environ, **(env or {}), "COLUMNS": "200"},
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        for line in proc.stdout:
            if ready_text in line:
                break
        else:
            pytest.fail(f"process exited before it was ready: {proc.wait()} {proc.stderr.read()}")
        yield proc
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait(10)


def get(port: int, method: str, path: str, body: bytes | None = None, headers=None):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=20)
    conn.request(method, path, body, headers or {})
    resp = conn.getresponse()
    return resp.status, dict(resp.getheaders()), resp.read()


def test_sigterm_drains_in_flight_requests_then_exits(model_dir: Path) -> None:
    port = free_port()
    args = [sys.executable, "-m", "visiongate.cli.main", "serve", "--model", str(model_dir),
            "--port", str(port), "--max-batch-size", "8", "--max-wait-ms", "8000"]  # fmt: skip
    with process(args, "serving") as proc:
        image = png(noise_image(7))
        inflight = socket.create_connection(("127.0.0.1", port), timeout=20)
        inflight.sendall(
            b"POST /invocations HTTP/1.1\r\nHost: x\r\nContent-Type: image/png\r\n"
            + f"Content-Length: {len(image)}\r\n\r\n".encode()
            + image
        )
        # The request now waits up to 8 s for batch-mates; wait until the server holds it.
        deadline = time.monotonic() + 20
        while (
            b'InFlightRequests{EndpointName="visiongate",VariantName="AllTraffic"} 1'
            not in get(port, "GET", "/metrics")[2]
        ):
            assert time.monotonic() < deadline, "the request never reached the batcher"
        stopped_at = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        answer = b""
        while chunk := inflight.recv(65536):
            answer += chunk
        inflight.close()
        assert proc.wait(20) == 0
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200 OK")
    assert b"Connection: close" in head
    assert len(json.loads(body)) == 2
    assert time.monotonic() - stopped_at < 6  # drained at once, not after the 8 s batch wait


def test_the_container_entrypoint_serves_opt_ml_model(model_dir: Path, tmp_path: Path) -> None:
    opt_ml_model = tmp_path / "opt" / "ml" / "model"
    shutil.copytree(model_dir, opt_ml_model)
    port = free_port()
    env = {
        "VISIONGATE_MODEL_DIR": str(opt_ml_model),
        "SAGEMAKER_BIND_TO_PORT": str(port),
        "VISIONGATE_HOST": "127.0.0.1",
    }
    with process([sys.executable, "docker/serve", "serve"], "ready", env) as proc:
        assert get(port, "GET", "/ping")[0] == 200
        status, headers, body = get(
            port, "POST", "/invocations", png(noise_image(8)), {"Content-Type": "image/png"}
        )
        assert status == 200 and headers["X-Amzn-Invoked-Production-Variant"] == "AllTraffic"
        assert len(json.loads(body)) == 2
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(20) == 0


@pytest.mark.parametrize(
    ("env", "message"),
    [
        (
            {"VISIONGATE_MODEL_DIR": "/nonexistent/model"},
            "model directory /nonexistent/model does not exist",
        ),
        ({"SAGEMAKER_BIND_TO_PORT": "eighty"}, "SAGEMAKER_BIND_TO_PORT='eighty' is not a number"),
    ],
)
def test_the_container_entrypoint_fails_clearly(env: dict[str, str], message: str) -> None:
    out = subprocess.run(
        [sys.executable, "docker/serve", "serve"], cwd=REPO, env={**os.environ, **env},
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert out.returncode != 0
    assert message in out.stderr and "Traceback" not in out.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--model", "/nonexistent/model"], "model directory /nonexistent/model does not exist"),
        (["--max-batch-size", "0"], "max batch size 0 must be 1..1024"),
        (
            ["--capture-percent", "101", "--capture", "s3://captures/x"],
            "capture percentage 101 is outside 0..100",
        ),
    ],
)
def test_cli_errors_are_one_line(model_dir: Path, args: list[str], message: str) -> None:
    if "--model" not in args:
        args = ["--model", str(model_dir), *args]
    out = subprocess.run(
        [sys.executable, "-m", "visiongate.cli.main", "serve", "--port", str(free_port()), *args],
        cwd=REPO, capture_output=True, text=True, timeout=60, env={**os.environ, "COLUMNS": "300"},
    )  # fmt: skip
    assert out.returncode == 2
    assert message in out.stderr and "Traceback" not in out.stderr
