"""What every command module shares: consoles, settings, and turning errors into messages."""

from __future__ import annotations

import json
from typing import Any, NoReturn

import typer
from rich.console import Console

from visiongate.config import Settings, load_settings

console = Console()
err_console = Console(stderr=True)


def settings(ctx: typer.Context | None = None) -> Settings:
    """The settings resolved once per invocation by the root callback."""
    if ctx is not None:
        root = ctx.find_root()
        if isinstance(root.obj, Settings):
            return root.obj
    return load_settings()


def fail(message: str, hint: str | None = None, code: int = 2) -> NoReturn:
    err_console.print(f"[bold red]error:[/] {message}", highlight=False, markup=True)
    if hint:
        err_console.print(f"[dim]hint:[/] {hint}", highlight=False)
    raise typer.Exit(code)


def parse_json_option(text: str, what: str = "--input") -> Any:
    """JSON from an option value, or from a file when the value starts with '@'."""
    source = text
    if text.startswith("@"):
        try:
            with open(text[1:], encoding="utf-8") as handle:
                source = handle.read()
        except OSError as exc:
            fail(f"{what}: cannot read {text[1:]}: {exc.strerror}")
    try:
        return json.loads(source)
    except json.JSONDecodeError as exc:
        fail(
            f"{what} is not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}",
            hint='quote it for the shell, e.g. --input \'{"s3_bucket": "b", "s3_key": "k.png"}\'',
        )
