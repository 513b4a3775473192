"""Entry point: builds the Typer app from the area modules and maps errors to messages."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

import typer

from visiongate import __version__
from visiongate.cli.common import err_console, fail
from visiongate.config import load_settings
from visiongate.errors import VisiongateError

# Each module defines ``register(app)``; order is the order of ``--help``.
AREAS = [
    "visiongate.cli.run",
    "visiongate.cli.store",
    "visiongate.cli.model",
    "visiongate.cli.serve",
    "visiongate.cli.jobs",
    "visiongate.cli.stepfunctions",
    "visiongate.cli.monitor",
    "visiongate.cli.up",
    "visiongate.cli.deploy",
]

app = typer.Typer(
    name="visiongate",
    help=(
        "Image classification with a confidence gate: an Amazon States Language engine, "
        "a SageMaker-compatible endpoint, monitoring, and AWS deployment.\n\n"
        "Example: visiongate demo"
    ),
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode="rich",
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"visiongate {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    ctx: typer.Context,
    config: Path = typer.Option(
        None, "--config", help="visiongate.toml to read (default: ./visiongate.toml if present)."
    ),
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Print the version and exit."
    ),
) -> None:
    """Load settings once for every subcommand."""
    ctx.obj = load_settings(config)


for _name in AREAS:
    importlib.import_module(_name).register(app)


def main(argv: list[str] | None = None) -> None:
    """Run the CLI; expected failures become one-line messages, never tracebacks."""
    try:
        app(args=argv, prog_name="visiongate", standalone_mode=True)
    except VisiongateError as exc:
        try:
            fail(exc.message, exc.hint, code=getattr(exc, "exit_code", 2))
        except typer.Exit as stop:
            sys.exit(stop.exit_code)
    except KeyboardInterrupt:
        err_console.print("interrupted")
        sys.exit(130)


if __name__ == "__main__":  # pragma: no cover
    main()
