"""``visiongate dataset``, ``train`` and ``evaluate``: thin wrappers over visiongate.model.

Heavy imports (torch, onnxruntime, numpy) happen inside the commands so the CLI starts fast.
"""

from __future__ import annotations

import json
from pathlib import Path

import typer

from visiongate.cli.common import console, err_console, settings

dataset_app = typer.Typer(
    help=(
        "Build a dataset (PNGs + SageMaker .lst manifests + classes.json) in a folder or the store.\n\n"
        "Example: visiongate dataset digits --out s3://datasets/digits"
    ),
    no_args_is_help=True,
)


def _classes(text: str | None) -> list[str] | None:
    return [c.strip() for c in text.split(",") if c.strip()] if text else None


@dataset_app.command("cifar100")
def dataset_cifar100(
    ctx: typer.Context,
    out: str = typer.Option(..., "--out", help="Folder or s3://bucket/prefix to write to."),
    archive: Path = typer.Option(None, "--archive", help="cifar-100-python.tar.gz to read."),
    download: bool = typer.Option(
        False, "--download", help="Fetch the archive from the official URL."
    ),
    classes: str = typer.Option(
        "bicycle,motorcycle", "--classes", help="Fine labels to keep, in label order."
    ),
) -> None:
    """Keep a few CIFAR-100 classes: train/test PNGs, train.lst/test.lst and classes.json.

    Example: visiongate dataset cifar100 --archive cifar-100-python.tar.gz --out s3://datasets/bikes
    """
    from visiongate.cli.common import fail
    from visiongate.model import cifar
    from visiongate.model.render import render_dataset

    config = settings(ctx)
    if archive is None and not download:
        fail("pass --archive PATH or --download", hint="the archive is cifar-100-python.tar.gz")
    if archive is None:
        with err_console.status("downloading CIFAR-100 (161 MB)"):
            archive = cifar.download(config.home / "cache")
    summary = cifar.build_dataset(
        archive, out, _classes(classes), settings=config, console=err_console
    )
    render_dataset(summary, console)


@dataset_app.command("digits")
def dataset_digits(
    ctx: typer.Context,
    out: str = typer.Option(..., "--out", help="Folder or s3://bucket/prefix to write to."),
) -> None:
    """scikit-learn's bundled handwritten digits as 32×32 PNGs (offline), train/test split.

    Example: visiongate dataset digits --out s3://datasets/digits
    """
    from visiongate.model import digits
    from visiongate.model.render import render_dataset

    summary = digits.build_dataset(out, settings=settings(ctx), console=err_console)
    render_dataset(summary, console)


def train(
    ctx: typer.Context,
    data: str = typer.Option(
        None,
        "--data",
        help="Dataset folder or s3://bucket/prefix (train.lst + train/, or class folders).",
    ),
    out: str = typer.Option(..., "--out", help="Model directory to write."),
    epochs: int = typer.Option(
        None, "--epochs", help="Passes over the training split (default 60)."
    ),
    seed: int = typer.Option(
        None, "--seed", help="Random seed; the same seed gives the same model."
    ),
    val_fraction: float = typer.Option(
        None,
        "--val-fraction",
        help="Share of each class held out for validation and calibration (default 0.12).",
    ),
    manifest: str = typer.Option(
        None, "--manifest", help="An explicit .lst manifest (with --images)."
    ),
    images: str = typer.Option(
        None, "--images", help="The folder the manifest's paths are relative to."
    ),
    classes: str = typer.Option(
        None,
        "--classes",
        help="Class names (comma-separated): picks classes, or names label numbers.",
    ),
    size: int = typer.Option(None, "--size", help="Input height and width in pixels (default 32)."),
    preset: str = typer.Option(
        "default",
        "--preset",
        help="Hyperparameter preset: default, or fast (a few seconds, for demos).",
    ),
    name: str = typer.Option(
        None, "--name", help="Model name recorded in model.json (default: the folder name)."
    ),
    int8: bool = typer.Option(
        None,
        "--int8/--float32",
        help="Serve int8 convolutions (default, ~1.6x faster) or keep model.onnx float32.",
    ),
    flip_tta: bool = typer.Option(
        None,
        "--flip-tta/--no-flip-tta",
        help="Average each image with its mirror inside the graph (more accurate, 2x inference).",
    ),
    activation: str = typer.Option(
        None,
        "--activation",
        help="gelu (default) or relu (the int8 model runs conv + ReLU fused, ~1.7x faster).",
    ),
    threads: int = typer.Option(
        None,
        "--threads",
        help="PyTorch threads (default: the cores not busy with other processes).",
    ),
    color_augment: bool = typer.Option(
        True,
        "--color-augment/--no-color-augment",
        help="Show some training images grey or with shuffled colour channels (default on); "
        "turn it off when colour is what tells your classes apart.",
    ),
) -> None:
    """Train the classifier on the CPU and write a model directory (ONNX + model.json + baseline).

    Example: visiongate train --data ../shared/datasets/cifar100-bikes --out models/bikes
    """
    from visiongate.model.hyperparameters import config_from
    from visiongate.model.package import train_model
    from visiongate.model.render import render_training

    config = config_from(
        preset,
        epochs=epochs,
        seed=seed,
        val_fraction=val_fraction,
        size=size,
        threads=threads,
        int8=int8,
        flip_tta=flip_tta,
        activation=activation,
        **({} if color_augment else {"grayscale": 0.0, "channel_shuffle": 0.0}),
    )
    report = train_model(
        data,
        out,
        config,
        manifest=manifest,
        images=images,
        classes=_classes(classes),
        name=name,
        settings=settings(ctx),
        console=err_console,
    )
    render_training(report, console)


def evaluate(
    ctx: typer.Context,
    model: str = typer.Option(..., "--model", help="Model directory (model.onnx + model.json)."),
    data: str = typer.Option(
        None,
        "--data",
        help="Labelled images: folder or s3://bucket/prefix (test.lst + test/, or class folders).",
    ),
    manifest: str = typer.Option(
        None, "--manifest", help="An explicit .lst manifest (with --images)."
    ),
    images: str = typer.Option(
        None, "--images", help="The folder the manifest's paths are relative to."
    ),
    target_accuracy: float = typer.Option(
        0.97,
        "--target-accuracy",
        min=0.0,
        max=1.0,
        help="Accuracy the recommended threshold must reach.",
    ),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object instead of tables."),
) -> None:
    """Accuracy, per-class precision/recall, confusion, calibration, and the threshold table.

    Example: visiongate evaluate --model models/bikes --data s3://datasets/bikes --target-accuracy 0.97
    """
    from visiongate.model.evaluate import evaluate as run_evaluation
    from visiongate.model.render import render_evaluation

    config = settings(ctx)
    result = run_evaluation(
        model,
        data,
        manifest=manifest,
        images=images,
        target_accuracy=target_accuracy,
        gate_threshold=config.threshold,
        settings=config,
        console=err_console,
    )
    if as_json:
        typer.echo(json.dumps(result.to_json(), indent=2))
    else:
        render_evaluation(result, console)


def register(app: typer.Typer) -> None:
    """Add this area's commands to ``app``."""
    app.add_typer(dataset_app, name="dataset")
    app.command("train")(train)
    app.command("evaluate")(evaluate)
