"""``visiongate demo``: from nothing to classified images with one command, offline.

    result = run_demo(settings, DemoOptions())      # digits; DemoOptions("cifar100", archive=...)

1. **Dataset** — scikit-learn's bundled digits rendered to PNG (or the CIFAR-100
   bicycle/motorcycle subset from the archive) into the local store at
   ``s3://datasets/<name>/``; reused when its manifests and images are there.
2. **Model** — trained with the ``fast`` preset into ``<home>/demo/models/<name>``; reused
   when the model server can load it.
3. **Endpoint** — the model server in this process on a free port, data capture on
   (``s3://captures/datacapture``), metrics in the database.
4. **Workflow** — the held-out images as a batch through the embedded engine (batched mode,
   see :mod:`visiongate.jobs.batch`); every image is processed again on each run.
5. **Report** — ``<home>/demo/results.jsonl`` and ``<home>/demo/report.html``.

Each phase is timed; a re-run reuses the dataset and the model and redoes 3-5.
``fresh`` rebuilds everything.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from visiongate.config import Settings
from visiongate.errors import VisiongateError
from visiongate.jobs.batch import BatchOptions, BatchReport, run_batch
from visiongate.jobs.report import Summary, summarize, write_report
from visiongate.storage import StorageError, StoreURI, iter_objects, open_store

DATASETS = {"digits": "s3://datasets/digits", "cifar100": "s3://datasets/cifar100-bikes"}
CAPTURES = "s3://captures/datacapture"
SPLIT = "test"  # the held-out images the workflow classifies


class DemoError(VisiongateError):
    """The demo cannot run as asked."""


@dataclass(frozen=True)
class DemoOptions:
    dataset: str = "digits"
    archive: Path | None = None  # cifar-100-python.tar.gz, for dataset "cifar100"
    fresh: bool = False  # rebuild the dataset, retrain, forget earlier results
    train_config: Any = None  # a visiongate.model.train.TrainConfig; default: preset "fast"
    limit: int | None = None  # classify at most this many held-out images
    concurrency: int = 4
    batch_size: int = 64


@dataclass
class DemoResult:
    dataset: str
    dataset_uri: str
    model_dir: Path
    classes: list[str]
    threshold: float
    summary: Summary
    batch: BatchReport
    results_path: Path
    report_path: Path
    captures: str
    timings: dict[str, float] = field(default_factory=dict)
    reused: dict[str, bool] = field(default_factory=dict)

    @property
    def total_seconds(self) -> float:
        return sum(self.timings.values())


def demo_dir(settings: Settings) -> Path:
    return Path(settings.home) / "demo"


@contextmanager
def _timed(timings: dict[str, float], phase: str) -> Iterator[None]:
    started = time.perf_counter()
    try:
        yield
    finally:
        timings[phase] = time.perf_counter() - started


# -- dataset ---------------------------------------------------------------------------------
def read_manifest(store: Any, uri: StoreURI, split: str = SPLIT) -> dict[str, int]:
    """``<split>.lst`` as {store key of the image: label number} (SageMaker's .lst format)."""
    try:
        text = store.get(uri.bucket, uri.join(f"{split}.lst").key).decode("utf-8")
    except (StorageError, UnicodeDecodeError):
        return {}
    labels = {}
    for line in text.splitlines():
        parts = line.split("\t")
        if len(parts) >= 3 and parts[1].strip().lstrip("-").isdigit():
            labels[uri.join(split, parts[-1].strip()).key] = int(parts[1])
    return labels


def read_classes(store: Any, uri: StoreURI) -> list[str] | None:
    import json

    try:
        classes = json.loads(store.get(uri.bucket, uri.join("classes.json").key))
    except (StorageError, ValueError):
        return None
    return [str(c) for c in classes] if isinstance(classes, list) else None


def dataset_ready(store: Any, uri: StoreURI) -> bool:
    """Manifests, classes and every held-out image listed are present."""
    if not store.bucket_exists(uri.bucket) or read_classes(store, uri) is None:
        return False
    if not read_manifest(store, uri, "train"):
        return False
    expected = read_manifest(store, uri, SPLIT)
    present = {info.key for info in iter_objects(store, uri.bucket, uri.join(SPLIT).key + "/")}
    return bool(expected) and set(expected) <= present


def ensure_dataset(
    settings: Settings,
    name: str,
    *,
    archive: Path | None = None,
    fresh: bool = False,
    console: Any = None,
) -> tuple[str, bool]:
    """The dataset's URI, building it when absent (or ``fresh``); and whether it was reused."""
    from visiongate.storage import parse_uri

    if name not in DATASETS:
        raise DemoError(f"unknown demo dataset {name!r}", hint=f"use one of {', '.join(DATASETS)}")
    text = DATASETS[name]
    uri = parse_uri(text)
    store = open_store(settings)
    if not fresh and dataset_ready(store, uri):
        return text, True
    if name == "digits":
        from visiongate.model import digits

        digits.build_dataset(text, settings=settings, console=console)
    else:
        if archive is None:
            raise DemoError(
                "the cifar100 demo needs the CIFAR-100 archive",
                hint="pass --archive cifar-100-python.tar.gz "
                "(https://www.cs.toronto.edu/~kriz/cifar.html)",
            )
        from visiongate.model import cifar

        cifar.build_dataset(archive, text, settings=settings, console=console)
    return text, False


# -- model -----------------------------------------------------------------------------------
def model_ready(model_dir: Path) -> bool:
    """True if the model server can load the directory (its own complete check)."""
    if not (model_dir / "model.json").is_file():
        return False
    from visiongate.serving.errors import ModelLoadError
    from visiongate.serving.model import load_model_dir

    try:
        load_model_dir(model_dir, threads=1)
    except ModelLoadError:
        return False
    return True


def ensure_model(
    settings: Settings,
    dataset_uri: str,
    model_dir: Path,
    *,
    config: Any = None,
    fresh: bool = False,
    console: Any = None,
) -> bool:
    """Train into ``model_dir`` unless a loadable model is there; True if it was reused."""
    if not fresh and model_ready(model_dir):
        return True
    from visiongate.model.package import train_model
    from visiongate.model.train import config_from

    if model_dir.exists():
        shutil.rmtree(model_dir)
    train_model(
        dataset_uri,
        model_dir,
        config or config_from("fast"),
        settings=settings,
        console=console,
        name=f"demo-{model_dir.name}",
    )
    return False


# -- the whole demo --------------------------------------------------------------------------
def run_demo(
    settings: Settings,
    options: DemoOptions | None = None,
    *,
    console: Any = None,
    on_phase: Callable[[str], None] | None = None,
) -> DemoResult:
    """Dataset → model → endpoint → workflow over the held-out images → results and report."""
    import json

    from visiongate.jobs.endpoint import LocalEndpoint
    from visiongate.storage import parse_uri

    options = options or DemoOptions()
    announce = on_phase or (lambda phase: None)
    home = demo_dir(settings)
    home.mkdir(parents=True, exist_ok=True)
    timings: dict[str, float] = {}
    reused: dict[str, bool] = {}
    results_path = home / "results.jsonl"
    if options.fresh:
        results_path.unlink(missing_ok=True)

    announce("dataset")
    with _timed(timings, "dataset"):
        dataset_uri, reused["dataset"] = ensure_dataset(
            settings,
            options.dataset,
            archive=options.archive,
            fresh=options.fresh,
            console=console,
        )
    uri = parse_uri(dataset_uri)
    store = open_store(settings)
    classes = read_classes(store, uri) or []
    truth = {key: classes[n] for key, n in read_manifest(store, uri).items() if n < len(classes)}

    model_dir = home / "models" / options.dataset
    announce("train")
    with _timed(timings, "train"):
        reused["model"] = ensure_model(
            settings,
            dataset_uri,
            model_dir,
            config=options.train_config,
            fresh=options.fresh,
            console=console,
        )
    meta = json.loads((model_dir / "model.json").read_text(encoding="utf-8"))
    model_classes = [str(c) for c in meta.get("classes", classes)]

    announce("serve")
    with _timed(timings, "serve"):
        endpoint = LocalEndpoint(
            model_dir,
            endpoint_name=settings.endpoint_name,
            capture=CAPTURES,
            store=store,
            database=Path(settings.database),
        ).start()
    try:
        announce("workflow")
        with _timed(timings, "workflow"):
            batch = run_batch(
                endpoint.settings(settings),
                BatchOptions(
                    uri.bucket,
                    uri.join(SPLIT).key + "/",
                    out=results_path,
                    concurrency=options.concurrency,
                    batch_size=options.batch_size,
                    force=True,
                    labels=tuple(model_classes),
                    limit=options.limit,
                ),
                store=store,
                console=console,
            )
    finally:
        with _timed(timings, "stop"):
            endpoint.close()  # drains: the capture files are complete afterwards

    announce("report")
    with _timed(timings, "report"):
        summary = summarize(batch.rows, truth)
        report_path = write_report(
            home / "report.html",
            batch.rows,
            threshold=settings.threshold,
            truth=truth,
            classes=model_classes,
            title=f"visiongate demo: {options.dataset}",
            facts={
                "throughput": f"{batch.rate:.0f} images/s ({batch.seconds:.2f} s)",
                "model": str(model_dir),
                "dataset": dataset_uri,
                "executions": f"{batch.tally.executions} of {batch.state_machine_arn}",
            },
        )
    return DemoResult(
        dataset=options.dataset,
        dataset_uri=dataset_uri,
        model_dir=model_dir,
        classes=model_classes,
        threshold=settings.threshold,
        summary=summary,
        batch=batch,
        results_path=results_path,
        report_path=report_path,
        captures=CAPTURES,
        timings=timings,
        reused=reused,
    )
