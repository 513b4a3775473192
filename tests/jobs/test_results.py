"""The results file: both formats round-trip, writes are atomic, resume knows what is final."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest

from visiongate.jobs import results as results_module
from visiongate.jobs.results import (
    FAILED,
    SUCCEEDED,
    ResultRow,
    ResultsFile,
    ResultsFileError,
    deferred_interrupt,
    read_results,
    short_cause,
)

ROWS = [
    ResultRow("images", "a.png", "cat", 0.91, SUCCEEDED, execution_id="arn:1"),
    ResultRow(
        "images",
        'b,"odd".png',
        "dog",
        0.51,
        FAILED,
        "THRESHOLD_CONFIDENCE_NOT_MET",
        "top class 1 ('dog') has probability 0.51, below the threshold 0.75",
        "arn:2",
    ),
    ResultRow("images", "c.png", None, None, FAILED, "EndpointError", "cannot reach", "arn:3"),
]


@pytest.mark.parametrize("name", ["results.jsonl", "results.csv"])
def test_rows_round_trip_in_both_formats(tmp_path: Path, name: str) -> None:
    file = ResultsFile(tmp_path / name)
    for row in ROWS:
        file.add(row)
    assert file.flush(force=True)
    assert sorted(read_results(tmp_path / name), key=lambda r: r.key) == sorted(
        ROWS, key=lambda r: r.key
    )


def test_csv_has_the_documented_columns(tmp_path: Path) -> None:
    file = ResultsFile(tmp_path / "r.csv")
    file.add(ROWS[0])
    file.flush(force=True)
    header = (tmp_path / "r.csv").read_text().splitlines()[0]
    assert header == "bucket,key,label,confidence,status,error,cause,execution_id"


def test_a_result_is_final_only_when_the_image_decided_it() -> None:
    passed, below, endpoint_down = ROWS
    assert passed.final and below.final
    assert not endpoint_down.final  # the endpoint was down: try the image again next run
    assert ResultRow("b", "k", None, None, FAILED, "NotAnImageError").final
    assert not ResultRow("b", "k", None, None, FAILED, "States.Timeout").final


def test_loading_an_existing_file_resumes_it(tmp_path: Path) -> None:
    first = ResultsFile(tmp_path / "r.jsonl")
    for row in ROWS:
        first.add(row)
    first.flush(force=True)
    again = ResultsFile(tmp_path / "r.jsonl")
    assert again.loaded == 3
    assert again.is_done("images", "a.png")
    assert not again.is_done("images", "c.png")
    assert not again.is_done("images", "never-seen.png")


def test_a_failed_write_keeps_the_previous_file_whole(tmp_path: Path, monkeypatch) -> None:
    path = tmp_path / "r.jsonl"
    file = ResultsFile(path)
    file.add(ROWS[0])
    file.flush(force=True)
    before = path.read_bytes()

    def interrupted(*args):
        raise KeyboardInterrupt

    monkeypatch.setattr(results_module.os, "replace", interrupted)
    file.add(ROWS[1])
    with pytest.raises(KeyboardInterrupt):
        file.flush(force=True)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["r.jsonl"]  # no temp file left behind


def test_ctrl_c_during_a_write_is_delivered_after_the_rename(tmp_path: Path) -> None:
    path = tmp_path / "r.jsonl"
    delivered_after = []
    with pytest.raises(KeyboardInterrupt), deferred_interrupt():
        os.kill(os.getpid(), signal.SIGINT)  # arrives in the middle of the "write"
        path.write_text("complete\n")
        delivered_after.append(path.read_text())
    assert delivered_after == ["complete\n"]


def test_flushes_are_spaced_by_the_policy(tmp_path: Path) -> None:
    file = ResultsFile(tmp_path / "r.jsonl")
    file.add(ROWS[0])
    assert file.flush(now=100.0)
    file.add(ROWS[1])
    assert not file.flush(now=100.5)  # too soon
    assert file.flush(now=103.0)
    assert not file.flush(now=200.0)  # nothing new


def test_unknown_extension_and_foreign_files_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ResultsFileError, match="unknown extension"):
        ResultsFile(tmp_path / "results.txt")
    (tmp_path / "other.jsonl").write_text('{"hello": 1}\n')
    with pytest.raises(ResultsFileError, match="not a visiongate results file"):
        ResultsFile(tmp_path / "other.jsonl")
    (tmp_path / "other.csv").write_text("a,b\n1,2\n")
    with pytest.raises(ResultsFileError, match="lacks bucket"):
        ResultsFile(tmp_path / "other.csv")


def test_short_cause_takes_the_lambda_error_message() -> None:
    document = '{"errorMessage": "top class 1 is unsure", "errorType": "X", "stackTrace": []}'
    assert short_cause(document) == "top class 1 is unsure"
    assert short_cause("plain text") == "plain text"
    assert short_cause(None) is None
    assert len(short_cause("x" * 2000)) == results_module.MAX_CAUSE
