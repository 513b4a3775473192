"""Evaluate a model directory on labelled images, exactly as the server would run it.

The model is opened with the model server's own loader
(:func:`visiongate.serving.model.load_model_dir`) and images go through
``visiongate.imaging`` — so evaluation fails where serving would, and measures what
serving returns. No PyTorch: onnxruntime and NumPy only.

The result answers "which threshold should the gate use?": for every threshold from 0.50
to 0.99, the share of images that would pass and the accuracy among them, plus the lowest
threshold that reaches a target accuracy.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from visiongate.imaging import normalize
from visiongate.model import metrics
from visiongate.model.datasets import load_dataset

EVAL_CHANNELS = ("test", "validation", "val", "train")
BATCH = 256


@dataclass
class Evaluation:
    """Every figure ``visiongate evaluate`` prints; ``to_json`` is the --json document."""

    model: str
    data: str
    classes: list[str]
    n: int
    accuracy: float
    ece: float
    nll: float
    per_class: dict[str, dict[str, Any]]
    confusion: list[list[int]]
    thresholds: list[dict[str, Any]]
    target_accuracy: float
    recommended_threshold: float | None
    gate_threshold: float
    gate: dict[str, Any]
    skipped: list[dict[str, str]] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "data": self.data,
            "classes": self.classes,
            "n": self.n,
            "accuracy": self.accuracy,
            "ece": self.ece,
            "nll": self.nll,
            "per_class": self.per_class,
            "confusion_matrix": {
                "rows": "true class",
                "columns": "predicted class",
                "matrix": self.confusion,
            },
            "thresholds": self.thresholds,
            "target_accuracy": self.target_accuracy,
            "recommended_threshold": self.recommended_threshold,
            "gate": {"threshold": self.gate_threshold, **self.gate},
            "skipped": self.skipped,
        }


def predict(
    model, images: np.ndarray, batch_size: int = BATCH
) -> tuple[np.ndarray, np.ndarray | None]:  # noqa: ANN001
    """Probabilities (and embeddings) for uint8 N×H×W×C images through a LoadedModel."""
    probs, embeds = [], []
    for start in range(0, len(images), batch_size):
        batch = np.stack([normalize(a, model.prep) for a in images[start : start + batch_size]])
        p, e = model.predict(batch)
        probs.append(p)
        if e is not None:
            embeds.append(e)
    return np.concatenate(probs), (np.concatenate(embeds) if embeds else None)


def evaluate(
    model_dir: str | Path,
    data: str | Path | None = None,
    *,
    manifest: str | Path | None = None,
    images: str | Path | None = None,
    target_accuracy: float = 0.97,
    gate_threshold: float = 0.75,
    settings=None,  # noqa: ANN001 - Settings
    console=None,  # noqa: ANN001 - rich Console for progress and warnings
) -> Evaluation:
    """Run the model over labelled images (any layout train accepts) and measure it."""
    from visiongate.serving.model import load_model_dir

    model = load_model_dir(model_dir)
    dataset = load_dataset(
        data,
        manifest=manifest,
        images=images,
        classes=model.classes,
        strict_classes=True,
        prep=model.prep,
        channels=EVAL_CHANNELS,
        min_classes=1,
        settings=settings,
        console=console,
    )
    probs, _ = predict(model, dataset.images)
    labels = dataset.labels
    matrix = metrics.confusion(probs.argmax(1), labels, len(model.classes))
    table = metrics.threshold_table(probs, labels)
    return Evaluation(
        model=str(model_dir),
        data=dataset.source,
        classes=list(model.classes),
        n=len(labels),
        accuracy=metrics.accuracy(probs, labels),
        ece=metrics.ece(probs, labels),
        nll=metrics.nll(probs, labels),
        per_class=metrics.per_class(matrix, list(model.classes)),
        confusion=matrix.tolist(),
        thresholds=table,
        target_accuracy=target_accuracy,
        recommended_threshold=metrics.recommend_threshold(table, target_accuracy),
        gate_threshold=gate_threshold,
        gate=metrics.gate(probs, labels, gate_threshold),
        skipped=[{"file": s.file, "reason": s.reason} for s in dataset.skipped],
    )
