"""Data capture in SageMaker's format, written off the request path.

Each sampled invocation becomes one JSON line, exactly as SageMaker Model Monitor writes it::

    {"captureData": {"endpointInput":  {"observedContentType": "image/png", "mode": "INPUT",
                                        "data": "<base64>", "encoding": "BASE64"},
                     "endpointOutput": {"observedContentType": "application/json", "mode": "OUTPUT",
                                        "data": "[0.99, 0.01]", "encoding": "JSON"}},
     "eventMetadata": {"eventId": "<uuid>", "inferenceId": "<X-Amzn-SageMaker-Inference-Id>",
                       "inferenceTime": "2026-11-22T00:00:00Z"},
     "eventVersion": "0"}

Lines are grouped into objects ``{prefix}/{endpoint}/AllTraffic/yyyy/mm/dd/hh/MM-SS-mmm-<uuid>.jsonl``
in the configured object store (SageMaker's layout and file naming:
https://docs.aws.amazon.com/sagemaker/latest/dg/model-monitor-data-capture-endpoint.html).

The request path only samples and appends to a bounded queue (``offer`` never blocks, raises or
waits); a background thread encodes and writes. A full queue drops records (counted); a full
disk (StorageFull) pauses capture for ``pause_seconds`` instead of crashing or retrying hot.
"""

from __future__ import annotations

import base64
import json
import logging
import queue
import random
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from visiongate.errors import ConfigError
from visiongate.storage import ObjectStore, StorageFull, parse_uri

log = logging.getLogger(__name__)
_STOP = object()


@dataclass(frozen=True)
class CaptureConfig:
    destination: str  # s3://bucket/prefix in the configured store
    endpoint: str
    variant: str = "AllTraffic"
    percent: float = 100.0
    max_queue: int = 1000
    flush_seconds: float = 5.0
    max_records_per_file: int = 1000
    pause_seconds: float = 60.0

    def __post_init__(self) -> None:
        if not 0 <= self.percent <= 100:
            raise ConfigError(
                f"capture percentage {self.percent:g} is outside 0..100",
                hint="e.g. --capture-percent 20",
            )
        parse_uri(self.destination)  # raises InvalidKey with a hint


@dataclass(frozen=True)
class _Event:
    body: bytes
    content_type: str
    output: bytes
    output_content_type: str
    inference_id: str | None
    when: float


def build_record(event: _Event, event_id: str) -> dict:
    metadata = {"eventId": event_id}
    if event.inference_id:
        metadata["inferenceId"] = event.inference_id
    metadata["inferenceTime"] = datetime.fromtimestamp(event.when, UTC).strftime(
        "%Y-%m-%dT%H:%M:%SZ"
    )
    return {
        "captureData": {
            "endpointInput": {
                "observedContentType": event.content_type,
                "mode": "INPUT",
                "data": base64.b64encode(event.body).decode("ascii"),
                "encoding": "BASE64",
            },
            "endpointOutput": {
                "observedContentType": event.output_content_type,
                "mode": "OUTPUT",
                "data": event.output.decode("utf-8"),
                "encoding": "JSON",
            },
        },
        "eventMetadata": metadata,
        "eventVersion": "0",
    }


class CaptureWriter:
    """Samples invocations and writes them as SageMaker capture files from a thread."""

    def __init__(
        self,
        config: CaptureConfig,
        store: ObjectStore,
        *,
        rng: random.Random | None = None,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        self.config = config
        self.store = store
        self.target = parse_uri(config.destination)
        self.rng = rng or random.Random()
        self.clock = clock
        self.wall_clock = wall_clock
        self.written = 0
        self.dropped = 0
        self.files = 0
        self.paused_until: float | None = None
        self._queue: queue.Queue = queue.Queue(maxsize=config.max_queue)
        self._thread: threading.Thread | None = None

    @property
    def paused(self) -> bool:
        return self.paused_until is not None and self.clock() < self.paused_until

    def prepare(self) -> None:
        """Create the destination bucket if needed (at start, so a bad URI fails early)."""
        if not self.store.bucket_exists(self.target.bucket):
            self.store.create_bucket(self.target.bucket)

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="data-capture", daemon=True)
        self._thread.start()

    def offer(
        self,
        body: bytes,
        content_type: str,
        output: bytes,
        output_content_type: str,
        inference_id: str | None = None,
    ) -> bool:
        """Queue one invocation if sampled; never blocks. True if it was queued."""
        if self.config.percent < 100 and self.rng.random() * 100 >= self.config.percent:
            return False
        if self.paused:
            self.dropped += 1
            return False
        event = _Event(
            body, content_type, output, output_content_type, inference_id, self.wall_clock()
        )
        try:
            self._queue.put_nowait(event)
        except queue.Full:
            self.dropped += 1
            return False
        return True

    def close(self, timeout: float = 10.0) -> None:
        """Write what is queued, then stop the thread (bounded by ``timeout``)."""
        if self._thread is None:
            return
        try:
            self._queue.put(_STOP, timeout=timeout)
        except queue.Full:
            log.warning("data capture queue still full at shutdown; dropping its records")
        self._thread.join(timeout)
        self._thread = None

    # -- background thread -----------------------------------------------------
    def _run(self) -> None:
        pending: list[_Event] = []
        first = 0.0
        while True:
            wait = self.config.flush_seconds - (self.clock() - first) if pending else None
            try:
                item = self._queue.get(timeout=max(wait, 0.01) if wait is not None else None)
            except queue.Empty:
                item = None
            if item is _STOP:
                self._flush(pending)
                return
            if item is not None:
                if not pending:
                    first = self.clock()
                pending.append(item)
            full = len(pending) >= self.config.max_records_per_file
            if pending and (full or self.clock() - first >= self.config.flush_seconds):
                self._flush(pending)
                pending = []

    def _flush(self, events: list[_Event]) -> None:
        if not events:
            return
        if self.paused:
            self.dropped += len(events)
            return
        by_hour: dict[str, list[_Event]] = {}
        for event in events:
            hour = datetime.fromtimestamp(event.when, UTC).strftime("%Y/%m/%d/%H")
            by_hour.setdefault(hour, []).append(event)
        for hour, group in by_hour.items():
            self._write(hour, group)

    def _write(self, hour: str, events: list[_Event]) -> None:
        lines = [
            json.dumps(build_record(e, str(uuid.uuid4())), separators=(",", ":")) for e in events
        ]
        stamp = datetime.fromtimestamp(events[0].when, UTC)
        name = f"{stamp:%M-%S}-{stamp.microsecond // 1000:03d}-{uuid.uuid4()}.jsonl"
        parts = (self.target.key, self.config.endpoint, self.config.variant, hour, name)
        key = "/".join(p.strip("/") for p in parts if p and p.strip("/"))
        data = ("\n".join(lines) + "\n").encode("utf-8")
        try:
            self.store.put(self.target.bucket, key, data, content_type="application/jsonl")
        except StorageFull as exc:
            self.paused_until = self.clock() + self.config.pause_seconds
            self.dropped += len(events)
            log.warning("data capture paused for %gs: %s", self.config.pause_seconds, exc.message)
            return
        except Exception as exc:  # noqa: BLE001 - capture must never take the thread down
            self.dropped += len(events)
            log.warning("data capture could not write s3://%s/%s: %s", self.target.bucket, key, exc)
            return
        self.written += len(events)
        self.files += 1
