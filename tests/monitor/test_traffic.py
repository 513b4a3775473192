"""Capture records -> observations: tolerant of shapes, strict about untrusted content."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from tests.monitor.conftest import T0, capture_line, traffic
from visiongate.config import load_settings
from visiongate.errors import VisiongateError
from visiongate.monitor.traffic import (
    observations,
    read_capture_source,
    record_fields,
)
from visiongate.storage import open_store


def test_probabilities_may_be_a_list_json_text_a_batch_or_an_object():
    for value in ([0.2, 0.8], "[0.2, 0.8]", [[0.2, 0.8]], {"probabilities": [0.2, 0.8]}):
        obs = record_fields({"probabilities": value, "time": "2026-11-22T12:00:00Z"})
        assert obs.probabilities == [0.2, 0.8]
        assert (obs.predicted, obs.confidence) == (1, 0.8)
        assert obs.time == datetime(2026, 11, 22, 12, tzinfo=UTC)


@pytest.mark.parametrize("bad", [None, "", "not json", [], {"x": 1}, ["a", "b"]])
def test_records_without_usable_probabilities_are_skipped(bad):
    assert record_fields({"probabilities": bad}) is None


def test_observations_are_windowed_and_sorted_by_time():
    records = [
        {"probabilities": [0.9, 0.1], "time": T0 + timedelta(seconds=s)} for s in (30, 10, 20, 0)
    ]
    window = observations(
        records, since=T0 + timedelta(seconds=10), until=T0 + timedelta(seconds=30)
    )
    assert [o.time for o in window] == [T0 + timedelta(seconds=10), T0 + timedelta(seconds=20)]


def test_capture_files_with_broken_lines_keep_the_good_ones(tmp_path, rng):
    [record] = traffic(rng, 1)
    good = capture_line(record["input"], record["probabilities"], record["time"])
    (tmp_path / "a.jsonl").write_text(f'{good}\nnot json\n{{"other": 1}}\n\n{good}\n')
    assert len(read_capture_source(str(tmp_path))) == 2


def test_captures_under_an_s3_prefix_of_the_configured_store(rng):
    settings = load_settings()
    store = open_store(settings)
    store.create_bucket("captures")
    records = traffic(rng, 3)
    lines = [capture_line(r["input"], r["probabilities"], r["time"]) for r in records]
    store.put(
        "captures", "visiongate/AllTraffic/2026/11/22/12/part.jsonl", "\n".join(lines).encode()
    )
    store.put("captures", "visiongate/readme.txt", b"ignored")
    found = read_capture_source("s3://captures/visiongate", settings)
    assert len(found) == 3
    assert observations(found)[0].input == records[0]["input"]


def test_a_missing_source_is_a_clear_error(tmp_path):
    with pytest.raises(VisiongateError, match="does not exist"):
        read_capture_source(str(tmp_path / "missing"))


def test_json_output_data_may_also_be_base64(tmp_path, rng):
    import base64

    [record] = traffic(rng, 1)
    line = json.loads(capture_line(record["input"], [0.3, 0.7], record["time"]))
    out = line["captureData"]["endpointOutput"]
    out["data"], out["encoding"] = base64.b64encode(b"[0.3, 0.7]").decode(), "BASE64"
    (tmp_path / "b.jsonl").write_text(json.dumps(line))
    [obs] = observations(read_capture_source(str(tmp_path / "b.jsonl")))
    assert obs.probabilities == [0.3, 0.7]
