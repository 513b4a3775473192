"""`visiongate run`, `validate`, `executions ...`, `send-task-*`: thin commands over the engine."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from visiongate.cli.main import app

runner = CliRunner()

HELLO = {
    "StartAt": "Hello",
    "States": {"Hello": {"Type": "Pass", "Result": {"greeting": "Hello World!"}, "End": True}},
}
FAILING = {
    "StartAt": "Wait",
    "States": {
        "Wait": {"Type": "Wait", "Seconds": 600, "Next": "Boom"},
        "Boom": {"Type": "Fail", "Error": "Boom", "Cause": "it broke"},
    },
}


@pytest.fixture
def files(tmp_path: Path) -> dict[str, Path]:
    paths = {}
    for name, definition in (("hello", HELLO), ("failing", FAILING)):
        path = tmp_path / f"{name}.asl.json"
        path.write_text(json.dumps(definition))
        paths[name] = path
    bad = tmp_path / "bad.asl.json"
    bad.write_text(json.dumps({"StartAt": "Nowhere", "States": {"A": {"Type": "Pass"}}}))
    paths["bad"] = bad
    return paths


def test_run_prints_the_outcome_and_exits_zero(files: dict[str, Path]) -> None:
    result = runner.invoke(
        app, ["run", "--definition", str(files["hello"]), "--input", '{"a": 1}', "--name", "first"]
    )
    assert result.exit_code == 0, result.output
    assert "SUCCEEDED" in result.output
    assert "Hello World!" in result.output
    assert "execution:hello:first" in result.output


def test_failed_run_exits_non_zero_with_error_and_cause(files: dict[str, Path]) -> None:
    result = runner.invoke(app, ["run", "--definition", str(files["failing"]), "--fast-time"])
    assert result.exit_code == 1
    assert "FAILED" in result.output and "Boom" in result.output and "it broke" in result.output


def test_run_rejects_bad_input_json(files: dict[str, Path]) -> None:
    result = runner.invoke(app, ["run", "--definition", str(files["hello"]), "--input", "{nope"])
    assert result.exit_code == 2
    assert "not valid JSON" in result.output


def test_validate_lists_every_problem(files: dict[str, Path]) -> None:
    good = runner.invoke(app, ["validate", str(files["hello"])])
    assert good.exit_code == 0 and "valid" in good.output
    bad = runner.invoke(app, ["validate", str(files["bad"])])
    assert bad.exit_code == 1
    assert "MISSING_TRANSITION_TARGET" in bad.output
    assert "problem(s)" in bad.output


def test_executions_list_show_history(files: dict[str, Path]) -> None:
    runner.invoke(app, ["run", "--definition", str(files["hello"]), "--name", "listed"])
    listed = runner.invoke(app, ["executions", "list"])
    assert listed.exit_code == 0 and "listed" in listed.output and "SUCCEEDED" in listed.output
    assert "listed" not in runner.invoke(app, ["executions", "list", "--status", "FAILED"]).output
    shown = runner.invoke(app, ["executions", "show", "listed"])
    assert shown.exit_code == 0 and "Hello World!" in shown.output
    history = runner.invoke(app, ["executions", "history", "listed", "--json"])
    events = json.loads(history.output)
    assert [e["type"] for e in events] == [
        "ExecutionStarted",
        "PassStateEntered",
        "PassStateExited",
        "ExecutionSucceeded",
    ]
    reverse = runner.invoke(app, ["executions", "history", "listed", "--json", "--reverse"])
    assert json.loads(reverse.output)[0]["type"] == "ExecutionSucceeded"


def test_unknown_execution_is_a_one_line_error() -> None:
    from visiongate.cli.main import main

    with pytest.raises(SystemExit) as stopped:
        main(["executions", "show", "nothing-here"])
    assert stopped.value.code == 2


def test_executions_redrive(files: dict[str, Path], tmp_path: Path) -> None:
    runner.invoke(
        app, ["run", "--definition", str(files["failing"]), "--fast-time", "--name", "again"]
    )
    result = runner.invoke(app, ["executions", "redrive", "again", "--fast-time"])
    assert result.exit_code == 1  # the Fail state fails again, but the execution was redriven
    shown = runner.invoke(app, ["executions", "history", "again", "--json"])
    assert "ExecutionRedriven" in [e["type"] for e in json.loads(shown.output)]


def test_send_task_commands_report_aws_errors() -> None:
    from visiongate.cli.main import main

    for command in (
        ["send-task-success", "--task-token", "unknown"],
        ["send-task-failure", "--task-token", "unknown"],
        ["send-task-heartbeat", "--task-token", "unknown"],
    ):
        with pytest.raises(SystemExit) as stopped:
            main(command)
        assert stopped.value.code == 2


def test_every_command_help_ends_with_an_example() -> None:
    for command in (
        ["run"],
        ["validate"],
        ["executions", "list"],
        ["executions", "show"],
        ["executions", "history"],
        ["executions", "redrive"],
        ["executions", "resume"],
        ["executions", "stop"],
        ["send-task-success"],
        ["send-task-failure"],
        ["send-task-heartbeat"],
    ):
        result = runner.invoke(app, [*command, "--help"])
        assert result.exit_code == 0
        assert "Example: visiongate" in result.output, command
