"""``evaluate``: metrics on held-out images through the served ONNX graph, and the threshold table."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from visiongate.cli.main import main
from visiongate.model.errors import UnknownClass
from visiongate.model.evaluate import evaluate


def test_evaluate_on_a_held_out_test_lst_beside_test(
    tiny_model_dir: Path, tiny_test_data: Path
) -> None:
    result = evaluate(tiny_model_dir, tiny_test_data)
    assert result.data.endswith("test.lst")  # test.lst preferred over train.lst
    assert result.n == 16
    assert result.accuracy >= 0.9  # red vs blue is easy even for two epochs
    assert set(result.per_class) == {"red", "blue"}
    assert sum(map(sum, result.confusion)) == 16
    assert [row["threshold"] for row in result.thresholds][:3] == [0.5, 0.51, 0.52]
    assert result.gate_threshold == 0.75
    assert 0.0 <= result.ece <= 1.0


def test_json_output_has_the_documented_fields(
    tiny_model_dir: Path, tiny_test_data: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["evaluate", "--model", str(tiny_model_dir), "--data", str(tiny_test_data), "--json"])
    assert exit_info.value.code == 0
    report = json.loads(capsys.readouterr().out)
    assert {"accuracy", "n", "ece", "per_class", "thresholds"} <= set(report)
    assert report["n"] == 16
    assert set(report["thresholds"][0]) >= {"threshold", "coverage", "accuracy"}
    assert report["per_class"]["red"]["support"] == 8
    assert report["target_accuracy"] == 0.97
    assert report["confusion_matrix"]["matrix"]


def test_tables_and_the_recommended_threshold(
    tiny_model_dir: Path, tiny_test_data: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(
            [
                "evaluate",
                "--model",
                str(tiny_model_dir),
                "--data",
                str(tiny_test_data),
                "--target-accuracy",
                "0.9",
            ]
        )
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    assert "confidence gate" in out and "per class" in out and "recommended threshold" in out


def test_class_folders_named_like_the_model_classes(
    tiny_model_dir: Path, tiny_test_data: Path, tmp_path: Path
) -> None:
    for name in ("red", "blue"):
        (tmp_path / name).mkdir()
        for path in (tiny_test_data / "test").glob(f"{name}_*.png"):
            shutil.copy(path, tmp_path / name / path.name)
    assert evaluate(tiny_model_dir, tmp_path).n == 16
    (tmp_path / "green").mkdir()
    shutil.copy(next((tiny_test_data / "test").glob("red_*.png")), tmp_path / "green" / "x.png")
    with pytest.raises(UnknownClass, match="green"):
        evaluate(tiny_model_dir, tmp_path)


def test_a_missing_model_directory_is_one_clean_line(
    tmp_path: Path, tiny_test_data: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["evaluate", "--model", str(tmp_path / "nope"), "--data", str(tiny_test_data)])
    assert exit_info.value.code != 0
    err = " ".join(capsys.readouterr().err.split())  # Rich wraps long lines
    assert "does not exist" in err and "Traceback" not in err
