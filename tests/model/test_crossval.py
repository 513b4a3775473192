"""Cross-validation keeps each fold's images away from everything that trains or calibrates."""

from __future__ import annotations

import numpy as np

from tests.fixtures_model import tiny_config, write_synthetic_dataset
from visiongate.model.crossval import cross_validate, stratified_folds, summarize
from visiongate.model.datasets import load_dataset


def test_folds_are_disjoint_cover_everything_and_are_stratified() -> None:
    labels = np.array([0] * 20 + [1] * 10)
    folds = stratified_folds(labels, 5, seed=0)
    joined = np.concatenate(folds)
    assert sorted(joined.tolist()) == list(range(30))
    assert all(np.bincount(labels[f]).tolist() == [4, 2] for f in folds)


def test_cross_validation_reports_mean_and_std(tmp_path) -> None:  # noqa: ANN001
    dataset = load_dataset(write_synthetic_dataset(tmp_path, per_class=10))
    results = cross_validate(dataset, tiny_config(epochs=1), folds=2, seeds=1)
    assert [r.fold for r in results] == [0, 1]
    summary = summarize(results)
    assert summary["runs"] == 2 and 0.0 <= summary["accuracy"]["mean"] <= 1.0
