"""Loading: corrupt images are reported and skipped; broken datasets are clear errors."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from rich.console import Console

from visiongate.imaging import Preprocessing
from visiongate.model.datasets import load_dataset
from visiongate.model.errors import EmptyDataset, MissingImages, SingleClass, UnknownClass


def test_corrupt_images_are_reported_with_file_and_reason_then_skipped(
    channel_dataset: Path,
) -> None:
    (channel_dataset / "train" / "red_000.png").write_bytes(b"not a png at all")
    truncated = channel_dataset / "train" / "blue_001.png"
    truncated.write_bytes(truncated.read_bytes()[:60])
    console = Console(record=True, width=200)
    dataset = load_dataset(channel_dataset, console=console)
    assert len(dataset) == 10
    reasons = {Path(s.file).name: s.reason for s in dataset.skipped}
    assert set(reasons) == {"red_000.png", "blue_001.png"}
    assert "not a recognised image" in reasons["red_000.png"]
    assert "truncated" in reasons["blue_001.png"] or "corrupt" in reasons["blue_001.png"]
    printed = console.export_text()
    assert "red_000.png" in printed and "blue_001.png" in printed and "warning" in printed
    assert dataset.summary()["skipped"][0]["reason"]


def test_files_listed_but_absent_are_an_error_naming_them(channel_dataset: Path) -> None:
    (channel_dataset / "train" / "red_002.png").unlink()
    (channel_dataset / "train" / "blue_004.png").unlink()
    with pytest.raises(MissingImages, match="2 of 12 files") as caught:
        load_dataset(channel_dataset)
    assert "red_002.png" in caught.value.message and "blue_004.png" in caught.value.message
    assert caught.value.hint


def test_one_class_only_cannot_train(channel_dataset: Path) -> None:
    lst = channel_dataset / "train.lst"
    lst.write_text("".join(line + "\n" for line in lst.read_text().splitlines() if "\t0\t" in line))
    with pytest.raises(SingleClass, match="at least 2") as caught:
        load_dataset(channel_dataset)
    assert "red" in caught.value.message
    assert len(load_dataset(channel_dataset, min_classes=1)) == 6  # evaluation may use one class


def test_one_class_left_after_skipping_corrupt_images_is_caught(channel_dataset: Path) -> None:
    for path in (channel_dataset / "train").glob("blue_*.png"):
        path.write_bytes(b"garbage")
    with pytest.raises(SingleClass):
        load_dataset(channel_dataset)


def test_unknown_class_names_list_the_known_ones(channel_dataset: Path) -> None:
    with pytest.raises(UnknownClass, match="green") as caught:
        load_dataset(channel_dataset, classes=["red", "green"])
    assert "red, blue" in caught.value.message


def test_classes_pick_and_reorder_by_name(channel_dataset: Path) -> None:
    dataset = load_dataset(channel_dataset, classes=["blue", "red"])
    assert dataset.classes == ["blue", "red"]
    first_blue = dataset.files.index("train/blue_000.png")
    assert dataset.labels[first_blue] == 0


def test_without_classes_json_labels_are_named_by_number_or_by_classes(
    channel_dataset: Path,
) -> None:
    (channel_dataset / "classes.json").unlink()
    assert load_dataset(channel_dataset).classes == ["0", "1"]
    assert load_dataset(channel_dataset, classes=["bicycle", "motorcycle"]).classes == [
        "bicycle",
        "motorcycle",
    ]
    with pytest.raises(UnknownClass, match="names 3 classes"):
        load_dataset(channel_dataset, classes=["a", "b", "c"])


def test_a_label_beyond_classes_json_is_an_error(channel_dataset: Path) -> None:
    (channel_dataset / "classes.json").write_text(json.dumps(["red"]))
    with pytest.raises(UnknownClass, match="label 1"):
        load_dataset(channel_dataset)


def test_evaluation_refuses_classes_the_model_does_not_know(channel_dataset: Path) -> None:
    with pytest.raises(UnknownClass, match="model does not know"):
        load_dataset(channel_dataset, classes=["red", "green"], strict_classes=True)
    mapped = load_dataset(channel_dataset, classes=["blue", "red"], strict_classes=True)
    assert mapped.labels[mapped.files.index("train/red_000.png")] == 1


def test_an_empty_manifest_is_an_empty_dataset(channel_dataset: Path) -> None:
    (channel_dataset / "train.lst").write_text("\n")
    with pytest.raises(EmptyDataset):
        load_dataset(channel_dataset)


def test_all_images_unreadable_is_an_empty_dataset(channel_dataset: Path) -> None:
    for path in (channel_dataset / "train").glob("*.png"):
        path.write_bytes(b"")
    with pytest.raises(EmptyDataset, match="could be decoded"):
        load_dataset(channel_dataset)


def test_larger_and_grayscale_images_are_resized_and_converted(class_folders: Path) -> None:
    from PIL import Image

    Image.new("L", (64, 48), 128).save(class_folders / "red" / "big-gray.png")
    dataset = load_dataset(class_folders, prep=Preprocessing(24, 24))
    assert dataset.images.shape == (11, 24, 24, 3)
    index = dataset.files.index("red/big-gray.png")
    assert dataset.stats["width"][index] == 64 and dataset.stats["height"][index] == 48
    assert np.all(dataset.images[index] == 128)


def test_the_fingerprint_changes_with_pixels_and_labels(channel_dataset: Path) -> None:
    first = load_dataset(channel_dataset).fingerprint
    assert load_dataset(channel_dataset).fingerprint == first
    lst = channel_dataset / "train.lst"
    lst.write_text(lst.read_text().replace("\t0\tred_000", "\t1\tred_000"))
    assert load_dataset(channel_dataset).fingerprint != first
