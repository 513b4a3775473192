"""``visiongate stepfunctions``: serve the Step Functions API over the embedded engine."""

from __future__ import annotations

import os
import signal
import sys
from pathlib import Path

import typer

from visiongate.cli.common import console, fail, settings


def parse_functions(values: list[str]) -> dict[str, str]:
    """``NAME=module:handler`` pairs (repeat the option or separate them with commas)."""
    mapping: dict[str, str] = {}
    for value in values:
        for item in filter(None, (part.strip() for part in value.split(","))):
            name, sep, target = item.partition("=")
            module, colon, handler = target.partition(":")
            if not sep or not name or not colon or not module or not handler:
                fail(
                    f"--functions {item!r} is not NAME=module:handler",
                    hint="e.g. --functions resize=mypackage.handlers:resize",
                )
            mapping[name.strip()] = target.strip()
    return mapping


def register(app: typer.Typer) -> None:
    """Add ``visiongate stepfunctions`` to ``app``."""

    @app.command("stepfunctions")
    def stepfunctions(
        ctx: typer.Context,
        host: str = typer.Option("127.0.0.1", "--host", help="Interface to listen on."),
        port: int = typer.Option(8083, "--port", help="Port to listen on (0: any free port)."),
        functions: list[str] = typer.Option(
            [],
            "--functions",
            help="Local Lambda function NAME=module:handler (repeatable); added to the "
            "[functions] of visiongate.toml.",
        ),
        mock_config: Path = typer.Option(
            None,
            "--mock-config",
            help="Step Functions Local MockConfigFile.json; start executions with "
            "stateMachineArn#TestCase to use a test case.",
        ),
        fast_time: bool = typer.Option(
            False, "--fast-time", help="Virtual clock: Wait states and retry back-off take no time."
        ),
    ) -> None:
        """Serve a Step Functions-compatible API (AWS JSON 1.0) for boto3 and the AWS CLI.

        State machines and executions live in the same SQLite file as every other command
        (``visiongate executions list`` shows them) and survive restarts; executions a killed
        server left running resume. Clients need any credentials and region; StartSyncExecution
        and TestState need host-prefix injection off: botocore.config.Config(
        inject_host_prefix=False) or AWS_DISABLE_HOST_PREFIX_INJECTION=true.

        Example: visiongate stepfunctions --port 8083 --functions resize=handlers:resize
        """
        from visiongate.sfn.api import StepFunctionsBackend, make_server

        base = settings(ctx)
        extra = parse_functions(functions)
        if mock_config is not None and not mock_config.is_file():
            fail(f"--mock-config {mock_config} does not exist", hint="pass a MockConfigFile.json")
        config = base.with_(functions={**base.functions, **extra})
        backend = StepFunctionsBackend(config, fast_time=fast_time, mock_config=mock_config)
        try:
            server = make_server(backend, host, port)
        except OSError as exc:
            backend.close()
            fail(f"cannot listen on {host}:{port}: {exc.strerror}", hint="choose another --port")
        resumed = backend.start()
        console.print(f"Step Functions API listening on {server.url}", highlight=False)
        console.print(f"database: {config.database}", highlight=False)
        if resumed:
            console.print(f"resumed {len(resumed)} running execution(s)", highlight=False)
        console.print(
            f"try: aws stepfunctions list-state-machines --endpoint-url {server.url}",
            highlight=False,
        )
        sys.stdout.flush()

        def stop(_signum: int, _frame: object) -> None:
            raise KeyboardInterrupt

        signal.signal(signal.SIGTERM, stop)
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            console.print("stopping")
        finally:
            server.server_close()
        # Executions still running stay RUNNING in the database and resume at the next start;
        # their worker threads may be blocked waiting for a task token, so exit without joining.
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(0)
