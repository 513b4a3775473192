"""Export the trained network to ONNX: calibrated probabilities and the embedding, in one graph.

The graph does everything the server should not have to know about:

* **flip test-time augmentation** — each image is classified as is and mirrored, and the two
  embeddings are averaged (the head is linear, so this averages the logits too);
* **temperature scaling** — the logits are divided by the fitted temperature before softmax.

Outputs (team/MODEL_DIR.md): ``probabilities`` [N, classes] (calibrated), ``embedding``
[N, D] (for drift), and ``logits`` [N, classes] (raw, before temperature). Input ``input``:
float32 [N, C, H, W], normalised by :func:`visiongate.imaging.normalize`; N is dynamic.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import torch
from torch import nn

from visiongate.model.errors import TrainingError

OPSET = 17
OUTPUTS = ("probabilities", "embedding", "logits")
PARITY_TOLERANCE = 1e-4


class Exported(nn.Module):
    """The network wrapped with flip-TTA and temperature: what goes into model.onnx."""

    def __init__(self, net: nn.Module, temperature: float, flip_tta: bool = True) -> None:
        super().__init__()
        self.net = net
        self.flip_tta = flip_tta
        self.register_buffer("inverse_temperature", torch.tensor(1.0 / temperature))

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        if self.flip_tta:
            both = self.net.features(torch.cat([x, x.flip(3)]))
            embedding = both.reshape(2, -1, both.shape[-1]).mean(0)
        else:
            embedding = self.net.features(x)
        logits = self.net.logits(embedding)
        probabilities = torch.softmax(logits * self.inverse_temperature, dim=1)
        return probabilities, embedding, logits


def export_onnx(module: Exported, path: Path, sample: torch.Tensor) -> None:
    """Write ``module`` as ONNX (opset 17, dynamic batch) and check the graph."""
    import onnx

    module = module.eval().to(memory_format=torch.contiguous_format)
    dynamic = {name: {0: "batch"} for name in ("input", *OUTPUTS)}
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")  # the TorchScript exporter announces its deprecation
        torch.onnx.export(
            module,
            (sample[:2].contiguous(),),
            str(path),
            input_names=["input"],
            output_names=list(OUTPUTS),
            dynamic_axes=dynamic,
            opset_version=OPSET,
            do_constant_folding=True,
            dynamo=False,
        )
    onnx.checker.check_model(onnx.load(str(path)))


def onnx_session(path: Path, threads: int | None = None):  # noqa: ANN201 - onnxruntime session
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.intra_op_num_threads = threads or 0
    options.inter_op_num_threads = 1
    options.log_severity_level = 3
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def run_onnx(session, batch: np.ndarray, batch_size: int = 256) -> dict[str, np.ndarray]:  # noqa: ANN001
    """All outputs of ``session`` for ``batch`` (float32 NCHW), in chunks."""
    names = [o.name for o in session.get_outputs()]
    parts: dict[str, list[np.ndarray]] = {n: [] for n in names}
    for start in range(0, len(batch), batch_size):
        chunk = np.ascontiguousarray(batch[start : start + batch_size], dtype=np.float32)
        for name, value in zip(names, session.run(names, {"input": chunk}), strict=True):
            parts[name].append(value)
    return {n: np.concatenate(v) if v else np.zeros((0,)) for n, v in parts.items()}


def check_parity(module: Exported, session, sample: torch.Tensor) -> float:  # noqa: ANN001
    """Largest |onnxruntime - torch| over all outputs; TrainingError above the tolerance."""
    with torch.no_grad():
        expected = [t.numpy() for t in module.eval()(sample)]
    got = run_onnx(session, sample.numpy())
    worst = max(float(np.abs(got[n] - e).max()) for n, e in zip(OUTPUTS, expected, strict=True))
    if worst > PARITY_TOLERANCE:
        raise TrainingError(
            f"the exported model disagrees with PyTorch by {worst:.2e} (tolerance {PARITY_TOLERANCE})",
            hint="report this as a bug with the model directory attached",
        )
    return worst


INT8_OPS = {
    # GELU has no int8 kernel: only the convolutions are quantised, GELU runs in float32.
    "gelu": ("Conv",),
    # With ReLU the whole conv -> ReLU -> max-pool (+ residual add) chain stays int8.
    "relu": ("Conv", "Relu", "MaxPool", "Add"),
}


def quantize_int8(
    source: Path, target: Path, calibration: np.ndarray, op_types: tuple[str, ...] = ("Conv",)
) -> None:
    """Write an int8 copy of ``source`` (``op_types`` only), calibrated on ``calibration``.

    The convolutions are most of the inference time; in int8 (QDQ format: u8 activations,
    s8 per-channel weights, the layout x86's VNNI instructions run fastest) the model runs
    about 1.6× faster, and with ReLU (see :data:`INT8_OPS`) faster still. The global pool,
    the head, the temperature and softmax stay float32. Calibration is min/max over
    training images, so it is deterministic.
    """
    from onnxruntime.quantization import (
        CalibrationDataReader,
        QuantFormat,
        QuantType,
        quantize_static,
    )
    from onnxruntime.quantization.shape_inference import quant_pre_process

    class Batches(CalibrationDataReader):
        def __init__(self) -> None:
            self._batches = iter(
                {"input": np.ascontiguousarray(calibration[i : i + 64], dtype=np.float32)}
                for i in range(0, len(calibration), 64)
            )

        def get_next(self) -> dict[str, np.ndarray] | None:
            return next(self._batches, None)

    prepared = target.with_name(f".{target.name}.pre.onnx")
    try:
        quant_pre_process(str(source), str(prepared), skip_symbolic_shape=True)
        quantize_static(
            str(prepared),
            str(target),
            Batches(),
            quant_format=QuantFormat.QDQ,
            activation_type=QuantType.QUInt8,
            weight_type=QuantType.QInt8,
            per_channel=True,
            op_types_to_quantize=list(op_types),
        )
    finally:
        prepared.unlink(missing_ok=True)
