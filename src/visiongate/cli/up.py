"""``visiongate up``: the whole local stack in one command (see :mod:`visiongate.stack`)."""

from __future__ import annotations

import os
import signal
import sys
import threading
from pathlib import Path

import typer

from visiongate.cli.common import console, settings


def register(app: typer.Typer) -> None:
    """Add ``up`` to ``app``."""
    app.command("up")(up)


def up(
    ctx: typer.Context,
    host: str = typer.Option("127.0.0.1", "--host", help="Address every part binds to."),
    sfn_port: int = typer.Option(8083, "--sfn-port", help="Step Functions API port (0: any)."),
    endpoint_port: int = typer.Option(8080, "--endpoint-port", help="Model endpoint port."),
    dashboard_port: int = typer.Option(8000, "--dashboard-port", help="Dashboard port."),
    model: Path = typer.Option(
        None,
        "--model",
        "-m",
        help="Model directory to serve (default: the newest under .visiongate/demo/models "
        "or .visiongate/models, if any).",
    ),
    no_endpoint: bool = typer.Option(False, "--no-endpoint", help="Do not serve a model."),
    captures: str = typer.Option(
        None, "--captures", help="Capture the endpoint's traffic to s3://bucket/prefix."
    ),
    review_bucket: list[str] = typer.Option(
        [], "--review-bucket", help="Bucket holding pending reviews (repeatable)."
    ),
    token: str = typer.Option(
        None,
        "--token",
        envvar="VISIONGATE_DASHBOARD_TOKEN",
        help="Dashboard token; generated when --host is not loopback.",
    ),
) -> None:
    """Run the local stack: the Step Functions API, the model endpoint and the dashboard.

    Prints the environment variables that point boto3 and the AWS CLI at it. Ctrl-C or
    SIGTERM stops everything; executions still waiting (e.g. for a human review) resume
    at the next start.

    Example: visiongate up --model .visiongate/demo/models/digits
    """
    from visiongate.stack import Stack, StackConfig, is_loopback

    config = StackConfig(
        host=host,
        sfn_port=sfn_port,
        endpoint_port=endpoint_port,
        dashboard_port=dashboard_port,
        model_dir=model,
        endpoint=not no_endpoint,
        token=token,
        captures=captures,
        review_buckets=list(review_bucket) or None,
    )
    stack = Stack(settings(ctx), config)
    stopping = threading.Event()

    def request_stop(_signum: int, _frame: object) -> None:
        stopping.set()

    signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGTERM, request_stop)
    with console.status("starting the local stack"):
        stack.start()
    _announce(stack, host, is_loopback(host))
    while not stopping.wait(0.5):
        pass
    console.print("stopping", highlight=False, soft_wrap=True)
    stack.stop()
    console.print("stopped", highlight=False, soft_wrap=True)
    sys.stdout.flush()
    sys.stderr.flush()
    # Executions waiting for a task token keep a worker thread; they stay RUNNING in the
    # database and resume at the next start, so exit without joining them.
    os._exit(0)


def _announce(stack, host: str, loopback: bool) -> None:  # noqa: ANN001 - Stack
    urls = stack.urls
    console.print(f"Step Functions API  {urls['sfn']}", highlight=False, soft_wrap=True)
    if "endpoint" in urls:
        console.print(
            f"model endpoint      {urls['endpoint']}  ({stack.model_dir})", highlight=False
        )
    else:
        console.print(
            "model endpoint      none (pass --model DIR to serve one)",
            highlight=False,
            soft_wrap=True,
        )
    console.print(f"dashboard           {stack.dashboard_link}", highlight=False, soft_wrap=True)
    console.print(f"database            {stack.settings.database}", highlight=False, soft_wrap=True)
    if not loopback:
        console.print(
            f"[yellow]bound to {host}: the Step Functions API and the endpoint take no token; "
            "keep this on a trusted network[/]",
            soft_wrap=True,
        )
    console.print(
        "# point boto3 and the AWS CLI at it:", style="dim", highlight=False, soft_wrap=True
    )
    for name, value in stack.environment().items():
        typer.echo(f"export {name}={value}")
    console.print("# Ctrl-C to stop", style="dim", highlight=False, soft_wrap=True)
    sys.stdout.flush()
