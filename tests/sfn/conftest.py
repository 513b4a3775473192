"""Fixtures of the engine tests: a fast-time engine on a fresh SQLite file, a clean environment."""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.sfn import handlers
from visiongate.config import load_settings
from visiongate.sfn.clock import VirtualClock
from visiongate.sfn.engine import Engine

EPOCH = datetime(2024, 1, 31, 12, 0, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _restore_environment() -> Iterator[None]:
    """The engine fills in handler environment variables; keep them out of other tests."""
    saved = dict(os.environ)
    yield
    os.environ.clear()
    os.environ.update(saved)


@pytest.fixture
def clock() -> VirtualClock:
    return VirtualClock(start=EPOCH)


@pytest.fixture
def engine(tmp_path: Path, clock: VirtualClock) -> Iterator[Engine]:
    """An engine on a virtual clock (no test ever sleeps) with the test handlers registered."""
    handlers.CLOCK = clock
    eng = Engine(
        load_settings(),
        clock=clock,
        database=tmp_path / "sfn.db",
        functions=handlers.FUNCTIONS,
        rand=lambda: 0.5,
    )
    try:
        yield eng
    finally:
        eng.close()
        handlers.reset()
