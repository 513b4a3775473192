"""From data to a model directory: load, train, calibrate, export, describe.

    train_model(data, out)  ->  out/model.onnx, model.json, baseline.json, training_curve.png

Every number in model.json["metrics"] is measured on the validation split through the
*exported* ONNX graph, so the figures describe what the server will run, not the PyTorch
model it came from. The directory is assembled in a temporary folder and moved into
place file by file with model.json last, so a reader never sees a half-written model.
"""

from __future__ import annotations

import json
import platform
import shutil
import tempfile
import time
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import torch

from visiongate.imaging import Preprocessing
from visiongate.model import metrics
from visiongate.model.baseline import compute_baseline
from visiongate.model.calibrate import fit_temperature
from visiongate.model.curve import plot_curve
from visiongate.model.datasets import Dataset, load_dataset
from visiongate.model.export import (
    INT8_OPS,
    Exported,
    check_parity,
    export_onnx,
    onnx_session,
    quantize_int8,
    run_onnx,
)
from visiongate.model.hyperparameters import TrainConfig
from visiongate.model.network import fold_batch_norm
from visiongate.model.train import Trained, predict_logits, to_tensor, train_network

FILES = ("model.onnx", "baseline.json", "training_curve.png", "model.json")
DEFAULT_TARGET_ACCURACY = 0.97


@dataclass
class TrainReport:
    """What ``visiongate train`` prints: where the model went and how good it is."""

    out: str
    model: dict[str, Any]
    dataset: dict[str, Any]
    seconds: float


def versions() -> dict[str, str]:
    import onnx
    import onnxruntime

    from visiongate import __version__

    return {
        "python": platform.python_version(),
        "torch": torch.__version__,
        "onnx": onnx.__version__,
        "onnxruntime": onnxruntime.__version__,
        "numpy": np.__version__,
        "visiongate": __version__,
    }


def _write_json(path: Path, data: dict[str, Any]) -> None:
    path.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")


