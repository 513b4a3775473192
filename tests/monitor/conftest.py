"""Monitoring fixtures: synthetic images, SageMaker-format capture files, model directories."""

from __future__ import annotations

import base64
import io
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from visiongate.monitor.stats import image_stats

CLASSES = ["bicycle", "motorcycle"]
T0 = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)


def png_bytes(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(array.astype(np.uint8)).save(buffer, format="PNG")
    return buffer.getvalue()


def photos(rng: np.random.Generator, n: int, shift: float = 0.0, size: int = 32) -> list[bytes]:
    """``n`` noisy RGB images whose brightness varies around 110 (+ ``shift``)."""
    out = []
    for _ in range(n):
        level = rng.normal(110.0, 20.0) + shift
        noise = rng.normal(0.0, 30.0, size=(size, size, 3))
        out.append(png_bytes(np.clip(level + noise, 0, 255)))
    return out


def confidences(rng: np.random.Generator, n: int, low: float = 0.6) -> np.ndarray:
    """Top probabilities in [low, 1): a Beta skewed towards confident."""
    return low + (1 - low) * rng.beta(5, 1.5, size=n) * 0.999


def probabilities(top: float, predicted: int, k: int = 2) -> list[float]:
    rest = (1 - top) / (k - 1)
    return [top if i == predicted else rest for i in range(k)]


def capture_line(image: bytes, probs: list[float], when: datetime) -> str:
    """One line of SageMaker's data-capture format (as in ../shared/fixtures)."""
    return json.dumps(
        {
            "captureData": {
                "endpointInput": {
                    "observedContentType": "image/png",
                    "mode": "INPUT",
                    "data": base64.b64encode(image).decode(),
                    "encoding": "BASE64",
                },
                "endpointOutput": {
                    "observedContentType": "application/json",
                    "mode": "OUTPUT",
                    "data": json.dumps(probs),
                    "encoding": "JSON",
                },
            },
            "eventMetadata": {
                "eventId": f"e-{when.timestamp()}",
                "inferenceTime": when.isoformat(),
            },
            "eventVersion": "0",
        }
    )


def traffic(
    rng: np.random.Generator,
    n: int,
    shift: float = 0.0,
    mix: float = 0.5,
    low: float = 0.6,
    start: datetime = T0,
) -> list[dict]:
    """Capture records (dict shape) with images, predictions and times one second apart."""
    images = photos(rng, n, shift)
    tops = confidences(rng, n, low)
    predicted = (rng.random(n) >= mix).astype(int)  # share ``mix`` predicted class 0
    return [
        {
            "time": start + timedelta(seconds=i),
            "input": images[i],
            "content_type": "image/png",
            "probabilities": probabilities(float(tops[i]), int(predicted[i])),
        }
        for i in range(n)
    ]


def baseline_from(records: list[dict], classes: list[str] = CLASSES) -> dict:
    """baseline.json computed the way training does (MODEL_DIR.md), from validation records."""
    stats = [image_stats(Image.open(io.BytesIO(r["input"]))) for r in records]
    predicted = [int(np.argmax(r["probabilities"])) for r in records]
    counts = np.bincount(predicted, minlength=len(classes))
    return {
        "n": len(records),
        "classes": classes,
        "class_mix": (counts / counts.sum()).tolist(),
        "confidence": [max(r["probabilities"]) for r in records],
        "image_stats": {
            k: [s[k] for s in stats] for k in ("brightness", "contrast", "width", "height")
        },
    }


def write_model_dir(path: Path, baseline: dict, classes: list[str] = CLASSES) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    (path / "baseline.json").write_text(json.dumps(baseline))
    (path / "model.json").write_text(
        json.dumps(
            {
                "format_version": 1,
                "name": "test",
                "classes": classes,
                "input": {
                    "height": 32,
                    "width": 32,
                    "channels": 3,
                    "mean": [0.5, 0.5, 0.5],
                    "std": [0.25, 0.25, 0.25],
                },
                "outputs": {"probabilities": "probabilities"},
            }
        )
    )
    return path


def write_captures(folder: Path, records: list[dict], per_file: int = 50) -> Path:
    """Capture files laid out like SageMaker's (endpoint/variant/yyyy/mm/dd/hh/*.jsonl)."""
    for index in range(0, len(records), per_file):
        chunk = records[index : index + per_file]
        when = chunk[0]["time"]
        target = folder / "visiongate" / "AllTraffic" / when.strftime("%Y/%m/%d/%H")
        target.mkdir(parents=True, exist_ok=True)
        lines = [capture_line(r["input"], r["probabilities"], r["time"]) for r in chunk]
        (target / f"part-{index:05d}.jsonl").write_text("\n".join(lines) + "\n")
    return folder


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(20261122)


# --- a realistic engine database for the dashboard ------------------------------------------

DEFINITION = json.dumps(
    {
        "StartAt": "Retrieve data",
        "States": {
            "Retrieve data": {
                "Type": "Task",
                "Resource": "arn:aws:states:::lambda:invoke",
                "Next": "Inference",
            },
            "Inference": {
                "Type": "Task",
                "Resource": "arn:aws:states:::lambda:invoke",
                "Next": "Valid confidence",
            },
            "Valid confidence": {
                "Type": "Task",
                "Resource": "arn:aws:states:::lambda:invoke",
                "End": True,
            },
        },
    }
)
MACHINE = "arn:aws:states:us-east-1:123456789012:stateMachine:image-classification"
EVIL_KEY = '<script>alert("x")</script>&.png'


def _event(arn, i, t, kind, details=None):
    return (arn, i, max(i - 1, 0), t, kind, json.dumps(details) if details else None)


def _store_rows(store, events):
    """Our (arn, id, previous, time, type, details) rows as ``Store.insert_execution`` takes
    them: (id, previous_event_id, timestamp, type, details, data) with no separate payload."""
    del store  # the shape is the store's public contract, not its table layout
    return [(*event[1:], None) for event in events]


def _task(arn, ids, t, name, inp, out=None, error=None):
    """The events of one Lambda Task state (entered, scheduled, started, then result)."""
    events = [
        _event(
            arn,
            next(ids),
            t,
            "TaskStateEntered",
            {"stateEnteredEventDetails": {"name": name, "input": json.dumps(inp)}},
        ),
        _event(
            arn,
            next(ids),
            t + 0.001,
            "TaskScheduled",
            {
                "taskScheduledEventDetails": {
                    "resourceType": "lambda",
                    "resource": "invoke",
                    "region": "us-east-1",
                    "parameters": "{}",
                }
            },
        ),
        _event(
            arn,
            next(ids),
            t + 0.002,
            "TaskStarted",
            {"taskStartedEventDetails": {"resourceType": "lambda", "resource": "invoke"}},
        ),
    ]
    if error is not None:
        events.append(
            _event(
                arn,
                next(ids),
                t + 0.02,
                "TaskFailed",
                {
                    "taskFailedEventDetails": {
                        "resourceType": "lambda",
                        "resource": "invoke",
                        "error": error[0],
                        "cause": error[1],
                    }
                },
            )
        )
    elif out is not None:
        events += [
            _event(
                arn,
                next(ids),
                t + 0.02,
                "TaskSucceeded",
                {
                    "taskSucceededEventDetails": {
                        "resourceType": "lambda",
                        "resource": "invoke",
                        "output": json.dumps(out),
                    }
                },
            ),
            _event(
                arn,
                next(ids),
                t + 0.021,
                "TaskStateExited",
                {"stateExitedEventDetails": {"name": name, "output": json.dumps(out)}},
            ),
        ]
    return events


def seed_execution(store, name, key, outcome, start, probs=(0.9, 0.1)):
    """One execution of the 3-step workflow: 'succeeded', 'failed' (at the gate) or 'running'."""
    import itertools

    arn = f"arn:aws:states:us-east-1:123456789012:execution:image-classification:{name}"
    ids = itertools.count(1)
    inp = {"s3_bucket": "images", "s3_key": key}
    body = {"s3_bucket": "images", "s3_key": key, "image_data": "iVBORw0" * 100}
    scored = {"statusCode": 200, "body": {**body, "inferences": list(probs)}}
    events = [
        _event(
            arn,
            next(ids),
            start,
            "ExecutionStarted",
            {"executionStartedEventDetails": {"input": json.dumps(inp)}},
        )
    ]
    events += _task(arn, ids, start + 0.01, "Retrieve data", inp, {"statusCode": 200, "body": body})
    if outcome == "running":
        events += _task(arn, ids, start + 0.05, "Inference", {"statusCode": 200, "body": body})
        status, output, error, cause, stop = "RUNNING", None, None, None, None
    else:
        events += _task(
            arn, ids, start + 0.05, "Inference", {"statusCode": 200, "body": body}, scored
        )
        if outcome == "succeeded":
            events += _task(arn, ids, start + 0.1, "Valid confidence", scored, scored)
            events.append(
                _event(
                    arn,
                    next(ids),
                    start + 0.2,
                    "ExecutionSucceeded",
                    {"executionSucceededEventDetails": {"output": json.dumps(scored)}},
                )
            )
            status, output, error, cause = "SUCCEEDED", json.dumps(scored), None, None
        else:
            cause = json.dumps(
                {
                    "errorMessage": f"top class 0 has probability {probs[0]}, below "
                    "the threshold 0.75",
                    "errorType": "THRESHOLD_CONFIDENCE_NOT_MET",
                }
            )
            events += _task(
                arn,
                ids,
                start + 0.1,
                "Valid confidence",
                scored,
                error=("THRESHOLD_CONFIDENCE_NOT_MET", cause),
            )
            events.append(
                _event(
                    arn,
                    next(ids),
                    start + 0.2,
                    "ExecutionFailed",
                    {
                        "executionFailedEventDetails": {
                            "error": "THRESHOLD_CONFIDENCE_NOT_MET",
                            "cause": cause,
                        }
                    },
                )
            )
            status, output, error = "FAILED", None, "THRESHOLD_CONFIDENCE_NOT_MET"
        stop = start + 0.2
    store.insert_execution(
        {
            "arn": arn,
            "name": name,
            "state_machine_arn": MACHINE,
            "state_machine_name": "image-classification",
            "type": "STANDARD",
            "definition": DEFINITION,
            "status": status,
            "input": json.dumps(inp),
            "output": output,
            "error": error,
            "cause": cause,
            "start_date": start,
            "stop_date": stop,
            "last_event_id": len(events),
        },
        _store_rows(store, events),
    )
    return arn


@pytest.fixture
def seeded():
    """settings + a database with a succeeded, a failed, a running and a hostile execution."""
    from visiongate.config import load_settings

    settings = load_settings()
    return settings, seed_database(settings)


def seed_database(settings):
    import logging

    from visiongate.monitor.logs import install, log_context, uninstall
    from visiongate.sfn.store import Store

    store = Store(settings.database)
    now = datetime.now(UTC).timestamp()
    arns = {
        "ok": seed_execution(store, "run-ok", "bikes/bike-1.png", "succeeded", now - 300),
        "failed": seed_execution(
            store, "run-failed", "bikes/blurry.png", "failed", now - 200, probs=(0.6, 0.4)
        ),
        "running": seed_execution(store, "run-running", "bikes/slow.png", "running", now - 10),
        "evil": seed_execution(
            store, "run-evil", EVIL_KEY, "succeeded", now - 100, probs=(0.2, 0.8)
        ),
    }
    store.close()
    handler = install(settings.database)
    try:
        log = logging.getLogger("visiongate.functions.filter_confidence")
        with log_context(execution_arn=arns["failed"], state="Valid confidence", request_id="r1"):
            log.warning("gate failed for <b>blurry</b>")
        with log_context(execution_arn=arns["ok"], state="Valid confidence", request_id="r2"):
            log.info("passed")
    finally:
        uninstall(handler)
    return arns


@pytest.fixture(scope="module")
def model_and_captures(tmp_path_factory):
    """A model with a baseline, and brighter captured traffic (built once: images are slow)."""
    import numpy as np

    rng = np.random.default_rng(7)
    root = tmp_path_factory.mktemp("drift")
    model = write_model_dir(root / "model", baseline_from(traffic(rng, 200)))
    captures = write_captures(root / "captures", traffic(rng, 80, shift=60))
    return model, captures
