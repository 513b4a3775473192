"""``baseline.json``: what normal traffic looks like, for the drift monitor (team/MODEL_DIR.md).

Prediction-based parts (class mix, confidence, embedding distances) come from the
validation split: the model never trained on it, so its confidence there is what live
traffic should show. Image statistics (brightness, contrast, size of the decoded original)
do not depend on the model, so they use every training and validation image.
"""

from __future__ import annotations

from typing import Any

import numpy as np

MAX_VALUES = 5000


def _capped(values: np.ndarray, seed: int = 0) -> list[float]:
    values = np.asarray(values, dtype=np.float64)
    if len(values) > MAX_VALUES:
        values = np.random.default_rng(seed).choice(values, MAX_VALUES, replace=False)
    return [round(float(v), 6) for v in values]


def compute_baseline(
    classes: list[str],
    probabilities: np.ndarray,
    embedding: np.ndarray,
    image_stats: dict[str, np.ndarray],
) -> dict[str, Any]:
    """The baseline document from validation outputs and per-image statistics."""
    predicted = probabilities.argmax(1)
    counts = np.bincount(predicted, minlength=len(classes))
    center = embedding.mean(0)
    distances = np.linalg.norm(embedding - center, axis=1)
    return {
        "n": int(len(probabilities)),
        "classes": list(classes),
        "class_mix": [round(float(c) / max(1, len(predicted)), 6) for c in counts],
        "confidence": _capped(probabilities.max(1)),
        "image_stats": {name: _capped(values) for name, values in image_stats.items()},
        "embedding": {
            "mean": [round(float(v), 6) for v in center],
            "distances": _capped(distances),
        },
        "sources": {
            "predictions": "validation split",
            "image_stats": "training + validation images",
        },
    }
