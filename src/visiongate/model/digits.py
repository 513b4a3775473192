"""A real sample dataset that needs no network: scikit-learn's bundled handwritten digits.

``sklearn.datasets.load_digits`` ships 1,797 8×8 images with 17 grey levels (0..16). We
render each as a 32×32 grayscale PNG — dark ink on white, smoothly upscaled — and write
them in the same channel layout as the CIFAR subset (train.lst + train/, test.lst + test/,
classes.json with "0".."9"), split by class so both halves hold every digit.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from PIL import Image

CLASSES = [str(d) for d in range(10)]
SIZE = 32
TEST_FRACTION = 0.2
SPLIT_SEED = 0


def render(image8: np.ndarray, size: int = SIZE) -> np.ndarray:
    """One 8×8 digit (0..16, ink = high) -> size×size uint8, dark ink on a white page."""
    ink = np.clip(np.asarray(image8, dtype=np.float64) * (255.0 / 16.0), 0, 255)
    page = Image.fromarray((255 - ink).astype(np.uint8), mode="L")
    return np.asarray(page.resize((size, size), Image.Resampling.BICUBIC), dtype=np.uint8)


def stratified_halves(
    labels: np.ndarray, fraction: float, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """Indices (first, second) with ``fraction`` of every class in the second, shuffled."""
    rng = np.random.default_rng(seed)
    first, second = [], []
    for label in np.unique(labels):
        members = rng.permutation(np.flatnonzero(labels == label))
        cut = int(round(len(members) * fraction))
        second.extend(members[:cut])
        first.extend(members[cut:])
    return np.sort(np.asarray(first)), np.sort(np.asarray(second))


def build_dataset(
    out: str,
    settings=None,  # noqa: ANN001 - Settings
    console=None,  # noqa: ANN001 - rich Console
    test_fraction: float = TEST_FRACTION,
) -> dict[str, Any]:
    """Write the digits as train/test PNGs with .lst manifests and classes.json into ``out``."""
    from rich.progress import Progress
    from sklearn.datasets import load_digits

    from visiongate.model.writer import Sink, write_classes, write_split

    bunch = load_digits()
    images = np.stack([render(x) for x in bunch.images])
    labels = np.asarray(bunch.target, dtype=np.int64)
    train, test = stratified_halves(labels, test_fraction, SPLIT_SEED)
    sink = Sink(out, settings)
    written = {}
    with Progress(console=console, transient=True, disable=console is None) as progress:
        task = progress.add_task("writing PNGs", total=len(labels))
        for name, rows in (("train", train), ("test", test)):
            written[name] = write_split(
                sink,
                name,
                images[rows],
                labels[rows],
                CLASSES,
                filenames=[f"digit{labels[i]}_{i:04d}" for i in rows],
                indices=[int(i) for i in rows],
                progress=(progress, task),
            )
    write_classes(sink, CLASSES)
    return {
        "out": sink.describe(),
        "classes": CLASSES,
        "splits": {k: {"n": v.count, "per_class": v.per_class} for k, v in written.items()},
    }
