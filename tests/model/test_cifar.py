"""The CIFAR-100 python archive: read safely, keep chosen classes, write the channel layout.

Format: https://www.cs.toronto.edu/~kriz/cifar.html ("python version": pickled dicts with
b"data" N×3072 uint8 planes R, G, B; b"fine_labels"; b"filenames"; meta b"fine_label_names").
The tests build a small archive in exactly that format.
"""

from __future__ import annotations

import io
import json
import os
import pickle
import tarfile
from pathlib import Path

import numpy as np
import pytest

from visiongate.config import load_settings
from visiongate.model import cifar
from visiongate.model.datasets import load_dataset
from visiongate.model.errors import ArchiveError, DownloadError, UnknownClass, UnsafePickle
from visiongate.storage import open_store

FINE = ["apple", "bicycle", "cloud", "motorcycle"]


def split_pickle(labels: list[int], seed: int, protocol: int = 2) -> bytes:
    rng = np.random.default_rng(seed)
    data = rng.integers(0, 256, size=(len(labels), 3072), dtype=np.uint8)
    data[:, 0] = np.asarray(labels) * 60  # first red pixel encodes the label, to check planes
    record = {
        b"filenames": [f"thing_s_{seed}{i:04d}.png".encode() for i in range(len(labels))],
        b"batch_label": b"training batch 1 of 1",
        b"fine_labels": labels,
        b"coarse_labels": [0] * len(labels),
        b"data": data,
    }
    return pickle.dumps(record, protocol=protocol)


def write_archive(path: Path, members: dict[str, bytes]) -> Path:
    with tarfile.open(path, "w:gz") as tar:
        for name, payload in members.items():
            info = tarfile.TarInfo(f"cifar-100-python/{name}")
            info.size = len(payload)
            tar.addfile(info, io.BytesIO(payload))
    return path


@pytest.fixture
def archive(tmp_path: Path) -> Path:
    meta = pickle.dumps(
        {b"fine_label_names": [n.encode() for n in FINE], b"coarse_label_names": [b"x"]}, protocol=2
    )
    return write_archive(
        tmp_path / "cifar-100-python.tar.gz",
        {
            "meta": meta,
            "train": split_pickle([0, 1, 3, 1, 2, 3, 1, 3], seed=1),
            "test": split_pickle([1, 3, 0, 3], seed=2, protocol=pickle.HIGHEST_PROTOCOL),
        },
    )


def test_read_archive_decodes_planes_into_rgb_images(archive: Path) -> None:
    names, splits = cifar.read_archive(archive)
    assert names == FINE
    train = splits["train"]
    assert train.images.shape == (8, 32, 32, 3)
    assert list(train.labels) == [0, 1, 3, 1, 2, 3, 1, 3]
    assert train.images[2, 0, 0, 0] == 3 * 60  # red plane, first pixel
    assert train.filenames[0] == "thing_s_10000.png"


def test_build_writes_the_channel_layout_into_the_store(archive: Path) -> None:
    summary = cifar.build_dataset(archive, "s3://datasets/bikes", ["bicycle", "motorcycle"])
    assert summary["splits"]["train"] == {"n": 6, "per_class": {"bicycle": 3, "motorcycle": 3}}
    assert summary["splits"]["test"]["n"] == 3
    store = open_store(load_settings())
    assert json.loads(store.get("datasets", "bikes/classes.json")) == ["bicycle", "motorcycle"]
    first = store.get("datasets", "bikes/train.lst").decode().splitlines()[0]
    assert first == "1\t0\tthing_s_10001.png"  # original index, new label, file name
    train = load_dataset("s3://datasets/bikes")
    assert train.counts() == {"bicycle": 3, "motorcycle": 3}
    test = load_dataset("s3://datasets/bikes", channels=("test",))
    assert test.counts() == {"bicycle": 1, "motorcycle": 2}
    assert int(train.images[train.files.index("train/thing_s_10002.png"), 0, 0, 0]) == 180


def test_build_into_a_local_folder(archive: Path, tmp_path: Path) -> None:
    cifar.build_dataset(archive, str(tmp_path / "out"), ["motorcycle", "apple"])
    assert load_dataset(tmp_path / "out").counts() == {"motorcycle": 3, "apple": 1}


