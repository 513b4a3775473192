"""Metrics on probabilities: ECE (10 equal-width bins), the threshold table, the recommendation."""

from __future__ import annotations

import numpy as np
import pytest

from visiongate.model import metrics


def probs_for(confidences: list[float], predicted: list[int]) -> np.ndarray:
    out = np.zeros((len(confidences), 2))
    for i, (c, p) in enumerate(zip(confidences, predicted, strict=True)):
        out[i, p], out[i, 1 - p] = c, 1 - c
    return out


def test_ece_of_a_perfectly_calibrated_bin_is_zero() -> None:
    probs = probs_for([0.8] * 10, [0] * 10)
    labels = np.array([0] * 8 + [1] * 2)  # 80% right at 80% confidence
    assert metrics.ece(probs, labels) == pytest.approx(0.0)


def test_ece_weights_each_bin_by_its_share() -> None:
    probs = probs_for([0.95] * 5 + [0.65] * 5, [0] * 10)
    labels = np.array([0] * 5 + [0, 0, 1, 1, 1])  # bin 0.9-1: 100% vs .95; bin .6-.7: 40% vs .65
    assert metrics.ece(probs, labels) == pytest.approx(0.5 * 0.05 + 0.5 * 0.25)


def test_threshold_table_reports_coverage_and_accuracy_of_passing_images() -> None:
    probs = probs_for([0.99, 0.9, 0.8, 0.6], [0, 0, 0, 0])
    labels = np.array([0, 0, 1, 1])
    table = {row["threshold"]: row for row in metrics.threshold_table(probs, labels)}
    assert len(table) == 50 and min(table) == 0.5 and max(table) == 0.99
    assert table[0.5] == {"threshold": 0.5, "coverage": 1.0, "accuracy": 0.5, "passed": 4}
    assert table[0.8]["coverage"] == 0.75 and table[0.8]["accuracy"] == pytest.approx(2 / 3)
    assert table[0.9] == {"threshold": 0.9, "coverage": 0.5, "accuracy": 1.0, "passed": 2}


def test_the_gate_passes_at_exactly_the_threshold() -> None:
    # The reference Lambda keeps an inference when it is >= THRESHOLD.
    assert metrics.gate(probs_for([0.75], [1]), np.array([1]), 0.75)["coverage"] == 1.0


def test_recommended_threshold_is_the_lowest_reaching_the_target() -> None:
    probs = probs_for([0.99, 0.9, 0.8, 0.6], [0, 0, 0, 0])
    table = metrics.threshold_table(probs, np.array([0, 0, 1, 1]))
    assert metrics.recommend_threshold(table, 0.97) == 0.81
    assert metrics.recommend_threshold(table, 0.5) == 0.5
    none_pass = metrics.threshold_table(probs_for([0.6], [0]), np.array([1]))
    assert metrics.recommend_threshold(none_pass, 0.9) is None


def test_confusion_and_per_class() -> None:
    matrix = metrics.confusion(np.array([0, 1, 1, 1]), np.array([0, 0, 1, 1]), 3)
    assert matrix.tolist() == [[1, 1, 0], [0, 2, 0], [0, 0, 0]]
    per = metrics.per_class(matrix, ["a", "b", "c"])
    assert per["a"] == {"precision": 1.0, "recall": 0.5, "support": 2}
    assert per["b"]["precision"] == pytest.approx(2 / 3) and per["b"]["recall"] == 1.0
    assert per["c"] == {"precision": None, "recall": None, "support": 0}
