"""Confidence analytics: timeline against the threshold, per-class distribution, share failing."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from tests.monitor.conftest import CLASSES, T0
from visiongate.monitor.confidence import analyse, passes_gate, per_class, timeline
from visiongate.monitor.traffic import Observation, observations, read_capture_source


def obs(top: float, predicted: int, seconds: float | None) -> Observation:
    probs = [top, 1 - top] if predicted == 0 else [1 - top, top]
    when = None if seconds is None else T0 + timedelta(seconds=seconds)
    return Observation(when, None, "image/png", probs)


def test_the_gate_passes_at_the_threshold_and_fails_below():
    assert passes_gate(0.75, 0.75)
    assert not passes_gate(0.7499, 0.75)


def test_share_failing_and_per_class_counts():
    data = [obs(0.9, 0, 0), obs(0.6, 0, 1), obs(0.8, 1, 2), obs(0.55, 1, 3), obs(0.95, 1, 4)]
    report = analyse(data, CLASSES, threshold=0.75)
    assert (report.n, report.failing) == (5, 2)
    assert report.share_failing == pytest.approx(0.4)
    bike, moto = report.classes
    assert (bike.label, bike.n, bike.failing) == ("bicycle", 2, 1)
    assert (moto.label, moto.n, moto.failing) == ("motorcycle", 3, 1)
    assert bike.mean == pytest.approx(0.75)
    json.dumps(report.to_json(), allow_nan=False)


def test_histograms_put_each_confidence_in_its_tenth():
    distributions, edges = per_class(
        [obs(0.55, 0, 0), obs(0.95, 0, 1), obs(1.0, 0, 2)], CLASSES, 0.75
    )
    assert edges[0] == 0.0 and edges[-1] == 1.0 and len(edges) == 11
    assert distributions[0].histogram == [0, 0, 0, 0, 0, 1, 0, 0, 0, 2]
    assert sum(distributions[1].histogram) == 0


def test_timeline_buckets_cover_the_span_and_count_failures():
    data = [obs(0.9, 0, s) for s in range(0, 60)] + [obs(0.5, 1, s) for s in range(60, 120)]
    buckets = timeline(data, threshold=0.75, buckets=4)
    assert [b.n for b in buckets] == [30, 30, 30, 30]
    assert [b.failing for b in buckets] == [0, 0, 30, 30]
    assert buckets[0].mean == pytest.approx(0.9)
    assert buckets[0].start == T0.isoformat()


def test_observations_without_time_are_left_out_of_the_timeline_only():
    data = [obs(0.9, 0, None), obs(0.8, 0, 5)]
    report = analyse(data, CLASSES, 0.75)
    assert report.n == 2
    assert sum(b.n for b in report.timeline) == 1


def test_the_real_sagemaker_capture_sample(shared_dir):
    path = shared_dir / "fixtures" / "sagemaker-datacapture-sample.jsonl"
    data = observations(read_capture_source(str(path)))
    assert len(data) == 1
    [one] = data
    assert one.probabilities == pytest.approx([0.8227921724319458, 0.1772077977657318])
    assert one.time.isoformat() == "2025-10-04T08:44:11+00:00"
    assert one.input.startswith(b"\x89PNG")
    report = analyse(data, CLASSES, 0.75)
    assert (report.failing, report.classes[0].n) == (0, 1)
