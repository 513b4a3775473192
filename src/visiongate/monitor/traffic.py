"""From captured traffic to the arrays drift and confidence analytics compare.

A capture record needs four things: when it happened, the input bytes, their content
type, and the output probabilities. :func:`record_fields` accepts the capture reader's
records (``visiongate.monitor.captures``) as well as plain dicts in that shape, so the
analytics stay pure and testable without files.

Images are decoded with :func:`visiongate.imaging.decode_image` (untrusted bytes: a bad
image is counted, never fatal) and, when the model exposes an ``embedding`` output, run
through the model with onnxruntime to get embeddings for the embedding-distance check.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from visiongate.errors import VisiongateError
from visiongate.monitor.drift import (
    Baseline,
    BaselineError,
    DriftReport,
    Sample,
    Thresholds,
    compare,
    embedding_distances,
    load_baseline,
)
from visiongate.monitor.stats import STAT_NAMES, image_stats

Embedder = Callable[[list[bytes]], np.ndarray]


class NoTraffic(VisiongateError):
    """There is nothing captured to analyse in the window asked for."""


@dataclass(frozen=True)
class Observation:
    """One captured inference, reduced to what monitoring needs."""

    time: datetime | None
    input: bytes | None
    content_type: str
    probabilities: list[float]

    @property
    def predicted(self) -> int:
        return int(np.argmax(self.probabilities))

    @property
    def confidence(self) -> float:
        return float(max(self.probabilities))


def _get(record: Any, *names: str) -> Any:
    for name in names:
        value = record.get(name) if isinstance(record, dict) else getattr(record, name, None)
        if value is not None:
            return value
    return None


def _parse_time(value: Any) -> datetime | None:
    if value is None or isinstance(value, datetime):
        return value if value is None or value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, int | float):
        return datetime.fromtimestamp(float(value), UTC)
    try:
        parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _probabilities(value: Any) -> list[float] | None:
    if isinstance(value, bytes | str):
        try:
            value = json.loads(value)
        except ValueError:
            return None
    if isinstance(value, dict):
        value = value.get("probabilities", value.get("predictions"))
    if isinstance(value, list) and value and isinstance(value[0], list):
        value = value[0]  # a batch of one
    try:
        probs = [float(x) for x in value]
    except (TypeError, ValueError):
        return None
    return probs or None


def record_fields(record: Any) -> Observation | None:
    """An :class:`Observation` from a capture record (object or dict); None if unusable."""
    probs = _probabilities(
        _get(record, "probabilities", "output_probabilities", "output", "output_data")
    )
    if probs is None:
        return None
    data = _get(record, "input", "input_bytes", "input_data", "body")
    if isinstance(data, str):
        data = data.encode("latin-1", errors="ignore")
    return Observation(
        time=_parse_time(_get(record, "time", "inference_time", "timestamp")),
        input=data if isinstance(data, bytes) else None,
        content_type=str(_get(record, "content_type", "input_content_type") or ""),
        probabilities=probs,
    )


def observations(
    records: Iterable[Any], since: datetime | None = None, until: datetime | None = None
) -> list[Observation]:
    """Usable observations, in time order, inside [since, until)."""
    out = []
    for record in records:
        obs = record_fields(record)
        if obs is None:
            continue
        if since is not None and obs.time is not None and obs.time < since:
            continue
        if until is not None and obs.time is not None and obs.time >= until:
            continue
        out.append(obs)
    epoch = datetime.min.replace(tzinfo=UTC)
    out.sort(key=lambda o: o.time or epoch)
    return out


@dataclass
class SampleBuild:
    sample: Sample
    bad_images: int = 0
    notes: list[str] = field(default_factory=list)


def build_sample(
    obs: list[Observation],
    baseline: Baseline | None = None,
    embedder: Embedder | None = None,
    batch_size: int = 64,
) -> SampleBuild:
    """Arrays for :func:`visiongate.monitor.drift.compare` from observations."""
    from visiongate.imaging import ImageError, decode_image

    stats: dict[str, list[float]] = {name: [] for name in STAT_NAMES}
    good_inputs: list[bytes] = []
    bad = 0
    for o in obs:
        if o.input is None:
            continue
        try:
            values = image_stats(decode_image(o.input))
        except ImageError:
            bad += 1
            continue
        for name in STAT_NAMES:
            stats[name].append(values[name])
        good_inputs.append(o.input)
    notes = [f"{bad} captured inputs were not decodable images"] if bad else []
    distances = None
    if embedder is not None and baseline is not None and baseline.embedding_mean is not None:
        chunks = [
            embedder(good_inputs[i : i + batch_size])
            for i in range(0, len(good_inputs), batch_size)
        ]
        if chunks:
            distances = embedding_distances(np.concatenate(chunks), baseline.embedding_mean)
        else:
            distances = np.zeros(0)
    sample = Sample(
        predicted=np.asarray([o.predicted for o in obs], dtype=np.int64),
        confidence=np.asarray([o.confidence for o in obs], dtype=np.float64),
        image_stats={k: np.asarray(v, dtype=np.float64) for k, v in stats.items()},
        embedding_distances=distances,
    )
    return SampleBuild(sample=sample, bad_images=bad, notes=notes)


def load_embedder(model_dir: str | Path) -> Embedder | None:
    """A function bytes -> embeddings using the model's ``embedding`` output, or None.

    None when the model declares no embedding output or onnxruntime is not installed.
    """
    model_dir = Path(model_dir)
    try:
        meta = json.loads((model_dir / "model.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    output = (meta.get("outputs") or {}).get("embedding")
    if not output or not (model_dir / "model.onnx").is_file():
        return None
    try:
        import onnxruntime as ort
    except ImportError:
        return None
    from visiongate.imaging import Preprocessing, preprocess

    prep = Preprocessing.from_json(meta["input"])
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    session = ort.InferenceSession(
        str(model_dir / "model.onnx"), options, providers=["CPUExecutionProvider"]
    )
    input_name = session.get_inputs()[0].name

    def embed(images: list[bytes]) -> np.ndarray:
        batch = np.stack([preprocess(data, prep) for data in images]).astype(np.float32)
        return np.asarray(session.run([output], {input_name: batch})[0], dtype=np.float64)

    return embed


def drift_report(
    model_dir: str | Path,
    records: Iterable[Any],
    since: datetime | None = None,
    thresholds: Thresholds | None = None,
    embeddings: bool = True,
    source: str = "",
) -> DriftReport:
    """Load the baseline, reduce the capture records, and compare (the thin loader)."""
    baseline = load_baseline(model_dir)
    obs = observations(records, since=since)
    if not obs:
        raise NoTraffic(
            f"no usable capture records{f' in {source}' if source else ''}"
            f"{f' since {since.isoformat()}' if since else ''}",
            hint="send traffic to the endpoint with data capture on, or widen --since",
        )
    n_classes = len(baseline.classes)
    widths = {len(o.probabilities) for o in obs}
    if widths != {n_classes}:
        raise BaselineError(
            f"captured outputs have {sorted(widths)} probabilities but the model has "
            f"{n_classes} classes",
            hint="point --model at the model that served this traffic",
        )
    embedder = load_embedder(model_dir) if embeddings else None
    built = build_sample(obs, baseline, embedder)
    times = [o.time for o in obs if o.time is not None]
    context = {
        "model": str(model_dir),
        "captures": source,
        "since": since.isoformat() if since else None,
        "first": min(times).isoformat() if times else None,
        "last": max(times).isoformat() if times else None,
        "bad_images": built.bad_images,
        "embeddings": built.sample.embedding_distances is not None,
        "notes": built.notes,
    }
    return compare(baseline, built.sample, thresholds, context)


def read_capture_source(
    source: str, settings: Any = None, since: datetime | None = None
) -> list[Any]:
    """Capture records from a folder, a ``.jsonl`` file or an ``s3://`` prefix.

    Delegates to the data-capture reader (:func:`visiongate.monitor.captures.read_captures`),
    which also reads real SageMaker capture files; malformed lines are skipped.
    """
    from visiongate.monitor.captures import read_captures

    return list(read_captures(source, settings=settings, since=since))
