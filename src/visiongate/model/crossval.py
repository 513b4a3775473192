"""An honest estimate of held-out accuracy: k-fold cross-validation of the whole recipe.

Each fold's held-out images are never seen by anything — not training, not the internal
validation split, not temperature fitting — exactly like a test set you do not have.
Within the other folds the normal pipeline runs unchanged (its own stratified validation
split, calibration on it), so the estimate covers the recipe, not one lucky model.
Report the mean ± std over folds × seeds, as airbench does.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import torch

from visiongate.model import metrics
from visiongate.model.calibrate import fit_temperature
from visiongate.model.datasets import Dataset
from visiongate.model.hyperparameters import TrainConfig
from visiongate.model.train import predict_logits, to_tensor, train_network


@dataclass
class FoldResult:
    seed: int
    fold: int
    accuracy: float
    ece: float
    coverage_075: float
    accuracy_075: float | None
    temperature: float
    seconds: float


def stratified_folds(labels: np.ndarray, k: int, seed: int) -> list[np.ndarray]:
    """k disjoint index sets, each holding ~1/k of every class."""
    rng = np.random.default_rng(seed)
    folds: list[list[int]] = [[] for _ in range(k)]
    for label in np.unique(labels):
        members = rng.permutation(np.flatnonzero(labels == label))
        for i, index in enumerate(members):
            folds[i % k].append(int(index))
    return [np.sort(np.asarray(f, dtype=np.int64)) for f in folds]


def run_fold(dataset: Dataset, held_out: np.ndarray, config: TrainConfig, fold: int) -> FoldResult:
    keep = np.setdiff1d(np.arange(len(dataset)), held_out)
    started = time.perf_counter()
    trained = train_network(dataset.subset(keep), config)
    seconds = time.perf_counter() - started
    x_val = to_tensor(dataset.images[keep][trained.val_index], trained.prep)
    y_val = torch.from_numpy(dataset.labels[keep][trained.val_index])
    temperature = fit_temperature(predict_logits(trained.net, x_val, config.flip_tta), y_val)
    logits = predict_logits(
        trained.net, to_tensor(dataset.images[held_out], trained.prep), config.flip_tta
    )
    probs = torch.softmax(logits / temperature, 1).numpy()
    labels = dataset.labels[held_out]
    gate = metrics.gate(probs, labels, 0.75)
    return FoldResult(
        config.seed,
        fold,
        metrics.accuracy(probs, labels),
        metrics.ece(probs, labels),
        gate["coverage"],
        gate["accuracy"],
        temperature,
        seconds,
    )


def cross_validate(
    dataset: Dataset,
    config: TrainConfig,
    folds: int = 5,
    seeds: int = 1,
    report=None,  # noqa: ANN001 - called with each FoldResult as it finishes
) -> list[FoldResult]:
    """``folds``-fold CV repeated with ``seeds`` different splits and training seeds."""
    results = []
    for s in range(seeds):
        seeded = replace(config, seed=config.seed + s)
        for f, held_out in enumerate(stratified_folds(dataset.labels, folds, 1000 + seeded.seed)):
            result = run_fold(dataset, held_out, replace(seeded, seed=seeded.seed * 100 + f), f)
            results.append(result)
            if report is not None:
                report(result)
    return results


def summarize(results: list[FoldResult]) -> dict[str, Any]:
    """Mean and std of each figure over all folds and seeds."""
    out: dict[str, Any] = {"runs": len(results)}
    for name in ("accuracy", "ece", "coverage_075", "accuracy_075", "temperature", "seconds"):
        values = np.asarray([getattr(r, name) for r in results if getattr(r, name) is not None])
        out[name] = (
            {"mean": float(values.mean()), "std": float(values.std())} if len(values) else None
        )
    return out
