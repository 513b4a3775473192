"""Step 1 of 4: load a model directory (``model.onnx`` + ``model.json``) for inference.

The directory contract is in team/MODEL_DIR.md. Loading checks everything a request
would otherwise trip over later — files present, metadata complete, the graph's input and
output names and shapes agreeing with ``model.json`` — and reports it as one
:class:`ModelLoadError`. Only onnxruntime and NumPy: the serving path never imports torch.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from visiongate.imaging import Preprocessing
from visiongate.serving.errors import ModelError, ModelLoadError

INPUT_NAME = "input"


def available_cores() -> int:
    """Cores this process may run on (the container's share, not the host's)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


def default_threads() -> int:
    """onnxruntime intra-op threads for a lone session (the server divides cores by workers)."""
    return available_cores()


def session_options(threads: int | None = None) -> Any:
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.intra_op_num_threads = threads or default_threads()
    options.inter_op_num_threads = 1
    # Spinning worker threads would steal the core that decodes images and parses HTTP.
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    options.log_severity_level = 4  # failures surface as exceptions; keep stderr clean
    return options


@dataclass
class LoadedModel:
    """A model ready for ``predict``: classes, preprocessing and an onnxruntime session."""

    path: Path
    meta: dict[str, Any]
    classes: list[str]
    prep: Preprocessing
    session: Any
    probabilities_output: str = "probabilities"
    embedding_output: str | None = "embedding"
    _outputs: list[str] = field(default_factory=list, repr=False)

    @property
    def name(self) -> str:
        return str(self.meta.get("name") or self.path.name)

    def predict(self, batch: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        """float32 [N, C, H, W] -> (probabilities [N, classes], embedding [N, D] or None)."""
        batch = np.ascontiguousarray(batch, dtype=np.float32)
        expected = (self.prep.channels, self.prep.height, self.prep.width)
        if batch.ndim != 4 or batch.shape[1:] != expected:
            raise ModelError(f"batch has shape {batch.shape}, the model needs [N, {expected}]")
        try:
            results = self.session.run(self._outputs, {INPUT_NAME: batch})
        except Exception as exc:  # noqa: BLE001 - onnxruntime raises many unrelated types
            raise ModelError(f"the model failed: {type(exc).__name__}: {exc}") from None
        probs = np.asarray(results[0], dtype=np.float32)
        if probs.shape != (len(batch), len(self.classes)):
            raise ModelError(
                f"the model returned probabilities of shape {probs.shape}, "
                f"expected {(len(batch), len(self.classes))}"
            )
        embedding = np.asarray(results[1], dtype=np.float32) if len(results) > 1 else None
        return probs, embedding

    def warm_up(self, batch_size: int = 1) -> None:
        """Run one batch so the first real request does not pay for lazy initialisation."""
        shape = (batch_size, self.prep.channels, self.prep.height, self.prep.width)
        self.predict(np.zeros(shape, dtype=np.float32))


def _read_meta(path: Path) -> dict[str, Any]:
    meta_path = path / "model.json"
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ModelLoadError(
            f"{meta_path} is missing", hint="a model directory holds model.onnx and model.json"
        ) from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ModelLoadError(f"{meta_path} is not readable JSON: {exc}") from None
    if not isinstance(meta, dict):
        raise ModelLoadError(f"{meta_path} must hold a JSON object")
    return meta


def _check_meta(meta: dict[str, Any], where: Path) -> tuple[list[str], Preprocessing]:
    problems: list[str] = []
    version = meta.get("format_version", 1)
    if version != 1:
        problems.append(f"format_version {version!r} is not supported (expected 1)")
    classes = meta.get("classes")
    if not (isinstance(classes, list) and classes and all(isinstance(c, str) for c in classes)):
        problems.append('"classes" must be a non-empty list of label strings')
        classes = []
    prep = Preprocessing()
    try:
        prep = Preprocessing.from_json(meta["input"])
    except (KeyError, TypeError, ValueError) as exc:
        problems.append(f'"input" is not a valid preprocessing block ({type(exc).__name__}: {exc})')
    else:
        if prep.channels not in (1, 3) or len(prep.mean) != prep.channels:
            problems.append('"input" channels must be 1 or 3, with one mean/std per channel')
    if problems:
        raise ModelLoadError(
            f"{where}/model.json: " + "; ".join(problems), hint="see team/MODEL_DIR.md"
        )
    return list(classes), prep


def load_model_dir(path: str | os.PathLike[str], threads: int | None = None) -> LoadedModel:
    """Open ``path`` as a model directory; raise ModelLoadError saying what is wrong."""
    root = Path(path).expanduser()
    if not root.is_dir():
        raise ModelLoadError(
            f"model directory {root} does not exist",
            hint="train one with `visiongate train`, or pass --model PATH",
        )
    onnx_path = root / "model.onnx"
    if not onnx_path.is_file():
        raise ModelLoadError(f"{onnx_path} is missing", hint="the directory must hold model.onnx")
    meta = _read_meta(root)
    classes, prep = _check_meta(meta, root)
    outputs = meta.get("outputs") if isinstance(meta.get("outputs"), dict) else {}
    probs_name = str(outputs.get("probabilities", "probabilities"))
    emb_name = outputs.get("embedding", "embedding")

    import onnxruntime as ort

    try:
        session = ort.InferenceSession(
            str(onnx_path), session_options(threads), providers=["CPUExecutionProvider"]
        )
    except Exception as exc:  # noqa: BLE001 - onnxruntime raises its own exception types
        raise ModelLoadError(f"{onnx_path} cannot be loaded by onnxruntime: {exc}") from None

    inputs = {i.name: i for i in session.get_inputs()}
    available = [o.name for o in session.get_outputs()]
    problems = []
    if INPUT_NAME not in inputs:
        problems.append(f'the graph has no input "{INPUT_NAME}" (it has {sorted(inputs)})')
    else:
        shape = list(inputs[INPUT_NAME].shape)
        want = [prep.channels, prep.height, prep.width]
        fixed = [d if isinstance(d, int) else None for d in shape[1:]]
        if len(shape) != 4 or any(
            d is not None and d != w for d, w in zip(fixed, want, strict=False)
        ):
            problems.append(f"input shape {shape} does not match model.json [N, {want}]")
    if probs_name not in available:
        problems.append(f'the graph has no output "{probs_name}" (it has {available})')
    else:
        width = next(o for o in session.get_outputs() if o.name == probs_name).shape[-1]
        if isinstance(width, int) and width != len(classes):
            problems.append(f'output "{probs_name}" has {width} columns for {len(classes)} classes')
    if emb_name not in available:
        emb_name = None  # optional for serving; drift monitoring then skips embeddings
    if problems:
        raise ModelLoadError(f"{onnx_path}: " + "; ".join(problems), hint="see team/MODEL_DIR.md")

    model = LoadedModel(
        path=root,
        meta=meta,
        classes=classes,
        prep=prep,
        session=session,
        probabilities_output=probs_name,
        embedding_output=emb_name,
    )
    model._outputs = [probs_name] + ([emb_name] if emb_name else [])
    return model
