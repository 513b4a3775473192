"""The CLI: dataset building, training and their error messages (one line, with a hint)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.fixtures_model import write_synthetic_dataset
from visiongate.cli.main import main
from visiongate.config import load_settings
from visiongate.storage import open_store


def run(argv: list[str]) -> int:
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    return int(exit_info.value.code or 0)


def test_dataset_digits_writes_the_channel_layout_into_a_folder(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(["dataset", "digits", "--out", str(tmp_path / "digits")]) == 0
    assert json.loads((tmp_path / "digits" / "classes.json").read_text()) == [
        str(d) for d in range(10)
    ]
    train = (tmp_path / "digits" / "train.lst").read_text().splitlines()
    test = (tmp_path / "digits" / "test.lst").read_text().splitlines()
    assert len(train) + len(test) == 1797 and 340 <= len(test) <= 380
    first = train[0].split("\t")
    assert (tmp_path / "digits" / "train" / first[2]).is_file()
    assert "1438" in capsys.readouterr().out


def test_train_from_the_store_with_the_fast_preset(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = write_synthetic_dataset(tmp_path / "data", per_class=12)
    store = open_store(load_settings())
    store.create_bucket("datasets")
    for path in data.rglob("*"):
        if path.is_file():
            store.put(
                "datasets", f"synthetic/{path.relative_to(data).as_posix()}", path.read_bytes()
            )
    code = run(
        [
            "train",
            "--data",
            "s3://datasets/synthetic",
            "--out",
            str(tmp_path / "model"),
            "--preset",
            "fast",
            "--epochs",
            "1",
            "--threads",
            "1",
            "--val-fraction",
            "0.25",
            "--float32",
            "--flip-tta",
            "--activation",
            "relu",
        ]
    )
    assert code == 0
    meta = json.loads((tmp_path / "model" / "model.json").read_text())
    assert meta["hyperparameters"]["int8"] is False and meta["architecture"]["flip_tta"] is True
    assert meta["architecture"]["activation"] == "relu"
    assert meta["dataset"]["source"] == "s3://datasets/synthetic/train.lst"
    assert meta["hyperparameters"]["epochs"] == 1
    assert "validation accuracy" in capsys.readouterr().out


def test_no_color_augment_turns_off_grey_and_channel_shuffle(tmp_path: Path) -> None:
    data = write_synthetic_dataset(tmp_path / "data", per_class=8)
    common = ["train", "--data", str(data), "--epochs", "1", "--threads", "1", "--float32"]
    assert run([*common, "--out", str(tmp_path / "plain"), "--no-color-augment"]) == 0
    assert run([*common, "--out", str(tmp_path / "colour")]) == 0
    plain = json.loads((tmp_path / "plain" / "model.json").read_text())["hyperparameters"]
    colour = json.loads((tmp_path / "colour" / "model.json").read_text())["hyperparameters"]
    assert (plain["grayscale"], plain["channel_shuffle"]) == (0.0, 0.0)
    assert (colour["grayscale"], colour["channel_shuffle"]) == (0.25, 0.5)


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["train", "--out", "m"], "no data given"),
        (["train", "--data", ".", "--out", "m", "--activation", "tanh"], "is not gelu or relu"),
        (["train", "--data", "/no/such/folder", "--out", "m"], "not a directory"),
        (["train", "--data", "s3://no-such-bucket/x", "--out", "m"], "does not exist"),
        (["train", "--data", ".", "--out", "m", "--epochs", "0"], "epochs 0 < 1"),
        (["train", "--data", ".", "--out", "m", "--preset", "turbo"], "unknown preset"),
        (["dataset", "cifar100", "--out", "s3://d/x"], "--archive"),
        (
            ["dataset", "cifar100", "--out", "s3://d/x", "--archive", "/no/such.tar.gz"],
            "does not exist",
        ),
    ],
)
def test_errors_are_one_clean_line(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(argv) == 2
    err = " ".join(capsys.readouterr().err.split())  # Rich wraps long lines
    assert "error:" in err and message in err and "Traceback" not in err


def test_corrupt_images_are_named_on_the_console(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = write_synthetic_dataset(tmp_path / "data", per_class=8)
    (data / "train" / "red_003.png").write_bytes(b"\x89PNG\r\n\x1a\nbroken")
    code = run(
        [
            "train",
            "--data",
            str(data),
            "--out",
            str(tmp_path / "m"),
            "--preset",
            "fast",
            "--epochs",
            "1",
            "--threads",
            "1",
            "--val-fraction",
            "0.25",
        ]
    )
    assert code == 0
    captured = capsys.readouterr()
    assert "red_003.png" in " ".join(captured.err.split())
    meta = json.loads((tmp_path / "m" / "model.json").read_text())
    assert meta["dataset"]["skipped"][0]["file"].endswith("red_003.png")
