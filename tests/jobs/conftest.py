"""Jobs fixtures: a model, a real model server on 127.0.0.1, and images in the local store.

``model_dir`` is the model engineer's ``tests/fixtures_model.make_tiny_model_dir`` when it
exists, else the serving area's tiny ONNX model (no PyTorch, built in milliseconds).
``digits_home`` builds the real digits dataset and trains a tiny model through the demo's own
``ensure_dataset``/``ensure_model`` once per session (the slow part: the torch import).
"""

from __future__ import annotations

import io
import shutil
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from visiongate.config import Settings, load_settings
from visiongate.jobs.endpoint import LocalEndpoint

TINY_TRAINING = {"epochs": 1, "widths": (8, 16, 16), "stem_width": 8, "flip_tta": False}


def png(seed: int, size: int = 32) -> bytes:
    """A deterministic noisy image whose red/blue balance moves with ``seed`` (mod 12), so a
    set of them spans confident and unsure answers of a colour-sensitive model."""
    rng = np.random.default_rng(seed)
    share = (seed % 12) / 11
    array = rng.integers(0, 90, (size, size, 3)).astype(np.int64)
    array[:, :, 0] += int(140 * share)
    array[:, :, 2] += int(140 * (1 - share))
    array = np.clip(array, 0, 255).astype(np.uint8)
    out = io.BytesIO()
    Image.fromarray(array, "RGB").save(out, format="PNG")
    return out.getvalue()


@pytest.fixture(scope="session")
def model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    try:
        from tests.fixtures_model import make_tiny_model_dir  # the model area's promise
    except ImportError:
        from tests.serving.tiny_model import write_model_dir

        return write_model_dir(tmp_path_factory.mktemp("jobs-model") / "tiny")
    return Path(make_tiny_model_dir(tmp_path_factory))


@pytest.fixture(scope="module")
def endpoint(model_dir: Path) -> Iterator[LocalEndpoint]:
    with LocalEndpoint(model_dir) as running:
        yield running


@pytest.fixture
def settings(endpoint: LocalEndpoint, isolated_home: Path) -> Settings:
    """This test's settings (its own home and store) pointed at the running endpoint."""
    return load_settings().with_(endpoint_url=endpoint.url, endpoint_name="visiongate")


@pytest.fixture
def store(settings: Settings):
    from visiongate.storage import open_store

    return open_store(settings)


@pytest.fixture
def images(store) -> list[str]:
    """Twelve PNGs under images/in/, a text file beside them, and an unrelated prefix."""
    store.create_bucket("images")
    keys = [f"in/img{i:02d}.png" for i in range(12)]
    for i, key in enumerate(keys):
        store.put("images", key, png(i))
    store.put("images", "in/notes.txt", b"not an image")
    store.put("images", "other/skip.png", png(99))
    return keys


@pytest.fixture(scope="session")
def digits_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A home with the digits dataset and a tiny trained demo model (built once)."""
    from visiongate.jobs.demo import ensure_dataset, ensure_model
    from visiongate.model.train import config_from

    home = tmp_path_factory.mktemp("digits") / ".visiongate"
    config = load_settings(env={"VISIONGATE_HOME": str(home)})
    uri, reused = ensure_dataset(config, "digits")
    assert not reused
    model = home / "demo" / "models" / "digits"
    assert not ensure_model(config, uri, model, config=config_from("fast", **TINY_TRAINING))
    assert ensure_model(config, uri, model)  # valid now, so reused
    return home


def copy_home(source: Path, target: Path) -> None:
    """The digits store and model in a test's own home (the store's bucket by symlink)."""
    (target / "store").mkdir(parents=True, exist_ok=True)
    (target / "store" / "datasets").symlink_to(source / "store" / "datasets")
    shutil.copytree(source / "demo" / "models", target / "demo" / "models")
