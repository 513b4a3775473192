"""The README cannot go stale: its two set-up commands exist, and every `visiongate ...` line in
its code blocks names a real command with real options."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest
import typer.main

from visiongate.cli.main import app

REPO = Path(__file__).resolve().parents[1]
README = (REPO / "README.md").read_text(encoding="utf-8")


def _code_lines() -> list[str]:
    blocks = re.findall(r"```(?:bash|sh)?\n(.*?)```", README, flags=re.S)
    return [line.strip() for block in blocks for line in block.splitlines() if line.strip()]


def _visiongate_lines() -> list[str]:
    return [line for line in _code_lines() if line.startswith("visiongate ")]


def test_the_readme_starts_with_make_demo_and_make_test() -> None:
    first = _code_lines()[:2]
    assert [line.split("#")[0].strip() for line in first] == ["make demo", "make test"]
    makefile = (REPO / "Makefile").read_text(encoding="utf-8")
    assert re.search(r"^demo:", makefile, flags=re.M) and re.search(r"^test:", makefile, re.M)
    ci = (REPO / ".ci" / "run").read_text(encoding="utf-8")
    assert ci.strip().splitlines()[-1] == "make test"


def test_the_readme_shows_many_commands() -> None:
    assert len(_visiongate_lines()) >= 15


@pytest.mark.parametrize("line", _visiongate_lines())
def test_each_readme_command_and_option_exists(line: str) -> None:
    words = shlex.split(line.split(" #")[0])[1:]
    command = typer.main.get_command(app)  # groups have .commands (typer vendors its click)
    while words and words[0] in getattr(command, "commands", {}):
        command = command.commands[words.pop(0)]
    assert not hasattr(command, "commands"), f"{line!r} names a group, not a command"
    options = {name for param in command.params for name in getattr(param, "opts", [])}
    for word in words:
        if word.startswith("--"):
            assert word.split("=")[0] in options, f"{line!r}: {command.name} has no {word}"
