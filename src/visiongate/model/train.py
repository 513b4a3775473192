"""Train the classifier on the CPU: the loop, its hyperparameters, and the validation split.

Readable in one sitting, in the spirit of nanoGPT and cifar10-airbench: every
hyperparameter is in :class:`TrainConfig`, the loop is one function, and the model
directory it ends in (see :mod:`.package`) records the config beside the weights.

Recipe for a thousand small images on two cores: the whole training split decoded once
into a normalised tensor; per epoch a fresh augmented copy (crop with reflect padding,
flip, cutout); SGD with Nesterov momentum under a one-cycle schedule; label smoothing;
bfloat16 autocast (the CPU's matrix units make it about twice as fast as float32);
an exponential moving average of the weights is the model we keep.
"""

from __future__ import annotations

import contextlib
import math
import os
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field, replace
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from visiongate.imaging import Preprocessing, normalize
from visiongate.model.augment import augment
from visiongate.model.datasets import Dataset
from visiongate.model.errors import TrainingError
from visiongate.model.network import Architecture, Ensemble, Net, whiten_stem


@dataclass(frozen=True)
class TrainConfig:
    """All hyperparameters; saved in model.json["hyperparameters"]."""

    epochs: int = 40
    batch_size: int = 64
    lr: float = 0.2  # peak of the one-cycle schedule
    warmup: float = 0.25  # share of steps spent rising to the peak
    momentum: float = 0.9
    weight_decay: float = 5e-4  # on conv/linear weights only
    label_smoothing: float = 0.2
    crop_pad: int = 4
    cutout: int = 8
    zoom: float = 0.0  # random zoom in [1 - zoom, 1 + zoom]
    rotate: float = 0.0  # random rotation, degrees either way
    color: float = 0.0  # random contrast/brightness change (normalised units)
    ema: float = 0.0  # weight-average decay per step (0 = off)
    mixup: float = 0.0  # Beta(a, a) mixing of image pairs (0 = off)
    ensemble: int = 1  # independently trained nets whose logits are averaged
    logit_scale: float = 0.125  # keeps initial logits small (max-pooled features are large)
    sam: float = 0.0  # sharpness-aware minimisation radius rho (0 = plain SGD; doubles the cost)
    val_fraction: float = 0.12
    seed: int = 0
    size: int = 32  # input height = width; larger images are resized
    widths: tuple[int, int, int] = (48, 96, 192)
    stem_width: int = 24
    residual: bool = True
    bn_scale: bool = False
    bn_momentum: float = 0.2
    train_stem: bool = False
    flip_tta: bool = False
    int8: bool = (
        True  # serve int8 convolutions (about 1.6x faster; float32 parity is checked first)
    )
    bf16: bool = True
    threads: int = 0  # 0 = the cores no other process is busy on (see pick_threads)

    def validate(self) -> TrainConfig:
        problems = []
        if self.epochs < 1:
            problems.append(f"epochs {self.epochs} < 1")
        if not 0.0 < self.val_fraction < 0.5:
            problems.append(f"val fraction {self.val_fraction} is not between 0 and 0.5")
        if self.batch_size < 2:
            problems.append(f"batch size {self.batch_size} < 2")
        if not 8 <= self.size <= 512:
            problems.append(f"size {self.size} is not between 8 and 512")
        if self.lr <= 0 or not 0 <= self.ema < 1 or not 0 <= self.label_smoothing < 1:
            problems.append("lr must be > 0, ema and label smoothing in [0, 1)")
        if self.mixup < 0 or self.threads < 0 or self.sam < 0:
            problems.append("mixup, sam and threads must not be negative")
        if not 1 <= self.ensemble <= 8:
            problems.append(f"ensemble {self.ensemble} is not between 1 and 8")
        if self.crop_pad >= self.size or self.cutout > self.size:
            problems.append(f"crop pad {self.crop_pad} and cutout {self.cutout} must be below size")
        if problems:
            raise TrainingError("invalid training settings: " + "; ".join(problems))
        return self


PRESETS: dict[str, TrainConfig] = {
    "default": TrainConfig(),
    # For the offline demo (digits): a few seconds of training, still > 0.95 accuracy.
    "fast": TrainConfig(epochs=8, widths=(16, 32, 64), stem_width=16, cutout=0, crop_pad=2),
}


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


def available_cores() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


def pick_threads(requested: int = 0) -> int:
    """Threads for PyTorch: ``requested``, or the cores other processes leave idle.

    Each training step runs hundreds of small parallel regions; when a core is busy with
    another process, every region waits for the descheduled thread, and two threads end up
    several times *slower* than one. So we only use cores the load average says are free.
    """
    cores = available_cores()
    if requested > 0:
        return min(requested, cores)
    try:
        busy = os.getloadavg()[0]
    except OSError:  # pragma: no cover - not available on this platform
        busy = 0.0
    return max(1, min(cores, math.floor(cores - busy + 0.5)))


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


@contextlib.contextmanager
def torch_settings(seed: int, threads: int) -> Iterator[None]:
    """Seeded, deterministic, ``threads`` threads; restores the caller's settings afterwards."""
    previous, deterministic = torch.get_num_threads(), torch.are_deterministic_algorithms_enabled()
    torch.set_num_threads(threads)
    torch.use_deterministic_algorithms(True, warn_only=True)
    torch.manual_seed(seed)
    try:
        yield
    finally:
        torch.set_num_threads(previous)
        torch.use_deterministic_algorithms(deterministic)


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


def config_from(preset: str = "default", **changes: Any) -> TrainConfig:
    """A preset with some fields changed (None values are ignored)."""
    if preset not in PRESETS:
        raise TrainingError(f"unknown preset {preset!r}", hint=f"use one of {', '.join(PRESETS)}")
    changes = {k: v for k, v in changes.items() if v is not None}
    unknown = set(changes) - set(asdict(PRESETS[preset]))
    if unknown:
        raise TrainingError(f"unknown training setting {', '.join(sorted(unknown))}")
    return replace(PRESETS[preset], **changes)
