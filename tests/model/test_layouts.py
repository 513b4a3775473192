"""Every layout train and evaluate accept, and the manifest format's rules.

SageMaker's image classifier reads ``.lst`` files of ``index<TAB>label<TAB>path`` lines,
with paths relative to the channel's image folder:
https://docs.aws.amazon.com/sagemaker/latest/dg/image-classification.html#IC-inputoutput
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from visiongate.config import load_settings
from visiongate.model.datasets import load_dataset
from visiongate.model.errors import LayoutNotRecognized, ManifestError
from visiongate.model.layouts import parse_label, parse_manifest
from visiongate.storage import open_store


def test_the_sagemaker_channel_layout_train_lst_beside_train(channel_dataset: Path) -> None:
    dataset = load_dataset(channel_dataset)
    assert dataset.layout == "manifest"
    assert dataset.classes == ["red", "blue"]
    assert dataset.counts() == {"red": 6, "blue": 6}
    assert dataset.images.shape == (12, 32, 32, 3)
    assert dataset.source.endswith("train.lst")


def test_a_held_out_test_lst_beside_test_works_as_is(tmp_path: Path) -> None:
    from tests.fixtures_model import write_synthetic_dataset

    root = write_synthetic_dataset(tmp_path / "held-out", per_class=3, channel="test")
    assert load_dataset(root, channels=("test",)).counts() == {"red": 3, "blue": 3}


def test_float_labels_as_sagemakers_im2rec_writes_them(channel_dataset: Path) -> None:
    lst = channel_dataset / "train.lst"
    lines = [line.split("\t") for line in lst.read_text().splitlines()]
    lst.write_text("".join(f"{i}\t{float(label):.6f}\t{path}\n" for i, label, path in lines))
    assert load_dataset(channel_dataset).counts() == {"red": 6, "blue": 6}


def test_the_manifest_file_itself_can_be_the_data(channel_dataset: Path) -> None:
    assert len(load_dataset(channel_dataset / "train.lst")) == 12


def test_an_explicit_manifest_and_image_folder(channel_dataset: Path, tmp_path: Path) -> None:
    elsewhere = tmp_path / "pics"
    shutil.move(channel_dataset / "train", elsewhere)
    dataset = load_dataset(manifest=channel_dataset / "train.lst", images=elsewhere)
    assert dataset.classes == ["red", "blue"]  # classes.json beside the manifest
    assert len(dataset) == 12


def test_manifest_and_images_go_together(channel_dataset: Path) -> None:
    with pytest.raises(LayoutNotRecognized, match="go together"):
        load_dataset(manifest=channel_dataset / "train.lst")


def test_one_folder_per_class(class_folders: Path) -> None:
    dataset = load_dataset(class_folders)
    assert dataset.layout == "class-folders"
    assert dataset.classes == ["blue", "red"]  # sorted folder names
    assert dataset.counts() == {"blue": 5, "red": 5}


def test_class_folders_follow_classes_json_order(class_folders: Path) -> None:
    (class_folders / "classes.json").write_text(json.dumps(["red", "blue"]))
    assert load_dataset(class_folders).classes == ["red", "blue"]


def test_a_prefix_in_the_object_store(channel_dataset: Path) -> None:
    store = open_store(load_settings())
    store.create_bucket("datasets")
    for path in sorted(channel_dataset.rglob("*")):
        if path.is_file():
            store.put(
                "datasets",
                f"bikes/{path.relative_to(channel_dataset).as_posix()}",
                path.read_bytes(),
            )
    dataset = load_dataset("s3://datasets/bikes")
    assert dataset.counts() == {"red": 6, "blue": 6}
    assert dataset.source == "s3://datasets/bikes/train.lst"


def test_several_manifests_pick_the_channel_asked_for(channel_dataset: Path) -> None:
    shutil.copy(channel_dataset / "train.lst", channel_dataset / "test.lst")
    shutil.copytree(channel_dataset / "train", channel_dataset / "test")
    assert load_dataset(channel_dataset, channels=("test",)).source.endswith("test.lst")
    with pytest.raises(LayoutNotRecognized, match="several manifests"):
        load_dataset(channel_dataset, channels=("validation",))


def test_a_folder_with_nothing_usable_is_explained(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("hello")
    with pytest.raises(LayoutNotRecognized) as caught:
        load_dataset(tmp_path)
    assert "train.lst" in (caught.value.hint or "")


def test_a_missing_folder_is_explained(tmp_path: Path) -> None:
    with pytest.raises(LayoutNotRecognized, match="not a directory"):
        load_dataset(tmp_path / "nope")


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("0\t1\tbike.png\textra", "3 tab-separated fields"),
        ("0 1 bike.png", "3 tab-separated fields"),
        ("0\tbicycle\tbike.png", "not a class number"),
        ("0\t1.5\tbike.png", "not a class number"),
        ("0\t-1\tbike.png", "not a class number"),
        ("0\tnan\tbike.png", "not a class number"),
        ("0\t1\t../secret.png", "leaves the image folder"),
        ("0\t1\t/etc/passwd", "leaves the image folder"),
        ("0\t1\t", "leaves the image folder"),
    ],
)
def test_malformed_manifest_lines_name_the_line(line: str, message: str) -> None:
    with pytest.raises(ManifestError, match=message) as caught:
        parse_manifest(f"0\t0\tok.png\n{line}\n", "train.lst")
    assert "line 2" in caught.value.message


def test_blank_lines_and_crlf_are_tolerated() -> None:
    entries = parse_manifest("0\t0\ta.png\r\n\n1\t1\tsub/b.png\r\n", "x.lst")
    assert [(e.path, e.label) for e in entries] == [("a.png", 0), ("sub/b.png", 1)]


def test_labels_as_integers_or_integral_floats() -> None:
    assert parse_label("1", "x") == 1
    assert parse_label("1.000000", "x") == 1