def package(
    dataset: Dataset,
    trained: Trained,
    out: str | Path,
    name: str | None = None,
    target_accuracy: float = DEFAULT_TARGET_ACCURACY,
    settings=None,  # noqa: ANN001 - Settings
) -> dict[str, Any]:
    """Calibrate, export and write the model directory; return model.json."""
    net, config, prep = trained.net, trained.config, trained.prep
    x_val = to_tensor(dataset.images[trained.val_index], prep)
    y_val = dataset.labels[trained.val_index]
    temperature = fit_temperature(
        predict_logits(net, x_val, config.flip_tta), torch.from_numpy(y_val)
    )
    module = Exported(fold_batch_norm(net), temperature, config.flip_tta).eval()

    with tempfile.TemporaryDirectory(prefix="visiongate-model-") as tmp:
        work = Path(tmp)
        export_onnx(module, work / "float32.onnx", x_val)
        parity = check_parity(module, onnx_session(work / "float32.onnx"), x_val[:64])
        if config.int8:
            calibration = to_tensor(dataset.images[trained.train_index[:512]], prep).numpy()
            ops = INT8_OPS[net.arch.activation]
            quantize_int8(work / "float32.onnx", work / "model.onnx", calibration, ops)
        else:
            (work / "float32.onnx").rename(work / "model.onnx")
        session = onnx_session(work / "model.onnx")
        outputs = run_onnx(session, x_val.numpy())
        with torch.no_grad():
            reference = module(x_val)[0].numpy()
        int8_check = {
            "max_probability_change": float(np.abs(outputs["probabilities"] - reference).max()),
            "same_prediction": float(
                (outputs["probabilities"].argmax(1) == reference.argmax(1)).mean()
            ),
        }
        probs, logits = outputs["probabilities"], outputs["logits"]
        raw = np.exp(logits - logits.max(1, keepdims=True))
        raw /= raw.sum(1, keepdims=True)
        table = metrics.threshold_table(probs, y_val)
        at_default = metrics.gate(probs, y_val, 0.75)
        used = np.concatenate([trained.train_index, trained.val_index])
        baseline = compute_baseline(
            dataset.classes,
            probs,
            outputs["embedding"],
            {k: v[used] for k, v in dataset.stats.items()},
        )
        meta = {
            "format_version": 1,
            "name": name or Path(str(out)).name,
            "created_at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "classes": list(dataset.classes),
            "input": prep.to_json(),
            "outputs": {
                "probabilities": "probabilities",
                "embedding": "embedding",
                "logits": "logits",
            },
            "temperature": round(temperature, 6),
            "architecture": {
                **net.arch.to_json(),
                "ensemble": config.ensemble,
                "flip_tta": config.flip_tta,
                "embedding_size": int(outputs["embedding"].shape[1]),
            },
            "hyperparameters": asdict(config),
            "metrics": {
                "val_accuracy": metrics.accuracy(probs, y_val),
                "val_ece": metrics.ece(probs, y_val),
                "val_ece_uncalibrated": metrics.ece(raw, y_val),
                "val_nll": metrics.nll(probs, y_val),
                "val_gate_0.75": {
                    "coverage": at_default["coverage"],
                    "accuracy": at_default["accuracy"],
                },
                "train_seconds": round(trained.seconds, 2),
                "threads": trained.threads,
                "epochs": config.epochs,
                "onnx_parity": parity,
                "int8": config.int8,
                "served_vs_float32": int8_check,
            },
            "threshold": {
                "recommended": metrics.recommend_threshold(table, target_accuracy),
                "target_accuracy": target_accuracy,
                "measured_on": f"validation split ({len(y_val)} images)",
            },
            "dataset": {
                "fingerprint": dataset.fingerprint,
                "source": dataset.source,
                "layout": dataset.layout,
                "n_train": int(len(trained.train_index)),
                "n_val": int(len(trained.val_index)),
                "per_class": dataset.counts(),
                "skipped": [{"file": s.file, "reason": s.reason} for s in dataset.skipped[:100]],
            },
            "versions": versions(),
        }
        _write_json(work / "baseline.json", baseline)
        plot_curve(
            trained.curve.train_loss,
            trained.curve.val_accuracy,
            work / "training_curve.png",
            meta["name"],
        )
        _write_json(work / "model.json", meta)
        _install(work, str(out), settings)
    return meta


def _install(work: Path, out: str, settings=None) -> None:  # noqa: ANN001
    """Move the finished files into ``out`` (a folder, or s3://bucket/prefix), model.json last."""
    if out.startswith("s3://"):
        from visiongate.model.writer import Sink

        sink = Sink(out, settings)
        for name in FILES:
            sink.put(name, (work / name).read_bytes())
        return
    target = Path(out).expanduser()
    target.mkdir(parents=True, exist_ok=True)
    for name in FILES:
        staged = target / f".{name}.tmp"
        shutil.copyfile(work / name, staged)
        staged.replace(target / name)


def train_model(
    data: str | Path | None,
    out: str | Path,
    config: TrainConfig | None = None,
    *,
    manifest: str | Path | None = None,
    images: str | Path | None = None,
    classes: list[str] | None = None,
    name: str | None = None,
    settings=None,  # noqa: ANN001 - Settings
    console=None,  # noqa: ANN001 - rich Console for progress and warnings
) -> TrainReport:
    """Load ``data`` in any supported layout, train, and write the model directory ``out``."""
    config = (config or TrainConfig()).validate()
    started = time.perf_counter()
    dataset = load_dataset(
        data,
        manifest=manifest,
        images=images,
        classes=classes,
        prep=Preprocessing(config.size, config.size),
        channels=("train", "training"),
        settings=settings,
        console=console,
    )
    trained = train_network(dataset, config, console)
    meta = package(dataset, trained, out, name=name, settings=settings)
    return TrainReport(str(out), meta, dataset.summary(), time.perf_counter() - started)
