"""The ``batch``, ``watch`` and ``demo`` commands: thin layers with one-line errors."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from visiongate.cli.main import app, main
from visiongate.jobs.results import read_results


def test_batch_command_writes_the_results_file_and_prints_a_summary(
    settings, images, endpoint, tmp_path, monkeypatch
) -> None:
    monkeypatch.setenv("VISIONGATE_ENDPOINT_URL", endpoint.url)
    out = tmp_path / "results.csv"
    args = ["batch", "--bucket", "images", "--prefix", "in/", "--out", str(out), "-c", "2"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "images processed" in result.output and "12" in result.output
    assert sorted(r.key for r in read_results(out)) == images

    again = CliRunner().invoke(app, args)  # nothing left to do: resumed from the file
    assert again.exit_code == 0
    assert "skipped (already had a result)" in again.output


def run_main(argv: list[str], capsys) -> tuple[int, str]:
    with pytest.raises(SystemExit) as stop:
        main(argv)
    return stop.value.code, capsys.readouterr().err


def test_errors_are_one_line_with_a_hint(settings, endpoint, capsys, monkeypatch) -> None:
    monkeypatch.setenv("VISIONGATE_ENDPOINT_URL", "http://127.0.0.1:9")
    code, err = run_main(["batch", "--bucket", "images"], capsys)
    assert code == 2 and "error: no endpoint is listening at http://127.0.0.1:9" in err
    assert "visiongate serve" in err

    monkeypatch.setenv("VISIONGATE_ENDPOINT_URL", endpoint.url)
    code, err = run_main(["batch", "--bucket", "missing-bucket"], capsys)
    assert code == 2
    assert "error: bucket 'missing-bucket' does not exist" in err
    assert "hint:" in err and "Traceback" not in err

    code, err = run_main(["batch"], capsys)
    assert code == 2 and "--bucket is required" in err

    code, err = run_main(["batch", "--bucket", "images", "--out", "results.txt"], capsys)
    assert code == 2 and "unknown extension" in err

    code, err = run_main(["batch", "--aws"], capsys)
    assert code == 2 and "--aws needs --stack" in err

    code, err = run_main(["watch", "--bucket", "nothere"], capsys)
    assert code == 2 and "bucket 'nothere' does not exist" in err

    code, err = run_main(["demo", "--dataset", "cifar100"], capsys)
    assert code == 2 and "needs the CIFAR-100 archive" in err
