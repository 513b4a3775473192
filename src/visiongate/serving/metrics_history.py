"""Per-minute endpoint metrics persisted to SQLite, for the dashboard's charts over time.

The server aggregates each UTC minute in memory and upserts it into ``endpoint_metrics`` in
``Settings.database`` every few seconds (the current minute is rewritten until it ends) and on
shutdown. Writes happen off the event loop; a locked or broken database is logged, never fatal.

Schema (one row per endpoint, variant and minute)::

    endpoint_metrics(
        endpoint                TEXT    endpoint name (``--name``)
        variant                 TEXT    production variant, 'AllTraffic'
        ts                      INTEGER UTC start of the minute, Unix seconds (multiple of 60)
        minute                  TEXT    the same instant, ISO 8601 'YYYY-MM-DDTHH:MM:00Z'
        invocations             INTEGER requests to the invocation routes (CloudWatch Invocations)
        errors_4xx              INTEGER answered 4xx (Invocation4XXErrors)
        errors_5xx              INTEGER answered 5xx (Invocation5XXErrors)
        model_errors            INTEGER answered 424 ModelError (part of errors_4xx)
        latency_p50_us          REAL    end-to-end latency (ModelLatency + OverheadLatency) of
        latency_p90_us          REAL      successful requests, microseconds; NULL if none
        latency_p99_us          REAL
        model_latency_p50_us    REAL    ModelLatency of successful requests, microseconds
        model_latency_p99_us    REAL
        batches                 INTEGER onnxruntime calls
        mean_batch_size         REAL    images per call; NULL if no call
        updated_at              TEXT    ISO 8601 time of the last write of this row
        PRIMARY KEY (endpoint, variant, ts))

Percentiles are exact up to 10,000 requests per minute, then from a uniform reservoir sample.
"""

from __future__ import annotations

import logging
import random
import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

log = logging.getLogger(__name__)

SCHEMA = """
CREATE TABLE IF NOT EXISTS endpoint_metrics (
    endpoint             TEXT    NOT NULL,
    variant              TEXT    NOT NULL,
    ts                   INTEGER NOT NULL,
    minute               TEXT    NOT NULL,
    invocations          INTEGER NOT NULL,
    errors_4xx           INTEGER NOT NULL,
    errors_5xx           INTEGER NOT NULL,
    model_errors         INTEGER NOT NULL,
    latency_p50_us       REAL,
    latency_p90_us       REAL,
    latency_p99_us       REAL,
    model_latency_p50_us REAL,
    model_latency_p99_us REAL,
    batches              INTEGER NOT NULL,
    mean_batch_size      REAL,
    updated_at           TEXT    NOT NULL,
    PRIMARY KEY (endpoint, variant, ts)
)
"""
COLUMNS = (
    "endpoint", "variant", "ts", "minute", "invocations", "errors_4xx", "errors_5xx",
    "model_errors", "latency_p50_us", "latency_p90_us", "latency_p99_us",
    "model_latency_p50_us", "model_latency_p99_us", "batches", "mean_batch_size", "updated_at",
)  # fmt: skip
MAX_SAMPLES = 10_000


def iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class _Reservoir:
    def __init__(self, rng: random.Random, limit: int) -> None:
        self.values: list[float] = []
        self.seen = 0
        self.rng = rng
        self.limit = limit

    def add(self, value: float) -> None:
        self.seen += 1
        if len(self.values) < self.limit:
            self.values.append(value)
        else:
            slot = self.rng.randrange(self.seen)
            if slot < self.limit:
                self.values[slot] = value

    def percentiles(self, *qs: float) -> list[float | None]:
        if not self.values:
            return [None] * len(qs)
        return [float(v) for v in np.percentile(np.asarray(self.values), qs)]


@dataclass
class _Minute:
    rng: random.Random
    invocations: int = 0
    errors_4xx: int = 0
    errors_5xx: int = 0
    model_errors: int = 0
    batches: int = 0
    images: int = 0
    latency: _Reservoir = field(init=False)
    model_latency: _Reservoir = field(init=False)

    def __post_init__(self) -> None:
        self.latency = _Reservoir(self.rng, MAX_SAMPLES)
        self.model_latency = _Reservoir(self.rng, MAX_SAMPLES)


class MetricsHistory:
    def __init__(
        self,
        database: str | Path,
        endpoint: str,
        variant: str = "AllTraffic",
        wall_clock: Callable[[], float] = time.time,
        seed: int | None = None,
    ) -> None:
        self.database = Path(database)
        self.endpoint = endpoint
        self.variant = variant
        self.wall_clock = wall_clock
        self._rng = random.Random(seed)
        self._minutes: dict[int, _Minute] = {}

    def _current(self) -> _Minute:
        ts = int(self.wall_clock() // 60) * 60
        minute = self._minutes.get(ts)
        if minute is None:
            minute = self._minutes[ts] = _Minute(self._rng)
        return minute

    def add_invocation(self, status: int, total_us: float, model_us: float) -> None:
        minute = self._current()
        minute.invocations += 1
        if 400 <= status < 500:
            minute.errors_4xx += 1
            minute.model_errors += status == 424
        elif status >= 500:
            minute.errors_5xx += 1
        else:
            minute.latency.add(total_us)
            minute.model_latency.add(model_us)

    def add_batch(self, size: int) -> None:
        minute = self._current()
        minute.batches += 1
        minute.images += size

    def collect(self) -> list[tuple]:
        """Rows for every minute seen; minutes before the current one are forgotten after."""
        now_minute = int(self.wall_clock() // 60) * 60
        rows = []
        stamp = iso(self.wall_clock())
        for ts in sorted(self._minutes):
            m = self._minutes[ts]
            p50, p90, p99 = m.latency.percentiles(50, 90, 99)
            m50, m99 = m.model_latency.percentiles(50, 99)
            mean_batch = m.images / m.batches if m.batches else None
            rows.append(
                (self.endpoint, self.variant, ts, iso(ts), m.invocations, m.errors_4xx,
                 m.errors_5xx, m.model_errors, p50, p90, p99, m50, m99, m.batches,
                 mean_batch, stamp)
            )  # fmt: skip
            if ts < now_minute:
                del self._minutes[ts]
        return rows

    def write(self, rows: list[tuple]) -> bool:
        """Upsert ``rows`` (blocking: call from a worker thread). False if the database refused."""
        if not rows:
            return True
        placeholders = ", ".join("?" * len(COLUMNS))
        updates = ", ".join(f"{c} = excluded.{c}" for c in COLUMNS[4:])
        sql = (
            f"INSERT INTO endpoint_metrics ({', '.join(COLUMNS)}) VALUES ({placeholders}) "
            f"ON CONFLICT (endpoint, variant, ts) DO UPDATE SET {updates}"
        )
        try:
            self.database.parent.mkdir(parents=True, exist_ok=True)
            with sqlite3.connect(self.database, timeout=5) as conn:
                conn.execute(SCHEMA)
                conn.executemany(sql, rows)
            conn.close()
        except (sqlite3.Error, OSError) as exc:
            log.warning("cannot write endpoint metrics to %s: %s", self.database, exc)
            return False
        return True

    def flush(self) -> bool:
        return self.write(self.collect())
