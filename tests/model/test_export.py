"""The ONNX export: contract names and shapes, dynamic batch, and parity with PyTorch."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import pytest
import torch

from visiongate.model.export import (
    OPSET,
    Exported,
    check_parity,
    export_onnx,
    onnx_session,
    run_onnx,
)
from visiongate.model.network import Architecture, Net, whiten_stem


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> tuple[Exported, Path, torch.Tensor]:
    torch.manual_seed(0)
    net = Net(Architecture(widths=(8, 16, 16), stem_width=8, num_classes=3))
    sample = torch.randn(16, 3, 32, 32)
    whiten_stem(net.stem, sample)
    net.train()
    for _ in range(3):  # give BatchNorm non-trivial running statistics
        net(torch.randn(8, 3, 32, 32) * 2 + 0.5)
    module = Exported(net.eval(), temperature=1.7)
    path = tmp_path_factory.mktemp("onnx") / "model.onnx"
    export_onnx(module, path, sample)
    return module, path, sample


def test_graph_names_opset_and_dynamic_batch(exported: tuple[Exported, Path, torch.Tensor]) -> None:
    _, path, _ = exported
    model = onnx.load(str(path))
    assert max(o.version for o in model.opset_import if o.domain in ("", "ai.onnx")) >= 17 == OPSET
    assert [i.name for i in model.graph.input] == ["input"]
    assert [o.name for o in model.graph.output] == ["probabilities", "embedding", "logits"]
    batch = model.graph.input[0].type.tensor_type.shape.dim[0]
    assert batch.dim_param and not batch.dim_value  # symbolic: any batch size


def test_onnxruntime_matches_torch_within_1e_4(
    exported: tuple[Exported, Path, torch.Tensor],
) -> None:
    module, path, sample = exported
    session = onnx_session(path, threads=1)
    assert check_parity(module, session, sample) < 1e-4
    with torch.no_grad():
        probabilities, embedding, logits = module(sample)
    got = run_onnx(session, sample.numpy())
    np.testing.assert_allclose(got["probabilities"], probabilities.numpy(), atol=1e-4)
    np.testing.assert_allclose(got["embedding"], embedding.numpy(), atol=1e-4)
    np.testing.assert_allclose(got["logits"], logits.numpy(), atol=1e-4)


def test_probabilities_are_the_tempered_softmax_of_the_logits(
    exported: tuple[Exported, Path, torch.Tensor],
) -> None:
    _, path, sample = exported
    got = run_onnx(onnx_session(path, threads=1), sample.numpy())
    expected = torch.softmax(torch.from_numpy(got["logits"]) / 1.7, 1).numpy()
    np.testing.assert_allclose(got["probabilities"], expected, atol=1e-5)
    np.testing.assert_allclose(got["probabilities"].sum(1), 1.0, atol=1e-5)


@pytest.mark.parametrize("batch", [1, 7, 33])
def test_any_batch_size_runs(exported: tuple[Exported, Path, torch.Tensor], batch: int) -> None:
    _, path, _ = exported
    session = onnx_session(path, threads=1)
    outputs = session.run(
        None, {"input": np.random.default_rng(0).normal(size=(batch, 3, 32, 32)).astype(np.float32)}
    )
    assert [o.shape for o in outputs] == [(batch, 3), (batch, 16), (batch, 3)]


def test_flip_tta_makes_the_prediction_mirror_invariant(
    exported: tuple[Exported, Path, torch.Tensor],
) -> None:
    _, path, sample = exported
    session = onnx_session(path, threads=1)
    straight = run_onnx(session, sample.numpy())["probabilities"]
    mirrored = run_onnx(session, sample.flip(3).numpy())["probabilities"]
    np.testing.assert_allclose(straight, mirrored, atol=1e-5)
