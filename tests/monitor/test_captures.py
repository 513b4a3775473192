"""The capture reader parses a real SageMaker Data Capture file and our own captures with the
same code. Format: https://docs.aws.amazon.com/sagemaker/latest/dg/model-monitor-data-capture-endpoint.html
"""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from PIL import Image

from visiongate.monitor.captures import (
    CaptureFormatError,
    CaptureSourceError,
    parse_capture_line,
    read_captures,
)
from visiongate.serving.capture import CaptureConfig, CaptureWriter
from visiongate.storage import LocalStore

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def record(
    output: str = "[0.25, 0.75]", encoding: str = "JSON", time: str = "2026-11-22T10:00:00Z", **meta
) -> dict:
    return {
        "captureData": {
            "endpointInput": {
                "observedContentType": "image/png",
                "mode": "INPUT",
                "data": base64.b64encode(PNG_MAGIC).decode(),
                "encoding": "BASE64",
            },
            "endpointOutput": {
                "observedContentType": "application/json",
                "mode": "OUTPUT",
                "data": output,
                "encoding": encoding,
            },
        },
        "eventMetadata": {"eventId": "e-1", "inferenceTime": time, **meta},
        "eventVersion": "0",
    }


def test_the_real_sagemaker_sample_parses(shared_dir: Path) -> None:
    sample = shared_dir / "fixtures" / "sagemaker-datacapture-sample.jsonl"
    records = list(read_captures(sample, strict=True))
    assert records
    first = records[0]
    assert first.event_id == "8bab5840-5583-40c1-b8c1-35f456ca6ce5"
    assert first.inference_id is None
    assert first.time == datetime(2025, 10, 4, 8, 44, 11, tzinfo=UTC)
    assert first.input_content_type == "image/png" and first.input_data.startswith(PNG_MAGIC)
    assert Image.open(__import__("io").BytesIO(first.input_data)).size == (32, 32)
    assert first.output_content_type == "application/json"
    assert first.probabilities == (0.8227921724319458, 0.1772077977657318)
    assert first.confidence == 0.8227921724319458 and first.predicted_index == 0
    assert first.source == f"{sample}:1"


def test_our_writer_and_the_sample_go_through_the_same_reader(
    shared_dir: Path, tmp_path: Path
) -> None:
    sample = json.loads(
        (shared_dir / "fixtures" / "sagemaker-datacapture-sample.jsonl").read_text().splitlines()[0]
    )
    image = base64.b64decode(sample["captureData"]["endpointInput"]["data"])
    store = LocalStore(tmp_path)
    writer = CaptureWriter(
        CaptureConfig("s3://captures/dc", "visiongate", flush_seconds=0.0), store
    )
    writer.prepare()
    writer.start()
    writer.offer(
        image, "image/png", b"[0.8227921724319458, 0.1772077977657318]", "application/json", "inf-9"
    )
    writer.close()
    ours = list(read_captures("s3://captures/dc", store=store, strict=True))
    theirs = list(
        read_captures(shared_dir / "fixtures" / "sagemaker-datacapture-sample.jsonl", strict=True)
    )
    assert len(ours) == 1
    assert ours[0].input_data == theirs[0].input_data
    assert ours[0].probabilities == theirs[0].probabilities
    assert ours[0].inference_id == "inf-9"
    # The same objects read as a local folder (the local store is plain files).
    assert [r.event_id for r in read_captures(tmp_path / "captures" / "dc")] == [ours[0].event_id]


@pytest.mark.parametrize(
    ("output", "encoding", "probabilities", "labels"),
    [
        ("[0.25, 0.75]", "JSON", (0.25, 0.75), None),
        ("[[0.25, 0.75]]", "JSON", (0.25, 0.75), None),
        ('{"probabilities": [0.5, 0.5], "labels": ["a", "b"]}', "JSON", (0.5, 0.5), ("a", "b")),
        ('{"prediction": [0.1, 0.9]}', "JSON", (0.1, 0.9), None),
        ("0.3,0.7", "CSV", (0.3, 0.7), None),
        (base64.b64encode(b"[0.6, 0.4]").decode(), "BASE64", (0.6, 0.4), None),
        ('{"label": "cat"}', "JSON", None, None),
    ],
)
def test_output_shapes(output, encoding, probabilities, labels) -> None:
    parsed = parse_capture_line(json.dumps(record(output, encoding)))
    assert parsed.probabilities == probabilities
    assert parsed.labels == labels


def test_input_only_capture_has_no_output() -> None:
    doc = record()
    del doc["captureData"]["endpointOutput"]
    parsed = parse_capture_line(doc)
    assert (
        parsed.input_data == PNG_MAGIC
        and parsed.output_text is None
        and parsed.probabilities is None
    )


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("not json", "not JSON"),
        ('{"something": 1}', "no captureData object"),
        ('{"captureData": {}}', "neither endpointInput nor endpointOutput"),
        (json.dumps(record(time="yesterday")), "inferenceTime 'yesterday' is not an ISO 8601 time"),
    ],
)
def test_malformed_lines_are_reported_with_their_place(
    tmp_path: Path, line: str, message: str
) -> None:
    path = tmp_path / "c.jsonl"
    path.write_text(json.dumps(record()) + "\n" + line + "\n")
    errors: list[CaptureFormatError] = []
    assert len(list(read_captures(path, errors=errors))) == 1
    assert len(errors) == 1 and message in errors[0].message and errors[0].source == f"{path}:2"
    with pytest.raises(CaptureFormatError, match=message):
        list(read_captures(path, strict=True))


def test_time_window_filters_records_and_skips_hour_folders(tmp_path: Path) -> None:
    for hour in (9, 10, 11):
        folder = tmp_path / "ep" / "AllTraffic" / "2026" / "11" / "22" / f"{hour:02d}"
        folder.mkdir(parents=True)
        lines = [json.dumps(record(time=f"2026-11-22T{hour:02d}:{m:02d}:00Z")) for m in (0, 30)]
        (folder / "00-00-000-x.jsonl").write_text("\n".join(lines))
    # A broken file in a skipped hour is never read.
    (tmp_path / "ep" / "AllTraffic" / "2026" / "11" / "22" / "09" / "broken.jsonl").write_text(
        "garbage"
    )
    since = datetime(2026, 11, 22, 10, 15, tzinfo=UTC)
    until = datetime(2026, 11, 22, 11, 0, tzinfo=UTC)
    errors: list = []
    times = [
        r.time.strftime("%H:%M")
        for r in read_captures(tmp_path, since=since, until=until, errors=errors)
    ]
    assert times == ["10:30", "11:00"]
    assert errors == []


def test_a_missing_location_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(CaptureSourceError, match="does not exist"):
        list(read_captures(tmp_path / "nowhere"))
