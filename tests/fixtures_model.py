"""A small real model directory for any test area (serving, jobs, monitor, ...).

    from tests.fixtures_model import make_tiny_model_dir

    @pytest.fixture(scope="session")
    def model_dir(tmp_path_factory):
        return make_tiny_model_dir(tmp_path_factory)

It writes a synthetic two-class PNG dataset ("red" vs "blue" noisy squares, mostly easy to
tell apart) in SageMaker's channel layout and trains the real pipeline at tiny width for three
epochs, producing a complete model directory (model.onnx, model.json, baseline.json,
training_curve.png) in a few seconds of CPU. Its test accuracy is about 0.94 and some
images fall below a 0.75 threshold, so gate tests see both outcomes.
"""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
from PIL import Image

CLASSES = ["red", "blue"]


def synthetic_image(
    label: int, rng: np.random.Generator, size: int = 32, lean: float | None = 50.0
) -> np.ndarray:
    """A noisy square leaning towards its class's colour by ``lean`` (0..50; None = random).

    The datasets use a random lean, so some images lean only slightly and the model is
    unsure of them: confidences spread below and above the gate's threshold, as with real
    photos. Called on its own, an image leans clearly (50), and any model gets it right.
    """
    image = rng.integers(0, 90, size=(size, size, 3)).astype(np.int64)
    amount = int(rng.uniform(0, 50)) if lean is None else int(lean)
    image[:, :, 0 if label == 0 else 2] += 70 + amount
    image[:, :, 2 if label == 0 else 0] += 70 - amount
    y, x = rng.integers(0, size - 8, size=2)
    image[y : y + 8, x : x + 8, 1] += 100
    return np.clip(image, 0, 255).astype(np.uint8)


def png(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format="PNG")
    return buffer.getvalue()


def write_synthetic_dataset(
    root: Path, per_class: int = 24, seed: int = 0, channel: str = "train", size: int = 32
) -> Path:
    """``root/<channel>.lst`` + ``root/<channel>/*.png`` + ``root/classes.json``."""
    rng = np.random.default_rng(seed)
    (root / channel).mkdir(parents=True, exist_ok=True)
    lines = []
    for label, name in enumerate(CLASSES):
        for i in range(per_class):
            filename = f"{name}_{i:03d}.png"
            (root / channel / filename).write_bytes(
                png(synthetic_image(label, rng, size, lean=None))
            )
            lines.append(f"{len(lines)}\t{label}\t{filename}")
    (root / f"{channel}.lst").write_text("\n".join(lines) + "\n")
    (root / "classes.json").write_text(json.dumps(CLASSES))
    return root


def tiny_config(**changes):  # noqa: ANN201 - TrainConfig, imported lazily (torch)
    from visiongate.model.hyperparameters import TrainConfig

    settings = {
        "epochs": 3,
        "logit_scale": 0.5,
        "batch_size": 16,
        "widths": (8, 8, 16),
        "stem_width": 8,
        "cutout": 0,
        "crop_pad": 2,
        "val_fraction": 0.25,
        "threads": 1,
        "bf16": False,
        "lr": 0.1,
        # the synthetic classes are red and blue: colour is the class here
        "grayscale": 0.0,
        "channel_shuffle": 0.0,
    }
    settings.update(changes)
    return TrainConfig(**settings)


def make_tiny_model_dir(tmp_path_factory, name: str = "tiny-model") -> Path:  # noqa: ANN001
    """Train a tiny model on synthetic data; return its model directory."""
    from visiongate.model.package import train_model

    base = tmp_path_factory.mktemp("tiny-model")
    data = write_synthetic_dataset(base / "data")
    write_synthetic_dataset(base / "data", per_class=8, seed=1, channel="test")
    out = base / name
    train_model(data, out, tiny_config())
    return out
