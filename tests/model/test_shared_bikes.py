"""The reference data in ../shared loads as-is (skips when the folder is absent)."""

from __future__ import annotations

from pathlib import Path

import pytest

from visiongate.model.datasets import load_dataset

pytestmark = pytest.mark.shared


def test_cifar100_bikes_loads_in_its_sagemaker_layout(cifar_bikes: Path) -> None:
    dataset = load_dataset(cifar_bikes, classes=["bicycle", "motorcycle"])
    assert dataset.counts() == {"bicycle": 500, "motorcycle": 500}
    assert dataset.images.shape == (1000, 32, 32, 3)
    assert dataset.skipped == []
    assert dataset.source.endswith("train.lst")


def test_without_names_the_labels_are_numbers(cifar_bikes: Path) -> None:
    assert load_dataset(cifar_bikes).classes == ["0", "1"]
