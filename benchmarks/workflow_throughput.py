"""Throughput of the whole three-step workflow against the local endpoint, vs the model alone.

    .venv/bin/python benchmarks/workflow_throughput.py [--images 1000] [--modes batched,per-image]

Baseline (the *in-process limit*): the same PNG bytes decoded with ``visiongate.imaging``
and classified by onnxruntime in batches of 64, in one process, no HTTP, no orchestration.

Measured, against ``visiongate serve`` running as its own process (as a user runs it;
``--endpoint thread`` runs it in this process instead), with the embedded engine, the Lambda
handlers in-process and the SQLite history:

* ``batched``: ``run_batch`` (what ``visiongate batch`` does): one execution of the batched
  three-step workflow per 64 images, 4 in flight, results collected per image;
* ``distributed``: one execution of a Distributed Map (ItemReader listObjectsV2 + ItemBatcher)
  whose item processor is the same batched workflow (results not collected);
* ``per-image``: ``run_batch --per-image``: one execution of the reference workflow per image.

Target from issue 7: the batched workflow at >= 30% of the in-process limit.

The model is the demo's digits model under ``--home`` (trained with the fast preset on
first use); images are the digits test split, repeated under distinct keys up to --images.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

from _common import free_port, print_environment, serve_command, wait_ready

REPO = Path(__file__).resolve().parents[1]


def prepare(settings, count: int):  # noqa: ANN001, ANN201
    """The demo model and ``count`` PNGs under s3://bench/images/ (reused when present)."""
    from visiongate.jobs.demo import DATASETS, demo_dir, ensure_dataset, ensure_model
    from visiongate.storage import iter_objects, open_store, parse_uri

    uri, _ = ensure_dataset(settings, "digits")
    model = demo_dir(settings) / "models" / "digits"
    ensure_model(settings, uri, model)
    store = open_store(settings)
    source = parse_uri(DATASETS["digits"])
    tests = [i.key for i in iter_objects(store, source.bucket, source.join("test").key + "/")]
    if not store.bucket_exists("bench"):
        store.create_bucket("bench")
    have = {i.key for i in iter_objects(store, "bench", "images/")}
    for n in range(count):
        key = f"images/{n:05d}.png"
        if key not in have:
            store.put("bench", key, store.get(source.bucket, tests[n % len(tests)]))
    keys = [f"images/{n:05d}.png" for n in range(count)]
    return model, [store.get("bench", k) for k in keys]


def in_process_limit(model_dir: Path, images: list[bytes], batch: int = 64) -> float:
    """Images/s: PNG decode + normalise + batched onnxruntime, nothing else."""
    import numpy as np

    from visiongate.imaging import preprocess
    from visiongate.serving.model import load_model_dir

    model = load_model_dir(model_dir)
    model.warm_up(batch)
    started = time.perf_counter()
    for i in range(0, len(images), batch):
        model.predict(np.stack([preprocess(d, model.prep) for d in images[i : i + batch]]))
    return len(images) / (time.perf_counter() - started)


def distributed_definition(batch_size: int, concurrency: int) -> str:
    """A Distributed Map over the prefix (ItemReader listObjectsV2 + ItemBatcher) whose item
    processor is the batched workflow's three states, unchanged: the AWS-scale shape."""
    import json

    from visiongate.jobs.runners import BATCHED_DEFINITION

    states = json.loads(BATCHED_DEFINITION.read_text())["States"]
    processor = {
        "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
        "StartAt": "Retrieve data",
        "States": states,
    }
    reader = {
        "Resource": "arn:aws:states:::s3:listObjectsV2",
        "Parameters": {"Bucket": "bench", "Prefix": "images/"},
    }
    classify = {
        "Type": "Map",
        "ItemReader": reader,
        "ItemBatcher": {"MaxItemsPerBatch": batch_size, "BatchInput": {"s3_bucket": "bench"}},
        "MaxConcurrency": concurrency,
        "ItemProcessor": processor,
        "ResultPath": None,
        "End": True,
    }
    return json.dumps({"StartAt": "Classify images", "States": {"Classify images": classify}})


