"""The `visiongate` command: version, help, and an example at the end of every command's help.

The help walk covers whatever is registered, so it keeps holding as areas add commands.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from visiongate import __version__
from visiongate.cli.main import app

VISIONGATE = Path(sys.executable).parent / "visiongate"


def _walk(command: Any, path: tuple[str, ...] = ()) -> list[tuple[tuple[str, ...], Any]]:
    # Duck-typed: Typer >= 0.29 vendors its own click, whose Group is not click.Group.
    found = [(path, command)]
    for name, sub in sorted((getattr(command, "commands", None) or {}).items()):
        found += _walk(sub, (*path, name))
    return found


COMMANDS = _walk(typer.main.get_command(app))


def test_version_from_the_console_script() -> None:
    assert VISIONGATE.exists(), "run: .venv/bin/pip install --no-deps -e ."
    result = subprocess.run(
        [str(VISIONGATE), "--version"], capture_output=True, text=True, timeout=30
    )
    assert result.returncode == 0
    assert result.stdout.strip() == f"visiongate {__version__}"


def test_help_lists_every_registered_command() -> None:
    result = CliRunner().invoke(app, ["--help"])
    assert result.exit_code == 0
    top_level = [path[0] for path, _ in COMMANDS if len(path) == 1]
    assert "store" in top_level
    for name in top_level:
        assert name in result.output


def test_no_arguments_shows_help() -> None:
    result = CliRunner().invoke(app, [])
    assert "Usage" in result.output


@pytest.mark.parametrize(
    ("path", "command"), COMMANDS, ids=[" ".join(p) or "visiongate" for p, _ in COMMANDS]
)
def test_every_command_help_ends_with_an_example(path: tuple[str, ...], command: Any) -> None:
    help_text = (command.help or "").strip()
    last_paragraph = help_text.split("\n\n")[-1].strip()
    assert last_paragraph.startswith("Example: visiongate"), (
        f"`visiongate {' '.join(path)}` help must end with an 'Example: visiongate ...' line"
    )
    rendered = CliRunner().invoke(app, [*path, "--help"])
    assert rendered.exit_code == 0, rendered.output
    assert "Example: visiongate" in " ".join(rendered.output.split())
