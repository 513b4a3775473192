"""The monitoring commands: thin over the library, exit 3 on drift, one-line errors."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime

import pytest
from typer.testing import CliRunner

from tests.monitor.conftest import baseline_from, traffic, write_captures, write_model_dir
from visiongate.cli.main import app, main
from visiongate.cli.monitor import DRIFT_EXIT_CODE, parse_since
from visiongate.config import load_settings
from visiongate.monitor.logs import install, log_context, uninstall

runner = CliRunner()


@pytest.fixture
def model_and_captures(tmp_path, rng):
    model = write_model_dir(tmp_path / "model", baseline_from(traffic(rng, 300)))
    same = write_captures(tmp_path / "same", traffic(rng, 120))
    bright = write_captures(tmp_path / "bright", traffic(rng, 120, shift=60))
    return model, same, bright


def test_drift_exits_0_on_unshifted_traffic_and_3_on_drift(model_and_captures):
    model, same, bright = model_and_captures
    ok = runner.invoke(app, ["monitor", "drift", "--model", str(model), "--captures", str(same)])
    assert ok.exit_code == 0, ok.output
    assert "overall: ok" in ok.output
    for column in ("test", "statistic", "threshold", "status", "p<0.01 & D>=0.2"):
        assert column in ok.output
    drift = runner.invoke(
        app, ["monitor", "drift", "--model", str(model), "--captures", str(bright)]
    )
    assert drift.exit_code == DRIFT_EXIT_CODE == 3
    assert "overall: drift" in drift.output


def test_drift_json_is_the_report(model_and_captures):
    model, _, bright = model_and_captures
    result = runner.invoke(
        app, ["monitor", "drift", "--model", str(model), "--captures", str(bright), "--json"]
    )
    assert result.exit_code == 3
    report = json.loads(result.output)
    assert report["status"] == "drift"
    brightness = next(c for c in report["checks"] if c["name"] == "brightness")
    assert brightness["test"] == "two-sample Kolmogorov-Smirnov"
    assert brightness["status"] == "drift"


def test_drift_since_filters_the_window(model_and_captures):
    model, _, bright = model_and_captures
    result = runner.invoke(
        app,
        [
            "monitor",
            "drift",
            "--model",
            str(model),
            "--captures",
            str(bright),
            "--since",
            "2030-01-01T00:00:00Z",
        ],
    )
    assert isinstance(result.exception, Exception)  # NoTraffic: main() turns it into a message


def test_errors_are_one_line_messages_not_tracebacks(tmp_path, capsys):
    with pytest.raises(SystemExit) as stop:
        main(["monitor", "drift", "--model", str(tmp_path), "--captures", str(tmp_path)])
    assert stop.value.code == 2
    err = " ".join(capsys.readouterr().err.split())
    assert "baseline.json does not exist" in err
    assert "Traceback" not in err


def test_parse_since_accepts_durations_and_times():
    now = datetime(2026, 11, 22, 12, tzinfo=UTC)
    assert parse_since("90m", now) == datetime(2026, 11, 22, 10, 30, tzinfo=UTC)
    assert parse_since("1d", now) == datetime(2026, 11, 21, 12, tzinfo=UTC)
    assert parse_since("2026-11-20T00:00:00Z", now) == datetime(2026, 11, 20, tzinfo=UTC)
    assert parse_since(None, now) is None


def test_cost_prints_prices_date_and_totals():
    result = runner.invoke(app, ["monitor", "cost", "--images", "1000"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert "us-east-1" in result.output and "2026-11-22" in result.output
    assert "$0.025 per 1,000" in result.output
    assert "total with Standard: $84.0262" in result.output
    data = json.loads(runner.invoke(app, ["monitor", "cost", "--images", "1000", "--json"]).output)
    assert data["totals"]["standard"] == pytest.approx(84.0262, abs=1e-4)


def test_confidence_command_reads_the_real_sagemaker_sample(shared_dir):
    path = shared_dir / "fixtures" / "sagemaker-datacapture-sample.jsonl"
    result = runner.invoke(app, ["monitor", "confidence", "--captures", str(path), "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["n"] == 1


def test_logs_prints_an_executions_entries():
    database = load_settings().database
    handler = install(database)
    try:
        log = logging.getLogger("visiongate.functions.classify")
        with log_context(
            execution_arn="arn:aws:states:us-east-1:1:execution:sm:run-7", state="Classify"
        ):
            log.info("classified <b>cat.png</b>")
        with log_context(execution_arn="arn:aws:states:us-east-1:1:execution:sm:run-8"):
            log.info("someone else")
    finally:
        uninstall(handler)
    text = runner.invoke(app, ["logs", "--execution", "run-7"])
    assert text.exit_code == 0
    assert "classify [Classify] classified <b>cat.png</b>" in text.output
    assert "someone else" not in text.output
    lines = runner.invoke(app, ["logs", "--json"]).output.strip().splitlines()
    assert [json.loads(line)["execution_arn"].rsplit(":", 1)[1] for line in lines] == [
        "run-7",
        "run-8",
    ]


def test_every_monitoring_command_ends_its_help_with_an_example():
    for args in (
        ["monitor", "drift"],
        ["monitor", "confidence"],
        ["monitor", "cost"],
        ["logs"],
        ["dashboard"],
    ):
        result = runner.invoke(app, [*args, "--help"], env={"COLUMNS": "200"})
        assert "Example: visiongate" in result.output, args
