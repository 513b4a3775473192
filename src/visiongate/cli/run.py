"""`visiongate run`, `validate`, `executions ...` and `send-task-*`: the engine from the shell.

Each command is a few lines over :class:`visiongate.sfn.engine.Engine`; engine errors are
VisiongateErrors, which the entry point turns into one-line messages.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import typer
from rich.panel import Panel
from rich.table import Table

from visiongate.cli.common import console, fail, parse_json_option, settings

executions_app = typer.Typer(
    help="Executions stored in the engine's database.\n\nExample: visiongate executions list",
    no_args_is_help=True,
)

_STATUS_STYLE = {
    "SUCCEEDED": "green",
    "FAILED": "red",
    "TIMED_OUT": "red",
    "ABORTED": "yellow",
    "RUNNING": "cyan",
    "PENDING_REDRIVE": "cyan",
}


def _engine(ctx: typer.Context, *, fast_time: bool = False, mock_config: Path | None = None) -> Any:
    from visiongate.monitor.logs import subscribe
    from visiongate.sfn.engine import Engine

    engine = Engine(settings(ctx), fast_time=fast_time, mock_config=mock_config)
    subscribe(engine)  # function logs land in SQLite for `visiongate logs` and the dashboard
    return engine


def _read_definition(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except OSError as exc:
        fail(f"cannot read definition {path}: {exc.strerror}", hint="check the path")


def machine_name_for(path: Path) -> str:
    """A state machine name from a definition file name (image_classification.asl.json →
    image_classification)."""
    stem = path.name.split(".")[0] or "definition"
    return re.sub(r"[^A-Za-z0-9_-]", "-", stem)[:80]


def _pretty(text: str | None, limit: int = 4000) -> str:
    if text is None:
        return "null"
    try:
        pretty = json.dumps(json.loads(text), indent=2, ensure_ascii=False)
    except ValueError:
        pretty = text
    return pretty if len(pretty) <= limit else pretty[:limit] + f"\n… ({len(pretty)} characters)"


def _outcome_panel(execution: Any) -> Panel:
    style = _STATUS_STYLE.get(execution.status, "white")
    lines = [
        f"[bold]status[/]     [{style}]{execution.status}[/]",
        f"[bold]execution[/]  {execution.arn}",
    ]
    if execution.stop_date is not None:
        seconds = (execution.stop_date - execution.start_date).total_seconds()
        lines.append(f"[bold]duration[/]   {seconds:.3f} s")
    if execution.status == "SUCCEEDED":
        lines += ["[bold]output[/]", _escape(_pretty(execution.output))]
    elif execution.error is not None or execution.cause is not None:
        lines.append(f"[bold]error[/]      {_escape(execution.error or '')}")
        lines += ["[bold]cause[/]", _escape(_pretty(execution.cause) if execution.cause else "")]
    return Panel("\n".join(lines), title=execution.name, border_style=style, expand=False)


def _escape(text: str) -> str:
    from rich.markup import escape

    return escape(text)


def _run_on_aws(payload: Any, stack: str | None, region: str | None, name: str | None) -> None:
    """`run --aws`: one execution of the deployed state machine, same outcome panel fields."""
    if not stack:
        fail("--aws needs --stack", hint="the stack name given to `visiongate deploy aws`")
    from visiongate.deploy.aws import stack_outputs, start_and_wait

    outputs = stack_outputs(stack, region)
    arn = outputs.get("StateMachineArn")
    if not arn:
        fail(
            f"stack {stack} has no StateMachineArn output",
            hint="is it a visiongate stack? see `visiongate deploy outputs`",
        )
    outcome = start_and_wait(arn, payload, progress=True, region=region, name=name)
    status = outcome["status"]
    style = _STATUS_STYLE.get(status, "white")
    lines = [
        f"[bold]status[/]     [{style}]{status}[/]",
        f"[bold]execution[/]  {outcome['execution_arn']}",
    ]
    if status == "SUCCEEDED":
        lines += ["[bold]output[/]", _escape(json.dumps(outcome["output"], indent=2))]
    else:
        lines.append(f"[bold]error[/]      {_escape(str(outcome.get('error') or ''))}")
        lines += ["[bold]cause[/]", _escape(str(outcome.get("cause") or ""))]
    console.print(Panel("\n".join(lines), title=f"{stack} (AWS)", border_style=style, expand=False))
    if status != "SUCCEEDED":
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    """Add the engine's commands to ``app``."""

    @app.command("run")
    def run_command(
        ctx: typer.Context,
        input: str = typer.Option("{}", "--input", "-i", help="Execution input: JSON, or @file."),
        definition: Path = typer.Option(
            None, "--definition", "-d", help="ASL definition file (default: Settings.definition)."
        ),
        name: str = typer.Option(None, "--name", "-n", help="Execution name (default: a UUID)."),
        state_machine: str = typer.Option(
            None, "--state-machine", help="State machine name (default: the file name)."
        ),
        fast_time: bool = typer.Option(
            False,
            "--fast-time",
            help="Virtual clock: Wait states, retries and timeouts take no time.",
        ),
        mock_config: Path = typer.Option(
            None, "--mock-config", help="Step Functions Local MockConfigFile.json."
        ),
        test_case: str = typer.Option(None, "--test-case", help="Test case of the mock config."),
        aws: bool = typer.Option(
            False, "--aws", help="Run on the state machine deployed by `visiongate deploy aws`."
        ),
        stack: str = typer.Option(None, "--stack", help="With --aws: the deployed stack's name."),
        region: str = typer.Option(None, "--region", help="With --aws: the stack's AWS region."),
    ) -> None:
        """Run a state machine definition to the end and print the outcome.

        Exits with status 1 when the execution does not succeed. With --aws, starts an
        execution of the deployed state machine instead and waits for it with progress.

        Example: visiongate run --input '{"s3_bucket": "images", "s3_key": "cat.png"}'
        """
        if aws or stack:
            _run_on_aws(parse_json_option(input), stack, region, name)
            return
        if test_case and mock_config is None:
            fail("--test-case needs --mock-config", hint="pass the MockConfigFile.json too")
        payload = parse_json_option(input)
        path = definition or settings(ctx).definition
        text = _read_definition(Path(path))
        engine = _engine(ctx, fast_time=fast_time, mock_config=mock_config)
        try:
            result = engine.run(
                text,
                payload,
                name=name,
                state_machine_name=state_machine or machine_name_for(Path(path)),
                test_case=test_case,
            )
            console.print(_outcome_panel(result.execution))
        finally:
            engine.close()
        if not result.succeeded:
            raise typer.Exit(1)

    @app.command("validate")
    def validate_command(
        ctx: typer.Context,
        file: Path = typer.Argument(..., help="ASL definition file to check."),
    ) -> None:
        """Check a definition and print every problem (exit status 1 when invalid).

        Example: visiongate validate workflows/image_classification.asl.json
        """
        from visiongate.sfn.engine import Engine

        text = _read_definition(file)
        engine = Engine(settings(ctx), prepare_env=False)
        try:
            problems = engine.validate(text)
        finally:
            engine.close()
        if not problems:
            console.print(f"[green]valid[/] {file}")
            return
        for problem in problems:
            location = f" [dim]{_escape(problem.location)}[/]" if problem.location else ""
            console.print(f"[red]{problem.code}[/] {_escape(problem.message)}{location}")
        console.print(f"[red]invalid[/] {file}: {len(problems)} problem(s)")
        raise typer.Exit(1)

    @executions_app.command("list")
    def list_command(
        ctx: typer.Context,
        status: str = typer.Option(
            None, "--status", help="Only this status (RUNNING, FAILED, ...)."
        ),
        limit: int = typer.Option(20, "--limit", help="At most this many (newest first)."),
    ) -> None:
        """List executions, newest first.

        Example: visiongate executions list --status FAILED --limit 5
        """
        engine = _engine(ctx)
        try:
            rows = engine.list_executions(status=status.upper() if status else None, limit=limit)
        finally:
            engine.close()
        table = Table("name", "status", "state machine", "started", "duration", "error")
        for execution in rows:
            duration = (
                f"{(execution.stop_date - execution.start_date).total_seconds():.3f} s"
                if execution.stop_date
                else ""
            )
            style = _STATUS_STYLE.get(execution.status, "white")
            table.add_row(
                execution.name,
                f"[{style}]{execution.status}[/]",
                execution.state_machine_name,
                execution.start_date.isoformat(timespec="seconds"),
                duration,
                _escape(execution.error or ""),
            )
        console.print(table)

    @executions_app.command("show")
    def show_command(
        ctx: typer.Context, id: str = typer.Argument(..., help="Execution ARN or name.")
    ) -> None:
        """Show one execution: status, input, output or error.

        Example: visiongate executions show my-run
        """
        engine = _engine(ctx)
        try:
            execution = engine.describe_execution(engine.resolve_execution_arn(id))
        finally:
            engine.close()
        console.print(_outcome_panel(execution))
        console.print(Panel(_escape(_pretty(execution.input)), title="input", expand=False))
        if execution.redrive_count:
            console.print(f"redriven {execution.redrive_count} time(s)")

    @executions_app.command("history")
    def history_command(
        ctx: typer.Context,
        id: str = typer.Argument(..., help="Execution ARN or name."),
        reverse: bool = typer.Option(False, "--reverse", help="Newest event first."),
        json_output: bool = typer.Option(False, "--json", help="Print the events as JSON."),
    ) -> None:
        """Print an execution's history events (as GetExecutionHistory returns them).

        Example: visiongate executions history my-run --reverse
        """
        engine = _engine(ctx)
        try:
            events = engine.get_execution_history(engine.resolve_execution_arn(id), reverse=reverse)
        finally:
            engine.close()
        if json_output:
            console.print_json(json.dumps(events, default=lambda d: d.isoformat()))
            return
        table = Table("id", "prev", "timestamp", "type", "details")
        for event in events:
            details = next((v for k, v in event.items() if k.endswith("EventDetails")), None)
            summary = json.dumps(details, ensure_ascii=False) if details else ""
            table.add_row(
                str(event["id"]),
                str(event["previousEventId"]),
                event["timestamp"].isoformat(timespec="milliseconds"),
                event["type"],
                _escape(summary if len(summary) < 120 else summary[:117] + "..."),
            )
        console.print(table)

    @executions_app.command("redrive")
    def redrive_command(
        ctx: typer.Context,
        id: str = typer.Argument(..., help="Execution ARN or name."),
        fast_time: bool = typer.Option(False, "--fast-time", help="Virtual clock."),
    ) -> None:
        """Redrive a failed, aborted or timed-out execution from the state that failed.

        Example: visiongate executions redrive my-run
        """
        engine = _engine(ctx, fast_time=fast_time)
        try:
            arn = engine.resolve_execution_arn(id)
            engine.redrive_execution(arn, wait=True)
            execution = engine.describe_execution(arn)
            console.print(_outcome_panel(execution))
        finally:
            engine.close()
        if execution.status != "SUCCEEDED":
            raise typer.Exit(1)

    @executions_app.command("resume")
    def resume_command(ctx: typer.Context) -> None:
        """Resume executions left RUNNING by a process that died, from their last checkpoint.

        Example: visiongate executions resume
        """
        engine = _engine(ctx)
        try:
            resumed = engine.resume_running(wait=True)
            for arn in resumed:
                console.print(_outcome_panel(engine.describe_execution(arn)))
        finally:
            engine.close()
        if not resumed:
            console.print("no interrupted executions")

    @executions_app.command("stop")
    def stop_command(
        ctx: typer.Context,
        id: str = typer.Argument(..., help="Execution ARN or name."),
        error: str = typer.Option(None, "--error", help="Error code to record."),
        cause: str = typer.Option(None, "--cause", help="Cause to record."),
    ) -> None:
        """Stop (abort) a running execution.

        Example: visiongate executions stop my-run --cause "no longer needed"
        """
        engine = _engine(ctx)
        try:
            execution = engine.stop_execution(engine.resolve_execution_arn(id), error, cause)
        finally:
            engine.close()
        console.print(_outcome_panel(execution))

    app.add_typer(executions_app, name="executions")

    @app.command("send-task-success")
    def send_task_success(
        ctx: typer.Context,
        token: str = typer.Option(..., "--task-token", "--token", help="The task token."),
        output: str = typer.Option(
            "{}", "--task-output", "--output", help="JSON output, or @file."
        ),
    ) -> None:
        """Complete a .waitForTaskToken task successfully (SendTaskSuccess).

        Example: visiongate send-task-success --task-token "$TOKEN" --task-output '{"ok": true}'
        """
        value = parse_json_option(output, what="--task-output")
        engine = _engine(ctx)
        try:
            engine.send_task_success(token, value)
        finally:
            engine.close()
        console.print("task completed")

    @app.command("send-task-failure")
    def send_task_failure(
        ctx: typer.Context,
        token: str = typer.Option(..., "--task-token", "--token", help="The task token."),
        error: str = typer.Option(None, "--error", help="Error name (what Retry/Catch match)."),
        cause: str = typer.Option(None, "--cause", help="Details."),
    ) -> None:
        """Fail a .waitForTaskToken task (SendTaskFailure).

        Example: visiongate send-task-failure --task-token "$TOKEN" --error Rejected --cause "bad image"
        """
        engine = _engine(ctx)
        try:
            engine.send_task_failure(token, error, cause)
        finally:
            engine.close()
        console.print("task failed")

    @app.command("send-task-heartbeat")
    def send_task_heartbeat(
        ctx: typer.Context,
        token: str = typer.Option(..., "--task-token", "--token", help="The task token."),
    ) -> None:
        """Report that a .waitForTaskToken task is still working (SendTaskHeartbeat).

        Example: visiongate send-task-heartbeat --task-token "$TOKEN"
        """
        engine = _engine(ctx)
        try:
            engine.send_task_heartbeat(token)
        finally:
            engine.close()
        console.print("heartbeat recorded")
