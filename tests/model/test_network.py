"""The network: BatchNorm folding for inference changes no output."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from visiongate.model.network import Architecture, Net, fold_batch_norm


def _net_with_statistics(**arch: object) -> Net:
    torch.manual_seed(0)
    net = Net(Architecture(widths=(8, 16, 16), stem_width=8, **arch))
    for module in net.modules():
        if isinstance(module, nn.BatchNorm2d):
            module.running_mean.uniform_(-1, 1)
            module.running_var.uniform_(0.3, 3)
            module.bias.data.uniform_(-1, 1)
    return net.eval()


@pytest.mark.parametrize("activation", ["gelu", "relu"])
def test_folding_batch_norm_keeps_every_output(activation: str) -> None:
    net = _net_with_statistics(activation=activation)
    folded = fold_batch_norm(net)
    x = torch.randn(6, 3, 32, 32)
    with torch.no_grad():
        torch.testing.assert_close(folded.features(x), net.features(x), rtol=1e-4, atol=1e-5)
        torch.testing.assert_close(folded(x), net(x), rtol=1e-4, atol=1e-5)
    assert not any(isinstance(m, nn.BatchNorm2d) for m in folded.modules())
    assert any(isinstance(m, nn.BatchNorm2d) for m in net.modules()), "the original is untouched"
    # ReLU and max-pool commute (both monotone), so the folded net pools after ReLU, which
    # lets onnxruntime fuse conv + ReLU; GELU is not monotone, so its order stays.
    assert all(block.pool_last == (activation == "relu") for block in folded.blocks)


def test_a_batch_norm_with_a_negative_scale_stays_because_max_pool_would_not_commute() -> None:
    net = _net_with_statistics(bn_scale=True)
    with torch.no_grad():
        net.blocks[0].norm1.weight[0] = -1.0
    folded = fold_batch_norm(net)
    assert isinstance(folded.blocks[0].norm1, nn.BatchNorm2d)
    assert not isinstance(folded.blocks[0].norm2, nn.BatchNorm2d)
    x = torch.randn(4, 3, 32, 32)
    with torch.no_grad():
        torch.testing.assert_close(folded(x), net(x), rtol=1e-4, atol=1e-5)