def test_unknown_class_names_are_refused_with_examples(archive: Path) -> None:
    with pytest.raises(UnknownClass, match="no class tractor") as caught:
        cifar.build_dataset(archive, "s3://datasets/x", ["bicycle", "tractor"])
    assert "apple" in (caught.value.hint or "")


class Exploit:
    def __reduce__(self):  # noqa: ANN204 - the classic pickle payload
        return (os.system, ("echo pwned > /tmp/visiongate-pwned",))


def test_a_malicious_pickle_is_rejected_before_running_anything(tmp_path: Path) -> None:
    bad = write_archive(
        tmp_path / "evil.tar.gz",
        {"meta": pickle.dumps({b"fine_label_names": [Exploit()]}), "train": b"", "test": b""},
    )
    with pytest.raises(UnsafePickle, match="system"):
        cifar.read_archive(bad)
    assert not Path("/tmp/visiongate-pwned").exists()


@pytest.mark.parametrize(
    "payload", [pickle.dumps(eval), pickle.dumps(getattr), pickle.dumps(np.load)]
)
def test_only_array_constructors_may_be_named(payload: bytes) -> None:
    with pytest.raises(UnsafePickle):
        cifar.safe_loads(payload)


@pytest.mark.parametrize(
    ("members", "message"),
    [
        ({"meta": b"garbage"}, "corrupt"),
        ({"meta": pickle.dumps([1, 2])}, "does not hold a dict"),
        ({"meta": pickle.dumps({b"fine_label_names": [b"a"]})}, "no cifar-100-python/train"),
    ],
)
def test_malformed_archives_are_archive_errors(tmp_path: Path, members: dict, message: str) -> None:
    with pytest.raises(ArchiveError, match=message):
        cifar.read_archive(write_archive(tmp_path / "bad.tar.gz", members))


def test_wrong_array_shapes_are_refused() -> None:
    record = {
        b"data": np.zeros((2, 100), np.uint8),
        b"fine_labels": [0, 1],
        b"filenames": [b"a", b"b"],
    }
    with pytest.raises(ArchiveError, match="3072"):
        cifar.parse_split(pickle.dumps(record), "train")
    record = {
        b"data": np.zeros((2, 3072), np.uint8),
        b"fine_labels": [0, 100],
        b"filenames": [b"a", b"b"],
    }
    with pytest.raises(ArchiveError, match="labels in 0..99"):
        cifar.parse_split(pickle.dumps(record), "train")


def test_not_a_tar_file(tmp_path: Path) -> None:
    path = tmp_path / "x.tar.gz"
    path.write_bytes(b"hello")
    with pytest.raises(ArchiveError, match="not a readable"):
        cifar.read_archive(path)
    with pytest.raises(ArchiveError, match="does not exist"):
        cifar.read_archive(tmp_path / "missing.tar.gz")


def test_file_names_from_the_archive_cannot_escape_the_folder() -> None:
    from visiongate.model.writer import safe_filename

    assert safe_filename("../../etc/passwd", "x") == "passwd.png"
    assert safe_filename("a b/..\\c.png", "x") == "c.png"
    assert safe_filename("..", "fallback") == "fallback.png"


def test_download_fails_cleanly_when_the_server_cannot_be_reached(tmp_path: Path) -> None:
    import socket

    with socket.socket() as probe:  # a local port nobody listens on: connection refused
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(DownloadError, match="cannot download") as caught:
        cifar.download(tmp_path / "cache", url=f"http://127.0.0.1:{port}/cifar.tar.gz", timeout=5)
    assert "--archive" in (caught.value.hint or "")
    assert not list((tmp_path / "cache").iterdir())


def test_the_cli_builds_the_dataset(archive: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from visiongate.cli.main import main

    with pytest.raises(SystemExit) as exit_info:
        main(["dataset", "cifar100", "--archive", str(archive), "--out", "s3://datasets/bikes"])
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    assert "train" in out and "bicycle: 3" in out
    assert load_dataset("s3://datasets/bikes").counts() == {"bicycle": 3, "motorcycle": 3}
