"""Training writes a complete, self-describing model directory (team/MODEL_DIR.md)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from tests.fixtures_model import tiny_config, write_synthetic_dataset
from visiongate.model.errors import TrainingError
from visiongate.model.hyperparameters import PRESETS, TrainConfig, config_from
from visiongate.model.machine import busy_cores, pick_threads
from visiongate.model.package import train_model
from visiongate.model.train import stratified_split


def test_the_model_directory_holds_every_file(tiny_model_dir: Path) -> None:
    for name in ("model.onnx", "model.json", "baseline.json", "training_curve.png"):
        assert (tiny_model_dir / name).is_file(), name
    assert (tiny_model_dir / "training_curve.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert not list(tiny_model_dir.glob(".*tmp"))


def test_model_json_has_every_field_of_the_contract(tiny_model_dir: Path) -> None:
    meta = json.loads((tiny_model_dir / "model.json").read_text())
    assert meta["format_version"] == 1
    assert meta["name"] == "tiny-model"
    assert meta["created_at"].endswith("Z")
    assert meta["classes"] == ["red", "blue"]
    assert {"height", "width", "channels", "mean", "std"} <= set(meta["input"])
    assert meta["outputs"]["probabilities"] == "probabilities"
    assert meta["outputs"]["embedding"] == "embedding"
    assert meta["temperature"] > 0
    assert meta["architecture"]["widths"] == [8, 8, 16]
    assert meta["hyperparameters"]["epochs"] == 3 and meta["hyperparameters"]["seed"] == 0
    for key in ("val_accuracy", "val_ece", "val_nll", "train_seconds"):
        assert isinstance(meta["metrics"][key], float), key
    assert meta["metrics"]["onnx_parity"] < 1e-4
    assert 0.5 <= meta["threshold"]["recommended"] <= 0.99
    assert meta["threshold"]["target_accuracy"] == 0.97
    assert meta["dataset"]["fingerprint"].startswith("sha256:")
    assert meta["dataset"]["n_train"] + meta["dataset"]["n_val"] == 48
    assert set(meta["versions"]) >= {"python", "torch", "onnx", "onnxruntime", "visiongate"}


def test_baseline_json_describes_validation_traffic(tiny_model_dir: Path) -> None:
    baseline = json.loads((tiny_model_dir / "baseline.json").read_text())
    meta = json.loads((tiny_model_dir / "model.json").read_text())
    n_val = meta["dataset"]["n_val"]
    assert baseline["n"] == n_val and baseline["classes"] == ["red", "blue"]
    assert sum(baseline["class_mix"]) == pytest.approx(1.0)
    assert len(baseline["confidence"]) == n_val and all(
        0.5 <= c <= 1 for c in baseline["confidence"]
    )
    stats = baseline["image_stats"]
    assert set(stats) == {"brightness", "contrast", "width", "height"}
    assert len(stats["brightness"]) == 48 and set(stats["width"]) == {32.0}
    assert len(baseline["embedding"]["mean"]) == 16
    assert len(baseline["embedding"]["distances"]) == n_val


def test_the_model_server_loads_it_without_torch(tiny_model_dir: Path) -> None:
    from visiongate.serving.model import load_model_dir

    model = load_model_dir(tiny_model_dir, threads=1)
    probs, embedding = model.predict(np.zeros((3, 3, 32, 32), np.float32))
    assert probs.shape == (3, 2) and embedding is not None and embedding.shape == (3, 16)


def test_the_same_seed_gives_the_same_model(tmp_path: Path) -> None:
    data = write_synthetic_dataset(tmp_path / "data", per_class=10)
    config = tiny_config(epochs=1)
    first = train_model(data, tmp_path / "a", config).model
    second = train_model(data, tmp_path / "b", config).model
    for key in ("val_accuracy", "val_nll", "val_ece"):
        assert first["metrics"][key] == second["metrics"][key]
    assert first["temperature"] == second["temperature"]
    assert (tmp_path / "a" / "baseline.json").read_text() == (
        tmp_path / "b" / "baseline.json"
    ).read_text()
    other = train_model(data, tmp_path / "c", tiny_config(epochs=1, seed=1)).model
    assert other["metrics"]["val_nll"] != first["metrics"]["val_nll"]


def test_the_validation_split_is_stratified_and_disjoint() -> None:
    labels = np.array([0] * 50 + [1] * 30 + [2] * 3)
    train, val = stratified_split(labels, 0.2, seed=0)
    assert not set(train) & set(val) and len(train) + len(val) == len(labels)
    assert np.bincount(labels[val]).tolist() == [10, 6, 1]
    again = stratified_split(labels, 0.2, seed=0)
    assert np.array_equal(again[1], val)


@pytest.mark.parametrize(
    "changes",
    [
        {"epochs": 0},
        {"val_fraction": 0.0},
        {"val_fraction": 0.6},
        {"size": 4},
        {"lr": -1.0},
        {"grayscale": 1.5},
    ],
)
def test_invalid_settings_are_refused(changes: dict) -> None:
    with pytest.raises(TrainingError, match="invalid training settings"):
        TrainConfig(**changes).validate()


def test_presets_and_overrides() -> None:
    assert config_from("fast").epochs == PRESETS["fast"].epochs
    assert config_from("default", epochs=3, seed=None).epochs == 3
    with pytest.raises(TrainingError, match="unknown preset"):
        config_from("turbo")


def test_threads_never_exceed_the_cores_and_are_at_least_one() -> None:
    assert pick_threads(1) == 1
    assert 1 <= pick_threads() <= pick_threads(999)
    assert 0.0 <= busy_cores(interval=0.05) <= pick_threads(999) + 0.01


def test_the_served_graph_is_int8_and_agrees_with_float32(tiny_model_dir: Path) -> None:
    import onnx

    ops = {node.op_type for node in onnx.load(str(tiny_model_dir / "model.onnx")).graph.node}
    assert {"QuantizeLinear", "DequantizeLinear", "Conv"} <= ops
    check = json.loads((tiny_model_dir / "model.json").read_text())["metrics"]["served_vs_float32"]
    assert check["same_prediction"] >= 0.9 and check["max_probability_change"] < 0.2


def test_float32_export_on_request(tmp_path: Path) -> None:
    import onnx

    data = write_synthetic_dataset(tmp_path / "data", per_class=8)
    meta = train_model(data, tmp_path / "m", tiny_config(epochs=1, int8=False)).model
    ops = {node.op_type for node in onnx.load(str(tmp_path / "m" / "model.onnx")).graph.node}
    assert "QuantizeLinear" not in ops
    assert meta["metrics"]["served_vs_float32"]["max_probability_change"] < 1e-4


def test_a_relu_model_serves_an_int8_chain_with_batch_norm_folded(tmp_path: Path) -> None:
    import onnx

    data = write_synthetic_dataset(tmp_path / "data", per_class=8)
    meta = train_model(data, tmp_path / "m", tiny_config(epochs=1, activation="relu")).model
    graph = onnx.load(str(tmp_path / "m" / "model.onnx")).graph
    made_by = {out: node.op_type for node in graph.node for out in node.output}
    ops = [node.op_type for node in graph.node]
    assert "BatchNormalization" not in ops, "BatchNorm is folded into the convolutions"
    # conv -> ReLU -> max-pool -> residual add all read int8 tensors (dequantised in QDQ form),
    # which onnxruntime fuses into int8 kernels.
    for node in graph.node:
        if node.op_type in ("Relu", "MaxPool", "Add"):
            assert all(made_by.get(i) == "DequantizeLinear" for i in node.input[:2] if i), node.name
    assert meta["architecture"]["activation"] == "relu"
    assert meta["metrics"]["served_vs_float32"]["same_prediction"] >= 0.9
