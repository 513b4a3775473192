"""`visiongate up` as a user runs it: a child process on free ports, boto3 and HTTP against what
it prints, then Ctrl-C (SIGINT) or SIGTERM: a clean exit (status 0) with every port free."""

from __future__ import annotations

import http.client
import os
import queue
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import boto3
import pytest

from tests.serving.tiny_model import write_model_dir

VISIONGATE = Path(sys.executable).parent / "visiongate"
READY = "# Ctrl-C to stop"
START_TIMEOUT = 60.0


@dataclass
class Running:
    process: subprocess.Popen
    lines: list[str] = field(default_factory=list)
    exports: dict[str, str] = field(default_factory=dict)
    urls: dict[str, str] = field(default_factory=dict)
    pending: queue.Queue = field(default_factory=queue.Queue)

    def rest(self) -> list[str]:
        """The lines printed after start-up, up to the end of the output."""
        out = []
        while (line := self.pending.get(timeout=30)) is not None:
            out.append(line)
        return out


def _reader(stream, sink: queue.Queue) -> None:  # noqa: ANN001 - a text stream
    for line in stream:
        sink.put(line.rstrip("\n"))
    sink.put(None)


@contextmanager
def visiongate_up(*args: str) -> Iterator[Running]:
    process = subprocess.Popen(
        [str(VISIONGATE), "up", "--sfn-port", "0", "--dashboard-port", "0", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "COLUMNS": "200"},
    )
    running = Running(process)
    lines = running.pending
    threading.Thread(target=_reader, args=(process.stdout, lines), daemon=True).start()
    try:
        while True:
            line = lines.get(timeout=START_TIMEOUT)  # no fixed sleep: wait for its own words
            if line is None:
                raise AssertionError(f"visiongate up ended early: {process.stderr.read()}")
            running.lines.append(line)
            if line.startswith("export "):
                name, _, value = line[len("export ") :].partition("=")
                running.exports[name] = value
            for part in ("Step Functions API", "model endpoint", "dashboard"):
                if line.startswith(part) and "http" in line:
                    running.urls[part] = line.split()[len(part.split())]
            if line == READY:
                break
        yield running
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(10)


def port_is_free(url: str) -> bool:
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", urlsplit(url).port))
        except OSError:
            return False
    return True


def http_get(url: str, path: str) -> tuple[int, bytes]:
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
    conn.request("GET", path, headers={"Host": f"127.0.0.1:{parts.port}"})
    response = conn.getresponse()
    body = response.read()
    conn.close()
    return response.status, body


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_model_dir(tmp_path_factory.mktemp("up") / "tiny")


def test_up_serves_all_three_and_ctrl_c_stops_cleanly(model_dir: Path) -> None:
    with visiongate_up("--endpoint-port", "0", "--model", str(model_dir)) as up:
        env = up.exports
        assert set(env) == {
            "AWS_ENDPOINT_URL_SFN",
            "AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME",
            "AWS_ACCESS_KEY_ID",
            "AWS_SECRET_ACCESS_KEY",
            "AWS_DEFAULT_REGION",
        }
        assert env["AWS_ENDPOINT_URL_SFN"] == up.urls["Step Functions API"]
        # boto3 talks to it exactly as to AWS (ListStateMachines).
        sfn = boto3.client(
            "stepfunctions",
            endpoint_url=env["AWS_ENDPOINT_URL_SFN"],
            region_name=env["AWS_DEFAULT_REGION"],
            aws_access_key_id=env["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"],
        )
        assert sfn.list_state_machines()["stateMachines"] == []
        runtime = boto3.client(
            "sagemaker-runtime",
            endpoint_url=env["AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME"],
            region_name="us-east-1",
            aws_access_key_id="test",
            aws_secret_access_key="test",
        )
        from tests.monitor.review_support import photo

        answer = runtime.invoke_endpoint(
            EndpointName="visiongate", ContentType="image/png", Body=photo(41)
        )
        assert len(answer["Body"].read()) > 2
        dashboard = up.urls["dashboard"].rstrip("/")
        assert http_get(dashboard, "/healthz")[0] == 200
        status, page = http_get(dashboard, "/executions")
        assert status == 200 and b"<h1>Executions</h1>" in page

        up.process.send_signal(signal.SIGINT)
        assert up.process.wait(30) == 0
        stdout = up.rest()
        assert "Traceback" not in up.process.stderr.read()
        urls = [env["AWS_ENDPOINT_URL_SFN"], env["AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME"], dashboard]
    assert "stopped" in stdout
    assert all(port_is_free(url) for url in urls)


def test_sigterm_stops_it_too(tmp_path: Path) -> None:
    with visiongate_up("--no-endpoint") as up:
        assert "AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME" not in up.exports
        assert any("model endpoint      none" in line for line in up.lines)
        up.process.send_signal(signal.SIGTERM)
        assert up.process.wait(30) == 0
        urls = [up.exports["AWS_ENDPOINT_URL_SFN"], up.urls["dashboard"]]
    assert all(port_is_free(url) for url in urls)


def test_a_busy_port_is_a_one_line_error() -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = subprocess.run(
            [str(VISIONGATE), "up", "--no-endpoint", "--sfn-port", str(port)],
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert result.returncode == 2
    assert f"cannot listen on 127.0.0.1:{port}" in result.stderr
    assert "Traceback" not in result.stderr
