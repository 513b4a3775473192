"""The classifier: a compact ResNet-9-style network for small images, at reduced width.

    input 3×32×32
    stem     2×2 conv, weights = whitening of image patches (fixed, from the data) -> act
    block 1  conv 3×3 -> max-pool 2 -> BN -> act -> [conv 3×3 -> BN -> act] (+ residual)
    block 2  the same at the next width
    block 3  the same at the last width
    head     global max-pool -> embedding (the drift monitor's features) -> linear -> logits

The shape follows the DAWNBench ResNet-9 (three pooled stages, residual convolutions) and
KellerJordan/cifar10-airbench (a whitening stem initialised from the training patches' PCA,
conv-pool-BN order, BN without a learned scale), scaled down so that an epoch over a
thousand images costs about a second on two CPU cores. The activation is airbench's GELU by
default; ReLU is as accurate here but a little worse calibrated (5-fold CV, docs/model.md),
and serves about 1.7x faster because conv + ReLU runs as one int8 kernel in onnxruntime.
"""

from __future__ import annotations

import copy
from dataclasses import asdict, dataclass

import torch
import torch.nn.functional as F
from torch import nn


@dataclass(frozen=True)
class Architecture:
    """Everything that shapes the network; saved in model.json["architecture"]."""

    name: str = "resnet9-whitened"
    widths: tuple[int, int, int] = (32, 64, 128)
    stem_width: int = 24  # an even number: + and - of each whitening filter
    residual: bool = True
    channels: int = 3
    num_classes: int = 2
    logit_scale: float = 1.0
    bn_momentum: float = 0.2
    bn_scale: bool = False  # learn BatchNorm's scale (redundant before GELU in airbench)
    activation: str = "gelu"  # or "relu"

    def to_json(self) -> dict:
        return asdict(self)


ACTIVATIONS = {"gelu": F.gelu, "relu": F.relu}


def _batch_norm(width: int, arch: Architecture) -> nn.BatchNorm2d:
    norm = nn.BatchNorm2d(width, momentum=arch.bn_momentum)
    norm.weight.requires_grad_(arch.bn_scale)
    return norm


class Block(nn.Module):
    """conv -> pool -> BN -> GELU, then a second conv (with a skip connection if residual)."""

    def __init__(self, width_in: int, width_out: int, arch: Architecture) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(width_in, width_out, 3, padding=1, bias=False)
        self.norm1 = _batch_norm(width_out, arch)
        self.conv2 = nn.Conv2d(width_out, width_out, 3, padding=1, bias=False)
        self.norm2 = _batch_norm(width_out, arch)
        self.residual = arch.residual
        self.act = ACTIVATIONS[arch.activation]
        self.pool_last = False  # set by fold_batch_norm for ReLU

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.pool_last:
            x = F.max_pool2d(self.act(self.norm1(self.conv1(x))), 2)
        else:
            x = self.act(self.norm1(F.max_pool2d(self.conv1(x), 2)))
        y = self.act(self.norm2(self.conv2(x)))
        return x + y if self.residual else y


class Net(nn.Module):
    """Whitened stem, three blocks, global max-pool, linear head."""

    def __init__(self, arch: Architecture) -> None:
        super().__init__()
        self.arch = arch
        # At most two filters (+/-) per dimension of a 2×2 patch.
        stem_width = min(arch.stem_width, 2 * arch.channels * 4)
        self.stem = nn.Conv2d(arch.channels, stem_width, 2, padding=0, bias=True)
        w1, w2, w3 = arch.widths
        self.blocks = nn.Sequential(
            Block(stem_width, w1, arch),
            Block(w1, w2, arch),
            Block(w2, w3, arch),
        )
        self.head = nn.Linear(w3, arch.num_classes, bias=False)
        self.act = ACTIVATIONS[arch.activation]

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """The embedding: [N, widths[-1]]."""
        x = self.blocks(self.act(self.stem(x)))
        return torch.amax(x, dim=(2, 3))

    def logits(self, embedding: torch.Tensor) -> torch.Tensor:
        return self.head(embedding) * self.arch.logit_scale

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.logits(self.features(x))


@torch.no_grad()
def whiten_stem(stem: nn.Conv2d, images: torch.Tensor, eps: float = 5e-4) -> None:
    """Set the stem to the ZCA-like whitening of its input patches (airbench's init).

    Each filter is an eigenvector of the patch covariance divided by the root of its
    eigenvalue, so the stem outputs decorrelated, unit-variance features from step one;
    the filters come in +/- pairs so the GELU after it loses no information.
    """
    channels, kh, kw = stem.weight.shape[1:]
    patches = images.float().unfold(2, kh, 1).unfold(3, kw, 1)  # N, C, H', W', kh, kw
    patches = patches.permute(0, 2, 3, 1, 4, 5).reshape(-1, channels * kh * kw)
    patches = patches - patches.mean(0)
    covariance = patches.T @ patches / len(patches)
    values, vectors = torch.linalg.eigh(covariance)  # ascending
    values, vectors = values.flip(0), vectors.T.flip(0)
    half = stem.weight.shape[0] // 2
    filters = (vectors[:half] / torch.sqrt(values[:half, None] + eps)).view(half, channels, kh, kw)
    stem.weight.copy_(torch.cat([filters, -filters]))
    stem.bias.zero_()


class Ensemble(nn.Module):
    """Several independently trained nets: embeddings concatenated, logits averaged."""

    def __init__(self, members: list[Net]) -> None:
        super().__init__()
        self.members = nn.ModuleList(members)
        self.arch = members[0].arch
        self.width = members[0].arch.widths[-1]

    def features(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([m.features(x) for m in self.members], dim=1)

    def logits(self, embedding: torch.Tensor) -> torch.Tensor:
        parts = embedding.split(self.width, dim=1)
        return torch.stack([m.logits(p) for m, p in zip(self.members, parts, strict=True)]).mean(0)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.logits(self.features(x))


@torch.no_grad()
def fold_batch_norm(net: nn.Module) -> nn.Module:
    """A copy of ``net`` for inference with every BatchNorm folded into the conv before it.

    The same function in fewer operations: ``conv -> BN`` becomes one conv with a bias, and
    ``conv -> max-pool -> BN`` too, because BN's per-channel scale is positive when its
    weight is (max-pooling commutes with ``x * a + b`` for ``a > 0``). With ReLU the pool
    then moves after the activation (both are monotone, so they commute too), and
    onnxruntime runs conv, bias and ReLU as one int8 kernel.
    A BN with a negative scale (possible only with ``bn_scale``) is left in place.
    """
    folded = copy.deepcopy(net).eval()
    for block in folded.modules():
        if isinstance(block, Block):
            for conv_name, norm_name in (("conv1", "norm1"), ("conv2", "norm2")):
                conv, norm = getattr(block, conv_name), getattr(block, norm_name)
                scale = norm.weight / torch.sqrt(norm.running_var + norm.eps)
                if not bool((scale > 0).all()):
                    continue
                fused = nn.Conv2d(
                    conv.in_channels, conv.out_channels, conv.kernel_size, padding=conv.padding
                )
                fused.weight.copy_(conv.weight * scale[:, None, None, None])
                fused.bias.copy_(norm.bias - norm.running_mean * scale)
                setattr(block, conv_name, fused)
                setattr(block, norm_name, nn.Identity())
            block.pool_last = block.act is F.relu and isinstance(block.norm1, nn.Identity)
    return folded
