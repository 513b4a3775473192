"""Fixtures every test area shares: an isolated home, ../shared, and a real moto S3 server."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import settings as hypothesis_settings

# Deterministic property tests: CI must not fail on a different random draw than the
# developer saw, and a loaded 2-core machine must not trip per-example deadlines.
hypothesis_settings.register_profile("visiongate", derandomize=True, deadline=None)
hypothesis_settings.load_profile("visiongate")

REPO = Path(__file__).resolve().parents[1]


def shared_root() -> Path:
    return Path(os.environ.get("VISIONGATE_SHARED", REPO.parent / "shared"))


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    """``../shared``; tests that need it skip with a reason when it is absent."""
    root = shared_root()
    if not root.is_dir():
        pytest.skip(f"needs the shared data folder {root} (absent on this clone)")
    return root


@pytest.fixture(scope="session")
def cifar_bikes(shared_dir: Path) -> Path:
    path = shared_dir / "datasets" / "cifar100-bikes"
    if not (path / "train.lst").is_file():
        pytest.skip(f"needs {path}/train.lst")
    return path


@pytest.fixture(autouse=True)
def isolated_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every test gets its own .visiongate home and no stray AWS or visiongate settings."""
    for name in list(os.environ):
        if name.startswith(("VISIONGATE_", "AWS_ENDPOINT_URL")) and name != "VISIONGATE_SHARED":
            monkeypatch.delenv(name, raising=False)
    for name in ("THRESHOLD", "ENDPOINT", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    home = tmp_path / ".visiongate"
    monkeypatch.setenv("VISIONGATE_HOME", str(home))
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    return home


@pytest.fixture(scope="session")
def moto_server() -> Iterator[str]:
    """A real moto standalone server on 127.0.0.1 (random port); yields its URL."""
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()
