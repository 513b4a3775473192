"""`visiongate stepfunctions`: options, the --functions mapping, help that ends with an example."""

from __future__ import annotations

import pytest
import typer
from typer.testing import CliRunner

from visiongate.cli.main import app
from visiongate.cli.stepfunctions import parse_functions

runner = CliRunner()


def test_help_lists_every_option_and_ends_with_an_example():
    result = runner.invoke(app, ["stepfunctions", "--help"], terminal_width=200)
    assert result.exit_code == 0
    for option in ("--host", "--port", "--functions", "--mock-config", "--fast-time"):
        assert option in result.output
    command = typer.main.get_command(app).commands["stepfunctions"]
    assert command.help.strip().split("\n\n")[-1].startswith("Example: visiongate stepfunctions")


def test_functions_are_explicit_name_to_handler_pairs():
    assert parse_functions(["resize=pkg.handlers:resize", "a=m:h,b=n:g"]) == {
        "resize": "pkg.handlers:resize",
        "a": "m:h",
        "b": "n:g",
    }


@pytest.mark.parametrize("bad", ["resize", "resize=pkg.handlers", "=m:h", "x=:h", "x=m:"])
def test_malformed_functions_are_a_clear_error(bad):
    with pytest.raises(typer.Exit):
        parse_functions([bad])


def test_a_missing_mock_config_is_a_one_line_error(tmp_path):
    result = runner.invoke(
        app, ["stepfunctions", "--mock-config", str(tmp_path / "absent.json"), "--port", "0"]
    )
    assert result.exit_code != 0
    assert "does not exist" in " ".join(result.output.split())
