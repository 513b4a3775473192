"""Prometheus text with CloudWatch names, and the per-minute SQLite history the dashboard plots.
Names and units: https://docs.aws.amazon.com/sagemaker/latest/dg/monitoring-cloudwatch.html
"""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path

import numpy as np

from visiongate.serving import metrics_history
from visiongate.serving.metrics import EndpointMetrics, Histogram
from visiongate.serving.metrics_history import COLUMNS, MetricsHistory

REPO = Path(__file__).resolve().parents[2]
VALUE = r'"(?:[^"\\]|\\.)*"'
SAMPLE = re.compile(
    rf"^[A-Za-z_:][A-Za-z0-9_:]*(\{{[A-Za-z_]+={VALUE}(,[A-Za-z_]+={VALUE})*\}})? (-?[0-9.e+]+|\+Inf)$"
)


def test_histogram_buckets_are_cumulative() -> None:
    hist = Histogram((10, 100))
    for value in (5, 10, 50, 500):
        hist.observe(value)
    assert hist.lines("X", 'a="b"') == [
        'X_bucket{a="b",le="10"} 2',
        'X_bucket{a="b",le="100"} 3',
        'X_bucket{a="b",le="+Inf"} 4',
        'X_sum{a="b"} 565.0',
        'X_count{a="b"} 4',
    ]


def test_status_classes_are_counted_like_cloudwatch() -> None:
    metrics = EndpointMetrics("ep")
    for status in (200, 200, 400, 413, 424, 500, 503):
        metrics.record_invocation(status, 1000.0, 50.0)
    assert (metrics.invocations, metrics.errors_4xx, metrics.errors_5xx, metrics.model_errors) == (
        7,
        3,
        2,
        1,
    )


def test_render_is_valid_prometheus_text() -> None:
    metrics = EndpointMetrics('we"ird', "AllTraffic")
    metrics.record_invocation(200, 1500.0, 80.0)
    metrics.record_batch(3, [0.001, 0.002, 0.0005])
    metrics.gauges["QueueDepth"] = ("Requests waiting.", lambda: 4)
    text = metrics.render()
    names = set()
    for line in text.splitlines():
        if line.startswith("# TYPE"):
            names.add(line.split()[2])
        elif not line.startswith("#"):
            assert SAMPLE.match(line), line
    assert {
        "Invocations",
        "Invocation4XXErrors",
        "Invocation5XXErrors",
        "ModelLatency",
        "OverheadLatency",
        "BatchSize",
        "QueueTime",
        "QueueDepth",
    } <= names
    assert 'EndpointName="we\\"ird"' in text
    assert (
        'QueueTime_bucket{EndpointName="we\\"ird",VariantName="AllTraffic",le="1000"} 2' in text
    )  # 500 and 1000 us
    assert 'BatchSize_sum{EndpointName="we\\"ird",VariantName="AllTraffic"} 3.0' in text


def test_history_aggregates_per_minute_and_upserts(tmp_path: Path) -> None:
    now = [1_800_000_000.0 + 30]  # 30 s into a minute
    history = MetricsHistory(tmp_path / "db" / "vg.db", "ep", wall_clock=lambda: now[0], seed=0)
    latencies = [1000.0 + 10 * i for i in range(50)]
    for value in latencies:
        history.add_invocation(200, value, value / 2)
    history.add_invocation(400, 5.0, 0.0)
    history.add_invocation(424, 9.0, 8.0)
    history.add_batch(4)
    history.add_batch(2)
    assert history.flush()
    now[0] += 60  # next minute
    history.add_invocation(503, 1.0, 0.0)
    assert history.flush()
    assert history.flush()  # rewriting the current minute does not duplicate it
    with sqlite3.connect(tmp_path / "db" / "vg.db") as db:
        db.row_factory = sqlite3.Row
        rows = [dict(r) for r in db.execute("SELECT * FROM endpoint_metrics ORDER BY ts")]
    assert len(rows) == 2
    first, second = rows
    assert first["ts"] == 1_800_000_000 - 1_800_000_000 % 60 and first["minute"].endswith(":00Z")
    assert (
        first["invocations"],
        first["errors_4xx"],
        first["errors_5xx"],
        first["model_errors"],
    ) == (52, 2, 0, 1)
    p50, p90, p99 = np.percentile(latencies, [50, 90, 99])
    assert (first["latency_p50_us"], first["latency_p90_us"], first["latency_p99_us"]) == (
        p50,
        p90,
        p99,
    )
    assert first["model_latency_p50_us"] == p50 / 2
    assert (first["batches"], first["mean_batch_size"]) == (2, 3.0)
    assert (
        second["invocations"],
        second["errors_5xx"],
        second["latency_p50_us"],
        second["mean_batch_size"],
    ) == (1, 1, None, None)


def test_an_unwritable_database_is_logged_not_raised(tmp_path: Path, caplog) -> None:
    (tmp_path / "vg.db").mkdir()
    history = MetricsHistory(tmp_path / "vg.db", "ep")
    history.add_invocation(200, 1.0, 1.0)
    assert history.flush() is False
    assert "cannot write endpoint metrics" in caplog.text


def test_every_column_is_documented() -> None:
    doc = metrics_history.__doc__ or ""
    guide = (REPO / "docs" / "serving.md").read_text(encoding="utf-8")
    for column in COLUMNS:
        assert re.search(rf"\b{column}\b", doc), column
        assert re.search(rf"\b{column}\b", guide), column
