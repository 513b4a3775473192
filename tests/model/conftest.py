"""Model-area fixtures: synthetic datasets in every layout and one tiny trained model."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tests.fixtures_model import (
    CLASSES,
    make_tiny_model_dir,
    synthetic_image,
    write_synthetic_dataset,
)


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Trained once per session (a few CPU seconds) and shared, read-only."""
    return make_tiny_model_dir(tmp_path_factory)


@pytest.fixture(scope="session")
def tiny_test_data(tiny_model_dir: Path) -> Path:
    """The held-out half of the tiny model's data: classes.json, test.lst + test/, train.lst + train/."""
    return tiny_model_dir.parent / "data"


@pytest.fixture
def channel_dataset(tmp_path: Path) -> Path:
    """SageMaker channel layout: train.lst beside train/, and classes.json."""
    return write_synthetic_dataset(tmp_path / "channel", per_class=6)


@pytest.fixture
def class_folders(tmp_path: Path) -> Path:
    """One folder per class, class = folder name."""
    root = tmp_path / "folders"
    rng = np.random.default_rng(3)
    for label, name in enumerate(CLASSES):
        (root / name).mkdir(parents=True)
        for i in range(5):
            Image.fromarray(synthetic_image(label, rng)).save(root / name / f"{i}.png")
    return root


def png_bytes(array: np.ndarray) -> bytes:
    out = io.BytesIO()
    Image.fromarray(array).save(out, format="PNG")
    return out.getvalue()
