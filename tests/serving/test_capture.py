"""Data capture: SageMaker's record format and layout, sampling, and a writer that never
blocks, slows or fails a request — a full queue drops, a full disk pauses.
Format: https://docs.aws.amazon.com/sagemaker/latest/dg/model-monitor-data-capture-endpoint.html
"""

from __future__ import annotations

import json
import random
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from visiongate.errors import ConfigError
from visiongate.serving.capture import CaptureConfig, CaptureWriter, _Event, build_record
from visiongate.storage import InvalidKey, LocalStore, StorageFull

T0 = datetime(2026, 11, 22, 10, 59, 58, tzinfo=UTC).timestamp()


def config(**changes) -> CaptureConfig:
    values = {"destination": "s3://captures/dc", "endpoint": "visiongate", "flush_seconds": 0.0}
    values.update(changes)
    return CaptureConfig(**values)


def test_a_record_has_sagemakers_shape() -> None:
    event = _Event(b"\x89PNG", "image/png", b"[0.75, 0.25]", "application/json", "inf-1", T0)
    assert build_record(event, "evt-1") == {
        "captureData": {
            "endpointInput": {
                "observedContentType": "image/png",
                "mode": "INPUT",
                "data": "iVBORw==",
                "encoding": "BASE64",
            },
            "endpointOutput": {
                "observedContentType": "application/json",
                "mode": "OUTPUT",
                "data": "[0.75, 0.25]",
                "encoding": "JSON",
            },
        },
        "eventMetadata": {
            "eventId": "evt-1",
            "inferenceId": "inf-1",
            "inferenceTime": "2026-11-22T10:59:58Z",
        },
        "eventVersion": "0",
    }


def test_inference_id_is_omitted_when_not_given() -> None:
    event = _Event(b"x", "image/png", b"[1.0]", "application/json", None, T0)
    assert "inferenceId" not in build_record(event, "e")["eventMetadata"]


@pytest.mark.parametrize(
    ("changes", "error", "message"),
    [
        ({"percent": 150}, ConfigError, "capture percentage 150 is outside 0..100"),
        ({"destination": "captures/dc"}, InvalidKey, "is not an s3://bucket/prefix URI"),
    ],
)
def test_config_is_validated(changes, error, message) -> None:
    with pytest.raises(error, match=message):
        config(**changes)


def test_records_land_under_endpoint_variant_and_hour(tmp_path: Path) -> None:
    store = LocalStore(tmp_path)
    times = iter([T0, T0 + 3])  # 10:59:58 and 11:00:01 — two hours, two files
    writer = CaptureWriter(config(flush_seconds=60), store, wall_clock=lambda: next(times))
    writer.prepare()
    writer.start()
    assert writer.offer(b"a", "image/png", b"[1.0]", "application/json")
    assert writer.offer(b"b", "image/png", b"[1.0]", "application/json")
    writer.close()
    files = sorted(
        p.relative_to(tmp_path / "captures").as_posix() for p in tmp_path.rglob("*.jsonl")
    )
    assert [f.rsplit("/", 1)[0] for f in files] == [
        "dc/visiongate/AllTraffic/2026/11/22/10",
        "dc/visiongate/AllTraffic/2026/11/22/11",
    ]
    assert files[0].rsplit("/", 1)[1].startswith("59-58-000-")
    assert (writer.written, writer.files, writer.dropped) == (2, 2, 0)
    lines = (tmp_path / "captures" / files[0]).read_text().splitlines()
    assert json.loads(lines[0])["captureData"]["endpointInput"]["data"] == "YQ=="


@pytest.mark.parametrize("percent", [0, 30, 100])
def test_sampling_by_percentage(tmp_path: Path, percent: float) -> None:
    writer = CaptureWriter(
        config(percent=percent, max_queue=2000), LocalStore(tmp_path), rng=random.Random(1)
    )
    taken = sum(writer.offer(b"x", "image/png", b"[1.0]", "application/json") for _ in range(1000))
    if percent in (0, 100):
        assert taken == percent * 10
    else:
        assert 240 <= taken <= 360  # binomial(1000, 0.3) within 4.1 standard deviations


class BlockingStore(LocalStore):
    def __init__(self, root: Path) -> None:
        super().__init__(root)
        self.release = threading.Event()

    def put(self, *args, **kwargs):
        self.release.wait(10)
        return super().put(*args, **kwargs)


def test_offer_never_blocks_when_the_writer_is_stuck(tmp_path: Path) -> None:
    store = BlockingStore(tmp_path)
    writer = CaptureWriter(config(max_queue=2), store)
    writer.prepare()
    writer.start()
    slowest = 0.0
    accepted = 0
    for _ in range(10):
        started = time.perf_counter()
        accepted += writer.offer(b"x", "image/png", b"[1.0]", "application/json")
        slowest = max(slowest, time.perf_counter() - started)
    assert slowest < 0.05
    assert accepted in (2, 3)  # the queue, plus the record the stuck thread holds
    assert writer.dropped == 10 - accepted
    store.release.set()
    writer.close()
    assert writer.written == accepted


class FullDisk(LocalStore):
    full = True

    def put(self, bucket, key, data, content_type=None):
        if self.full:
            raise StorageFull(f"no space left to write s3://{bucket}/{key}; nothing was written")
        return super().put(bucket, key, data, content_type)


def test_a_full_disk_pauses_capture_then_it_resumes(tmp_path: Path) -> None:
    now = [100.0]
    store = FullDisk(tmp_path)
    writer = CaptureWriter(config(pause_seconds=60), store, clock=lambda: now[0])
    writer.prepare()
    writer.start()
    assert writer.offer(b"1", "image/png", b"[1.0]", "application/json")
    writer.close()  # flushes: the write hits StorageFull
    assert writer.paused and writer.dropped == 1 and writer.written == 0
    assert not writer.offer(b"2", "image/png", b"[1.0]", "application/json")  # paused: dropped
    assert writer.dropped == 2
    store.full = False
    now[0] += 60
    writer.start()
    assert writer.offer(b"3", "image/png", b"[1.0]", "application/json")
    writer.close()
    assert not writer.paused and writer.written == 1
