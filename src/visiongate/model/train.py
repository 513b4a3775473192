"""Train the classifier on the CPU: the validation split, the loss, and the loop.

Readable in one sitting, in the spirit of nanoGPT and cifar10-airbench: every
hyperparameter is in :class:`~visiongate.model.hyperparameters.TrainConfig`, the loop is
one function, and the model directory it ends in (see :mod:`.package`) records the config
beside the weights.

Recipe for a thousand small images on two cores: the whole training split decoded once
into a normalised tensor; per epoch a fresh augmented copy (crop with reflect padding,
flip, cutout, colour channels shuffled or dropped); SGD with Nesterov momentum under a
one-cycle schedule; label smoothing; bfloat16 autocast (the CPU's matrix units make it
about twice as fast as float32).
Each member of an ensemble (one by default) is trained by :func:`_fit`.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn.functional as F

from visiongate.imaging import Preprocessing, normalize
from visiongate.model.augment import augment
from visiongate.model.datasets import Dataset
from visiongate.model.errors import TrainingError
from visiongate.model.hyperparameters import PRESETS, TrainConfig, config_from
from visiongate.model.machine import pick_threads, torch_settings
from visiongate.model.network import Architecture, Ensemble, Net, whiten_stem

__all__ = ["PRESETS", "TrainConfig", "Trained", "config_from", "train_network"]


@dataclass
class Curve:
    """Per-epoch training loss and validation accuracy, for training_curve.png."""

    train_loss: list[float] = field(default_factory=list)
    val_accuracy: list[float] = field(default_factory=list)
    seconds: list[float] = field(default_factory=list)


@dataclass
class Trained:
    """What the loop hands to packaging."""

    net: Net | Ensemble
    config: TrainConfig
    prep: Preprocessing
    train_index: np.ndarray
    val_index: np.ndarray
    curve: Curve
    seconds: float
    threads: int


def stratified_split(
    labels: np.ndarray, fraction: float, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """(train, val) indices with ``fraction`` of each class (at least one) in val."""
    rng = np.random.default_rng(seed)
    train, val = [], []
    for label in np.unique(labels):
        members = rng.permutation(np.flatnonzero(labels == label))
        take = min(max(1, round(len(members) * fraction)), len(members) - 1)
        val.extend(members[:take])
        train.extend(members[take:])
    if not val:
        raise TrainingError(
            "the validation split is empty (every class has a single image)",
            hint="add more images; calibration needs held-out images",
        )
    return np.sort(np.asarray(train)), np.sort(np.asarray(val))


def channel_stats(images: np.ndarray) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """Per-channel mean and std of uint8 N×H×W×C images, in [0, 1], rounded."""
    scaled = images.reshape(-1, images.shape[-1]).astype(np.float64) / 255.0
    std = np.maximum(scaled.std(0), 1e-3)
    return tuple(round(float(v), 4) for v in scaled.mean(0)), tuple(round(float(v), 4) for v in std)


def to_tensor(images: np.ndarray, prep: Preprocessing) -> torch.Tensor:
    """uint8 N×H×W×C -> normalised float32 N×C×H×W, through visiongate.imaging.normalize."""
    if len(images) == 0:
        return torch.zeros((0, prep.channels, prep.height, prep.width))
    return torch.from_numpy(np.stack([normalize(image, prep) for image in images]))


def _optimizer(net: Net, config: TrainConfig, total_steps: int):  # noqa: ANN202
    decay = [p for p in net.parameters() if p.requires_grad and p.ndim > 1]
    other = [p for p in net.parameters() if p.requires_grad and p.ndim <= 1]
    optimizer = torch.optim.SGD(
        [
            {"params": decay, "weight_decay": config.weight_decay},
            {"params": other, "weight_decay": 0.0},
        ],
        lr=config.lr,
        momentum=config.momentum,
        nesterov=True,
    )
    schedule = torch.optim.lr_scheduler.OneCycleLR(
        optimizer,
        max_lr=config.lr,
        total_steps=total_steps,
        pct_start=config.warmup,
        anneal_strategy="linear",
        div_factor=10.0,
        final_div_factor=100.0,
    )
    return optimizer, schedule


def _loss(
    net: Net, x: torch.Tensor, y: torch.Tensor, config: TrainConfig, mixer: np.random.Generator
) -> torch.Tensor:
    """Label-smoothed cross-entropy, on a mixup of the batch with itself if enabled."""
    if not config.mixup:
        return F.cross_entropy(net(x), y, label_smoothing=config.label_smoothing)
    share = float(mixer.beta(config.mixup, config.mixup))
    partner = torch.from_numpy(mixer.permutation(len(x)))
    out = net(share * x + (1 - share) * x[partner])
    return share * F.cross_entropy(out, y, label_smoothing=config.label_smoothing) + (
        1 - share
    ) * F.cross_entropy(out, y[partner], label_smoothing=config.label_smoothing)


def _sharpness_aware(
    net: Net, x: torch.Tensor, y: torch.Tensor, config: TrainConfig, mixer: np.random.Generator
) -> None:
    """Replace the gradients with those at the worst nearby weights (SAM, Foret et al. 2021).

    Step ``config.sam`` (rho) along the normalised gradient, take the gradient there, step
    back: the optimiser then prefers flat minima, which generalise better on small data.
    """
    params = [p for p in net.parameters() if p.grad is not None]
    with torch.no_grad():
        norm = torch.norm(torch.stack([p.grad.norm() for p in params])) + 1e-12
        steps = [p.grad * (config.sam / norm) for p in params]
        for p, e in zip(params, steps, strict=True):
            p.add_(e)
    net.zero_grad(set_to_none=True)
    with torch.autocast("cpu", dtype=torch.bfloat16, enabled=config.bf16):
        _loss(net, x, y, config, mixer).backward()
    with torch.no_grad():
        for p, e in zip(params, steps, strict=True):
            p.sub_(e)


@torch.no_grad()
def predict_logits(
    net: Net, images: torch.Tensor, flip_tta: bool, batch_size: int = 500
) -> torch.Tensor:
    """float32 logits, optionally averaged over the image and its mirror (as the export does)."""
    net.eval()
    out = []
    for start in range(0, len(images), batch_size):
        x = images[start : start + batch_size].contiguous(memory_format=torch.channels_last)
        features = net.features(x)
        if flip_tta:
            features = (features + net.features(x.flip(3))) / 2
        out.append(net.logits(features).float())
    net.train()
    return torch.cat(out) if out else torch.zeros((0, net.arch.num_classes))


def train_network(
    dataset: Dataset,
    config: TrainConfig,
    console=None,  # noqa: ANN001 - rich Console; progress goes there when given
) -> Trained:
    """Split, normalise, train; return the network (EMA weights if enabled) and its curve."""
    from rich.progress import (
        BarColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    config = config.validate()
    started = time.perf_counter()
    train_index, val_index = stratified_split(dataset.labels, config.val_fraction, config.seed)
    channels = dataset.images.shape[-1]
    mean, std = channel_stats(dataset.images[train_index])
    prep = Preprocessing(config.size, config.size, channels, mean, std)
    if dataset.images.shape[1:3] != (config.size, config.size):
        raise TrainingError(
            f"images were decoded at {dataset.images.shape[1:3]}, training wants {config.size}",
            hint="load the dataset with the same Preprocessing size",
        )
    arch = Architecture(
        widths=config.widths,
        stem_width=config.stem_width,
        residual=config.residual,
        bn_scale=config.bn_scale,
        bn_momentum=config.bn_momentum,
        logit_scale=config.logit_scale,
        activation=config.activation,
        channels=channels,
        num_classes=len(dataset.classes),
    )
    curve = Curve()
    threads = pick_threads(config.threads)
    with torch_settings(config.seed, threads):
        data = (
            to_tensor(dataset.images[train_index], prep),
            torch.from_numpy(dataset.labels[train_index]),
            to_tensor(dataset.images[val_index], prep),
            torch.from_numpy(dataset.labels[val_index]),
        )
        columns = (
            TextColumn("[bold]epoch {task.completed}/{task.total}"),
            BarColumn(),
            TextColumn("loss {task.fields[loss]:.3f}"),
            TextColumn("val acc {task.fields[val_acc]:.3f}"),
            TimeElapsedColumn(),
            TextColumn("ETA"),
            TimeRemainingColumn(),
        )
        with Progress(*columns, console=console, disable=console is None) as progress:
            total = config.epochs * config.ensemble
            task = progress.add_task("train", total=total, loss=math.nan, val_acc=math.nan)

            def report(loss: float, val_acc: float) -> None:
                curve.train_loss.append(loss)
                curve.val_accuracy.append(val_acc)
                curve.seconds.append(time.perf_counter() - started)
                progress.update(task, advance=1, loss=loss, val_acc=val_acc)

            members = [
                _fit(arch, config, data, config.seed * 1000 + member, report)
                for member in range(config.ensemble)
            ]
    final = members[0] if len(members) == 1 else Ensemble(members)
    final = final.eval()
    seconds = time.perf_counter() - started
    return Trained(final, config, prep, train_index, val_index, curve, seconds, threads)


def _fit(
    arch: Architecture,
    config: TrainConfig,
    data: tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor],
    seed: int,
    report,  # noqa: ANN001 - report(train_loss, val_accuracy) once per epoch
) -> Net:
    """Train one network from ``seed``; return it (its weight average if EMA is on)."""
    x_train, y_train, x_val, y_val = data
    torch.manual_seed(seed)
    generator = torch.Generator().manual_seed(seed)
    mixer = np.random.default_rng(seed)
    net = Net(arch)
    whiten_stem(net.stem, x_train[:2000])
    net.stem.weight.requires_grad_(config.train_stem)
    net = net.to(memory_format=torch.channels_last)
    batch = min(config.batch_size, len(x_train))
    steps_per_epoch = math.ceil(len(x_train) / batch)
    optimizer, schedule = _optimizer(net, config, config.epochs * steps_per_epoch)
    average = None
    if config.ema:
        from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn

        average = AveragedModel(
            net, multi_avg_fn=get_ema_multi_avg_fn(config.ema), use_buffers=True
        )
    for _epoch in range(config.epochs):
        augmented = augment(
            x_train,
            config.crop_pad,
            config.cutout,
            generator,
            config.zoom,
            config.rotate,
            config.color,
            config.grayscale,
            config.channel_shuffle,
        )
        augmented = augmented.contiguous(memory_format=torch.channels_last)
        order = torch.randperm(len(augmented), generator=generator)
        losses = []
        for start in range(0, len(order), batch):
            index = order[start : start + batch]
            if len(index) < 2:  # BatchNorm needs two samples; the next epoch gets it
                continue
            x, y = augmented[index], y_train[index]
            with torch.autocast("cpu", dtype=torch.bfloat16, enabled=config.bf16):
                loss = _loss(net, x, y, config, mixer)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            if config.sam:
                _sharpness_aware(net, x, y, config, mixer)
            optimizer.step()
            if schedule.last_epoch + 1 < schedule.total_steps:
                schedule.step()
            if average is not None:
                average.update_parameters(net)
            losses.append(loss.item())
        if not losses or not math.isfinite(losses[-1]):
            raise TrainingError("training diverged (the loss is not finite)", hint="lower --lr")
        current = average.module if average is not None else net
        predicted = predict_logits(current, x_val, False).argmax(1)
        report(float(np.mean(losses)), float((predicted == y_val).float().mean()))
    return (average.module if average is not None else net).eval()