def run_distributed(settings, count: int, batch_size: int, concurrency: int) -> float:  # noqa: ANN001
    """Images/s of one Distributed Map execution over the prefix (results not collected)."""
    from visiongate.jobs.runners import make_engine
    from visiongate.jobs.scope import job_environment

    with job_environment(settings):
        engine = make_engine(settings, max_workers=16)
        try:
            started = time.perf_counter()
            result = engine.run(
                distributed_definition(batch_size, concurrency), {}, state_machine_name="bench-dmap"
            )
            seconds = time.perf_counter() - started
        finally:
            engine.close()
    assert result.succeeded, (result.error, result.cause)
    return count / seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--images", type=int, default=1000)
    parser.add_argument("--modes", default="batched,distributed,per-image")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--per-image-concurrency", type=int, default=16)
    parser.add_argument("--repeats", type=int, default=3, help="runs per figure; median shown")
    parser.add_argument("--endpoint", choices=["process", "thread"], default="process")
    parser.add_argument("--home", type=Path, default=None, help="VISIONGATE_HOME (default: temp)")
    args = parser.parse_args()

    home = args.home or Path(tempfile.gettempdir()) / "visiongate-bench"
    os.environ["VISIONGATE_HOME"] = str(home)
    from visiongate.config import load_settings
    from visiongate.jobs.batch import BatchOptions, run_batch
    from visiongate.jobs.endpoint import LocalEndpoint

    database = home / "bench.db"  # its own history: keeps `executions list` of home clean
    for stale in home.glob("bench.db*"):
        stale.unlink()
    settings = load_settings().with_(db_path=database)
    print(f"preparing {args.images} images and the digits model under {home} ...", flush=True)
    model_dir, images = prepare(settings, args.images)

    limits = [in_process_limit(model_dir, images) for _ in range(args.repeats)]
    limit = statistics.median(limits)

    port = free_port()
    server = endpoint = None
    if args.endpoint == "process":
        server = subprocess.Popen(
            serve_command(model_dir, port, "--max-batch-size", "32"),
            stdout=subprocess.DEVNULL,
            env=dict(os.environ),
        )
        url = f"http://127.0.0.1:{port}"
        wait_ready(url, server, timeout=180.0)
    else:
        endpoint = LocalEndpoint(model_dir).start()
        url = endpoint.url
    figures: dict[str, list[float]] = {}
    try:
        run_settings = settings.with_(endpoint_url=url)
        for mode in [m.strip() for m in args.modes.split(",") if m.strip()]:
            if mode == "distributed":
                for _ in range(args.repeats):
                    rate = run_distributed(
                        run_settings, args.images, args.batch_size, args.concurrency
                    )
                    figures.setdefault(mode, []).append(rate)
                continue
            concurrency = args.per_image_concurrency if mode == "per-image" else args.concurrency
            options = BatchOptions(
                "bench",
                "images/",
                mode=mode,
                force=True,
                batch_size=args.batch_size,
                concurrency=concurrency,
            )
            for _ in range(args.repeats):
                report = run_batch(run_settings, options, store_logs=False)
                assert report.tally.done == args.images, report.tally
                figures.setdefault(mode, []).append(report.rate)
    finally:
        if server is not None:
            server.terminate()
            server.wait(30)
        if endpoint is not None:
            endpoint.close()

    print()
    print_environment("visiongate", "onnxruntime", "numpy", "boto3")
    print(f"endpoint   visiongate serve ({args.endpoint}), max batch 32; {args.images} digits PNGs")
    print(
        f"baseline   in-process limit (decode + onnxruntime, batches of 64): "
        f"{limit:7.0f} img/s  (runs: {', '.join(f'{x:.0f}' for x in limits)})"
    )
    for mode, rates in figures.items():
        rate = statistics.median(rates)
        setup = (
            f"{args.per_image_concurrency} in flight"
            if mode == "per-image"
            else f"batch {args.batch_size}, {args.concurrency} in flight"
        )
        print(
            f"workflow   {mode:<11} ({setup}): {rate:7.0f} img/s  = {rate / limit:6.1%} of the "
            f"limit  (runs: {', '.join(f'{x:.0f}' for x in rates)})"
        )
    if "batched" in figures:
        ratio = statistics.median(figures["batched"]) / limit
        verdict = "meets" if ratio >= 0.30 else "misses"
        print(
            f"target     batched workflow >= 30% of the in-process limit: {verdict} ({ratio:.1%})"
        )


if __name__ == "__main__":
    main()
