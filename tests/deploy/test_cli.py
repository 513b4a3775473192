"""`visiongate deploy …` from the command line: files written, one-line errors, examples."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from tests.deploy.conftest import ECR_IMAGE
from visiongate.cli.main import main

pytestmark = pytest.mark.filterwarnings("ignore:Tried to parse AWS::")


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    try:
        main(argv)
        code = 0
    except SystemExit as stop:
        code = int(stop.code or 0)
    out, err = capsys.readouterr()
    return code, out, " ".join(err.split())  # Rich wraps long lines on stderr


def test_template_to_a_file_with_parameter_defaults(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "template.yaml"
    code, _, err = run(
        [
            "deploy",
            "template",
            "--out",
            str(out),
            "--param",
            "EnableS3Trigger=true",
            "-p",
            "LogLevel=ALL",
        ],
        capsys,
    )
    assert code == 0, err
    template = yaml.safe_load(out.read_text())
    assert template["Parameters"]["EnableS3Trigger"]["Default"] == "true"
    assert template["Parameters"]["LogLevel"]["Default"] == "ALL"
    assert "StateMachine" in template["Resources"]
    assert f"wrote {out}" in err


def test_template_as_json_on_stdout_and_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(["deploy", "template"], capsys)
    assert code == 0 and yaml.safe_load(out)["AWSTemplateFormatVersion"] == "2010-09-09"
    path = tmp_path / "t.json"
    code, _, _ = run(["deploy", "template", "-o", str(path)], capsys)
    assert (
        code == 0
        and json.loads(path.read_text())["Resources"]["Endpoint"]["Type"]
        == "AWS::SageMaker::Endpoint"
    )


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["deploy", "template", "--param", "Threshold"], "--param 'Threshold' is not KEY=VALUE"),
        (["deploy", "template", "--param", "Nope=1"], "unknown template parameter 'Nope'"),
    ],
)
def test_bad_parameters_are_one_line_errors(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run(argv, capsys)
    assert code == 2
    assert message in err and "Traceback" not in err


def test_aws_without_credentials_is_a_one_line_error(
    aws: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    code, _, err = run(["deploy", "aws", "--stack", "vgnocreds", "--image-uri", ECR_IMAGE], capsys)
    assert code == 2
    assert "error: no AWS credentials found" in err
    assert "hint:" in err and "Traceback" not in err


def test_aws_without_image_uri_says_what_to_pass(
    aws: str, model_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run(["deploy", "aws", "--stack", "vgnoimage", "--model", str(model_dir)], capsys)
    assert code == 2
    assert "a new stack needs --image-uri" in err and "Traceback" not in err


def test_aws_outputs_destroy_round_trip(
    aws: str, stack_name: str, model_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(
        [
            "deploy",
            "aws",
            "--stack",
            stack_name,
            "--model",
            str(model_dir),
            "--image-uri",
            ECR_IMAGE,
        ],
        capsys,
    )
    assert code == 0, err
    assert "CREATE_COMPLETE" in out and "StateMachineArn" in out
    code, out, _ = run(["deploy", "outputs", "--stack", stack_name, "--json"], capsys)
    outputs = json.loads(out)
    assert outputs["StateMachineArn"].endswith(f":stateMachine:{stack_name}-image-classification")
    code, out, err = run(["deploy", "destroy", "--stack", stack_name, "--yes"], capsys)
    assert code == 0, err
    assert f"deleted stack {stack_name}" in out
    code, _, err = run(["deploy", "outputs", "--stack", stack_name], capsys)
    assert code == 2 and f"stack {stack_name} does not exist" in err


@pytest.mark.parametrize("command", ["template", "aws", "destroy", "outputs"])
def test_every_command_help_ends_with_an_example(
    command: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(["deploy", command, "--help"], capsys)
    assert code == 0
    assert "Example: visiongate deploy " + command in " ".join(out.split())
