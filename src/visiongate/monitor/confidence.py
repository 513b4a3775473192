"""Confidence analytics from captured traffic: how close does the gate run to its threshold?

* a timeline: top confidence per time bucket (mean, 10th percentile, minimum) against
  the threshold line, with how many images in the bucket failed the gate;
* the distribution of top confidence per predicted class (a histogram over [0, 1]);
* the share of images failing the gate, overall and per class.

An image *passes* the gate when its top probability reaches the threshold
(:func:`passes_gate`), the rule of the reference ``filter_confidence`` function;
otherwise the execution fails with ``THRESHOLD_CONFIDENCE_NOT_MET``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import Any

import numpy as np

from visiongate.monitor.traffic import Observation


def passes_gate(confidence: float, threshold: float) -> bool:
    """The confidence gate: some class reaches the threshold."""
    return confidence >= threshold


@dataclass(frozen=True)
class Bucket:
    start: str
    end: str
    n: int
    mean: float
    p10: float
    minimum: float
    failing: int


@dataclass(frozen=True)
class ClassDistribution:
    label: str
    n: int
    failing: int
    mean: float
    histogram: list[int]  # counts per bin over [0, 1]


@dataclass(frozen=True)
class ConfidenceReport:
    threshold: float
    n: int
    failing: int
    mean: float
    timeline: list[Bucket]
    classes: list[ClassDistribution]
    bins: list[float]  # bin edges of the per-class histograms

    @property
    def share_failing(self) -> float:
        return self.failing / self.n if self.n else 0.0

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["share_failing"] = self.share_failing
        return data


def _bucket_width(first: datetime, last: datetime, buckets: int) -> timedelta:
    span = (last - first).total_seconds()
    # Round to a readable width: whole seconds, at least one.
    return timedelta(seconds=max(1, int(np.ceil(span / max(buckets, 1))) or 1))


def timeline(obs: list[Observation], threshold: float, buckets: int = 30) -> list[Bucket]:
    """Top confidence per time bucket; observations without a time are left out."""
    timed = [o for o in obs if o.time is not None]
    if not timed:
        return []
    first = min(o.time for o in timed)
    last = max(o.time for o in timed)
    width = _bucket_width(first, last, buckets)
    groups: dict[int, list[float]] = {}
    for o in timed:
        index = int((o.time - first) / width)
        groups.setdefault(index, []).append(o.confidence)
    out = []
    for index in sorted(groups):
        values = np.asarray(groups[index])
        start = first + index * width
        out.append(
            Bucket(
                start=start.isoformat(),
                end=(start + width).isoformat(),
                n=len(values),
                mean=float(values.mean()),
                p10=float(np.percentile(values, 10)),
                minimum=float(values.min()),
                failing=int(sum(not passes_gate(v, threshold) for v in values)),
            )
        )
    return out


def per_class(
    obs: list[Observation], classes: list[str], threshold: float, bins: int = 10
) -> tuple[list[ClassDistribution], list[float]]:
    """Histogram of top confidence per predicted class (labels past ``classes`` are numbered)."""
    edges = np.linspace(0.0, 1.0, bins + 1)
    width = max((len(o.probabilities) for o in obs), default=len(classes))
    labels = list(classes) + [f"class {i}" for i in range(len(classes), width)]
    out = []
    for index, label in enumerate(labels):
        values = np.asarray([o.confidence for o in obs if o.predicted == index], dtype=float)
        counts, _ = np.histogram(np.clip(values, 0.0, 1.0), bins=edges)
        out.append(
            ClassDistribution(
                label=label,
                n=len(values),
                failing=int(sum(not passes_gate(v, threshold) for v in values)),
                mean=float(values.mean()) if len(values) else 0.0,
                histogram=[int(c) for c in counts],
            )
        )
    return out, [float(e) for e in edges]


def analyse(
    obs: list[Observation], classes: list[str], threshold: float, buckets: int = 30, bins: int = 10
) -> ConfidenceReport:
    """The whole confidence picture for a list of observations."""
    confidences = np.asarray([o.confidence for o in obs], dtype=float)
    distributions, edges = per_class(obs, classes, threshold, bins)
    return ConfidenceReport(
        threshold=threshold,
        n=len(obs),
        failing=int(sum(not passes_gate(v, threshold) for v in confidences)),
        mean=float(confidences.mean()) if len(confidences) else 0.0,
        timeline=timeline(obs, threshold, buckets),
        classes=distributions,
        bins=edges,
    )
