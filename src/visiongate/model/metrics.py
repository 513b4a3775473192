"""Classification metrics on predicted probabilities — NumPy only, shared by train and evaluate.

The confidence gate passes an image when its top probability is at least the threshold
(the reference ``valid_confidence`` Lambda tests ``>= THRESHOLD``), so the threshold table
reports, for each threshold, the share of images that pass (*coverage*) and the accuracy
among them.
"""

from __future__ import annotations

from typing import Any

import numpy as np

THRESHOLDS = tuple(round(0.50 + 0.01 * i, 2) for i in range(50))  # 0.50 .. 0.99
ECE_BINS = 10


def accuracy(probs: np.ndarray, labels: np.ndarray) -> float:
    return float((probs.argmax(1) == labels).mean()) if len(labels) else float("nan")


def nll(probs: np.ndarray, labels: np.ndarray) -> float:
    picked = probs[np.arange(len(labels)), labels]
    return float(-np.log(np.clip(picked, 1e-12, 1.0)).mean()) + 0.0  # no "-0.0"


def ece(probs: np.ndarray, labels: np.ndarray, bins: int = ECE_BINS) -> float:
    """Expected calibration error: |accuracy - confidence| per equal-width bin, weighted."""
    confidence = probs.max(1)
    correct = probs.argmax(1) == labels
    edges = np.linspace(0.0, 1.0, bins + 1)
    which = np.clip(np.searchsorted(edges, confidence, side="left") - 1, 0, bins - 1)
    total = 0.0
    for b in range(bins):
        members = which == b
        if members.any():
            total += members.mean() * abs(correct[members].mean() - confidence[members].mean())
    return float(total)


def confusion(predicted: np.ndarray, labels: np.ndarray, num_classes: int) -> np.ndarray:
    """rows = true class, columns = predicted class."""
    matrix = np.zeros((num_classes, num_classes), dtype=np.int64)
    np.add.at(matrix, (labels, predicted), 1)
    return matrix


def per_class(matrix: np.ndarray, classes: list[str]) -> dict[str, dict[str, Any]]:
    """Precision, recall and support per class (None where undefined)."""
    out = {}
    for i, name in enumerate(classes):
        tp = int(matrix[i, i])
        predicted, actual = int(matrix[:, i].sum()), int(matrix[i].sum())
        out[name] = {
            "precision": tp / predicted if predicted else None,
            "recall": tp / actual if actual else None,
            "support": actual,
        }
    return out


def threshold_table(
    probs: np.ndarray, labels: np.ndarray, thresholds: tuple[float, ...] = THRESHOLDS
) -> list[dict[str, Any]]:
    """For each threshold: coverage (share passing) and accuracy among those passing."""
    confidence = probs.max(1)
    correct = probs.argmax(1) == labels
    rows = []
    for t in thresholds:
        passing = confidence >= t
        count = int(passing.sum())
        rows.append(
            {
                "threshold": t,
                "coverage": count / len(labels) if len(labels) else 0.0,
                "accuracy": float(correct[passing].mean()) if count else None,
                "passed": count,
            }
        )
    return rows


def recommend_threshold(table: list[dict[str, Any]], target_accuracy: float) -> float | None:
    """The lowest threshold (largest coverage) whose passing images reach the target accuracy."""
    for row in table:
        if row["accuracy"] is not None and row["accuracy"] >= target_accuracy:
            return float(row["threshold"])
    return None


def gate(probs: np.ndarray, labels: np.ndarray, threshold: float) -> dict[str, Any]:
    """Coverage and accuracy among passing images at one threshold."""
    return threshold_table(probs, labels, (threshold,))[0]
