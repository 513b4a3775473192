"""Build a tiny, deterministic model directory without PyTorch (the ``onnx`` helper API only).

The graph follows docs/MODEL_DIR (``model.onnx`` + ``model.json``): input ``"input"`` float32
[N, 3, H, W] -> Conv -> Relu -> GlobalAveragePool -> Flatten = ``"embedding"`` [N, width] ->
Gemm -> ``"logits"`` -> Div(temperature) -> Softmax = ``"probabilities"`` [N, classes].
``depth`` extra 3x3 conv layers make it as expensive as a small CNN for benchmarks.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from visiongate.imaging import Preprocessing

CLASSES = ["bicycle", "motorcycle"]


def build_onnx(
    width: int = 8, depth: int = 0, classes: int = 2, seed: int = 7, poison: bool = False
):
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(seed)
    inits, nodes = [], []

    def const(name: str, array: np.ndarray) -> str:
        inits.append(numpy_helper.from_array(array.astype(np.float32), name))
        return name

    def conv(x: str, cin: int, cout: int, name: str) -> str:
        w = const(f"{name}_w", rng.normal(0, (2.0 / (cin * 9)) ** 0.5, (cout, cin, 3, 3)))
        b = const(f"{name}_b", rng.normal(0, 0.1, (cout,)))
        nodes.append(helper.make_node("Conv", [x, w, b], [f"{name}_c"], pads=[1, 1, 1, 1]))
        nodes.append(helper.make_node("Relu", [f"{name}_c"], [f"{name}_r"]))
        return f"{name}_r"

    x = conv("input", 3, width, "conv0")
    for i in range(depth):
        x = conv(x, width, width, f"conv{i + 1}")
    nodes.append(helper.make_node("GlobalAveragePool", [x], ["pooled"]))
    nodes.append(helper.make_node("Flatten", ["pooled"], ["embedding"], axis=1))
    fc_w = const("fc_w", rng.normal(0, 1.0, (classes, width)))
    fc_b = const("fc_b", rng.normal(0, 0.1, (classes,)))
    nodes.append(helper.make_node("Gemm", ["embedding", fc_w, fc_b], ["logits"], transB=1))
    scores = "logits"
    if poison:
        # A batch holding a mostly white image makes Gather index out of bounds: onnxruntime
        # fails at run time, as a real model can, while other inputs work.
        limit = const("white_limit", np.array(1.5))
        zero = const("zero_table", np.array([0.0]))
        nodes += [
            helper.make_node("ReduceMean", ["input"], ["img_mean"], axes=[1, 2, 3], keepdims=0),
            helper.make_node("ReduceMax", ["img_mean"], ["batch_max"], keepdims=0),
            helper.make_node("Greater", ["batch_max", limit], ["is_white"]),
            helper.make_node("Cast", ["is_white"], ["white_index"], to=TensorProto.INT64),
            helper.make_node("Gather", [zero, "white_index"], ["poison"]),
            helper.make_node("Add", ["logits", "poison"], ["poisoned"]),
        ]
        scores = "poisoned"
    temperature = const("temperature", np.array([1.5]))
    nodes.append(helper.make_node("Div", [scores, temperature], ["scaled"]))
    nodes.append(helper.make_node("Softmax", ["scaled"], ["probabilities"], axis=1))
    graph = helper.make_graph(
        nodes,
        "tiny",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["N", 3, 32, 32])],
        [
            helper.make_tensor_value_info("probabilities", TensorProto.FLOAT, ["N", classes]),
            helper.make_tensor_value_info("embedding", TensorProto.FLOAT, ["N", width]),
            helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["N", classes]),
        ],
        inits,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    return model


def write_model_dir(
    path: Path,
    width: int = 8,
    depth: int = 0,
    name: str = "tiny",
    classes: list[str] | None = None,
    poison: bool = False,
) -> Path:
    """Write ``model.onnx`` and ``model.json`` into ``path`` (created) and return it.

    ``poison=True`` builds a model that fails (in onnxruntime) on any batch holding a mostly
    white image: a real ModelError for tests.
    """
    import onnx

    classes = classes or CLASSES
    path.mkdir(parents=True, exist_ok=True)
    onnx.save(build_onnx(width, depth, len(classes), poison=poison), path / "model.onnx")
    meta = {
        "format_version": 1,
        "name": name,
        "created_at": "2026-11-22T00:00:00Z",
        "classes": classes,
        "input": Preprocessing().to_json(),
        "outputs": {"probabilities": "probabilities", "embedding": "embedding"},
        "temperature": 1.5,
        "architecture": {"kind": "tiny-onnx-fixture", "width": width, "depth": depth},
        "hyperparameters": {},
        "metrics": {},
        "versions": {},
    }
    (path / "model.json").write_text(json.dumps(meta, indent=2), encoding="utf-8")
    return path
