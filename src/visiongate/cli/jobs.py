"""``visiongate demo``, ``batch`` and ``watch``: thin commands over :mod:`visiongate.jobs`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from visiongate.cli.common import console, err_console, fail, settings


def _seconds(value: float) -> str:
    return f"{value:.1f} s" if value >= 0.1 else f"{value * 1000:.0f} ms"


def _summary_table(title: str, summary: Any, threshold: float, extra: list[tuple[str, str]]) -> Any:
    from rich.table import Table

    from visiongate.jobs.report import percent

    table = Table(title=title, show_header=False, title_justify="left")
    table.add_column(style="bold")
    table.add_column(justify="right")
    table.add_row("images processed", str(summary.processed))
    table.add_row(
        f"passed the gate (≥ {threshold:g})",
        f"[green]{summary.passed}[/] ({percent(summary.coverage)})",
    )
    table.add_row("failed: THRESHOLD_CONFIDENCE_NOT_MET", f"[yellow]{summary.below_threshold}[/]")
    table.add_row("other errors", f"[red]{summary.errors}[/]" if summary.errors else "0")
    if summary.passed_labelled:
        table.add_row("accuracy of the images that passed", percent(summary.accuracy_passed))
        table.add_row("accuracy of all classified images", percent(summary.accuracy))
    for name, value in extra:
        table.add_row(name, value)
    return table


def demo(
    ctx: typer.Context,
    dataset: str = typer.Option("digits", "--dataset", help="digits (offline) or cifar100."),
    archive: Path = typer.Option(
        None, "--archive", help="cifar-100-python.tar.gz, for --dataset cifar100."
    ),
    fresh: bool = typer.Option(
        False, "--fresh", help="Rebuild the dataset and retrain instead of reusing them."
    ),
    limit: int = typer.Option(None, "--limit", help="Classify at most this many images."),
) -> None:
    """Zero to results, offline: build a dataset, train, serve, run the workflow over the held-out images, and write a results file and an HTML report under <home>/demo/.

    Re-running reuses the dataset and the model and runs the workflow again.

    Example: visiongate demo
    """
    from visiongate.jobs.demo import DemoOptions, run_demo

    config = settings(ctx)
    steps = {"dataset": 1, "train": 2, "serve": 3, "workflow": 4, "report": 5}
    labels = {
        "dataset": f"dataset [bold]{dataset}[/] into the store",
        "train": "model (fast preset)",
        "serve": "model server on a free port, data capture on",
        "workflow": "workflow over the held-out images (embedded engine)",
        "report": "results file and HTML report",
    }

    def phase(name: str) -> None:
        err_console.print(f"[dim][{steps[name]}/5][/] {labels[name]}", highlight=False)

    result = run_demo(
        config,
        DemoOptions(dataset=dataset, archive=archive, fresh=fresh, limit=limit),
        console=err_console,
        on_phase=phase,
    )
    t, batch = result.timings, result.batch
    reuse = {True: " (reused)", False: ""}
    extra = [
        (
            "throughput",
            f"{batch.rate:.0f} images/s ({_seconds(batch.seconds)}, "
            f"{batch.tally.executions} executions)",
        ),
        ("dataset", f"{_seconds(t['dataset'])}{reuse[result.reused['dataset']]}"),
        ("model", f"{_seconds(t['train'])}{reuse[result.reused['model']]}"),
        ("endpoint start / stop", f"{_seconds(t['serve'])} / {_seconds(t['stop'])}"),
        ("total", _seconds(result.total_seconds)),
    ]
    console.print(
        _summary_table(f"visiongate demo: {dataset}", result.summary, result.threshold, extra)
    )
    home = Path(config.home)
    console.print(f"results  {result.results_path}", highlight=False)
    console.print(f"report   {result.report_path}", highlight=False)
    console.print("\n[bold]Look closer[/]")
    console.print(
        "  visiongate executions list --limit 10        the executions of this run", highlight=False
    )
    console.print(
        "  visiongate executions show <name>            one execution's input and output",
        highlight=False,
    )
    console.print(
        f"  visiongate dashboard --model {result.model_dir} --captures {result.captures}",
        highlight=False,
        soft_wrap=True,
    )
    if home != Path(".visiongate"):
        console.print(f"  (with VISIONGATE_HOME={home})", highlight=False)


def batch(
    ctx: typer.Context,
    bucket: str = typer.Option(None, "--bucket", help="Bucket of the images."),
    prefix: str = typer.Option("", "--prefix", help="Only keys starting with this."),
    concurrency: int = typer.Option(4, "--concurrency", "-c", help="Executions in flight."),
    batch_size: int = typer.Option(64, "--batch-size", help="Images per execution (batched)."),
    per_image: bool = typer.Option(
        False, "--per-image", help="One execution of the reference workflow per image (slower)."
    ),
    out: Path = typer.Option(
        Path("results.jsonl"), "--out", "-o", help="Results file: .jsonl or .csv (resumable)."
    ),
    force: bool = typer.Option(False, "--force", help="Redo images that already have a result."),
    limit: int = typer.Option(None, "--limit", help="At most this many images."),
    aws: bool = typer.Option(False, "--aws", help="Run on the state machine deployed on AWS."),
    stack: str = typer.Option(None, "--stack", help="CloudFormation stack (with --aws)."),
    region: str = typer.Option(None, "--region", help="AWS region (with --aws)."),
) -> None:
    """Every image under a prefix through the workflow, with a results file that resumes.

    Ctrl-C: executions in flight finish (Ctrl-C again abandons them) and the results file is written; re-running skips the images that have a result.

    Example: visiongate batch --bucket images --prefix cats/ --out results.csv
    """
    from visiongate.jobs.batch import BatchOptions, BatchRun
    from visiongate.jobs.report import summarize

    config = settings(ctx)
    runner = None
    if aws:
        from visiongate.jobs.runners import AwsRunner

        if not stack:
            fail("--aws needs --stack NAME", hint="the stack `visiongate deploy aws` created")
        runner = AwsRunner(stack, region)
        runner.open()
        bucket = bucket or runner.outputs.get("ImagesBucket")
        per_image = True
    if not bucket:
        fail("--bucket is required", hint="e.g. visiongate batch --bucket images --prefix cats/")
    options = BatchOptions(
        bucket=bucket,
        prefix=prefix,
        out=out,
        concurrency=concurrency,
        batch_size=batch_size,
        mode="per-image" if per_image else "batched",
        force=force,
        limit=limit,
    )
    report = BatchRun(config, options, runner=runner, console=err_console).run()
    tally = report.tally
    extra = [
        ("throughput", f"{report.rate:.0f} images/s ({_seconds(report.seconds)})"),
        ("executions", str(tally.executions)),
    ]
    if tally.skipped:
        extra.append(("skipped (already had a result)", str(tally.skipped)))
    if tally.not_images:
        extra.append(("skipped (not images)", str(tally.not_images)))
    if tally.abandoned:
        extra.append(("abandoned (no result; rerun to do them)", str(tally.abandoned)))
    console.print(
        _summary_table(
            f"batch s3://{bucket}/{prefix}", summarize(report.rows), config.threshold, extra
        )
    )
    console.print(f"results  {out}", highlight=False)
    if report.interrupted:
        err_console.print("[yellow]interrupted[/]: run the same command again to resume")
        raise typer.Exit(130)


def watch(
    ctx: typer.Context,
    bucket: str = typer.Option(..., "--bucket", help="Bucket to watch."),
    prefix: str = typer.Option("", "--prefix", help="Only keys starting with this."),
    interval: float = typer.Option(2.0, "--interval", help="Seconds between two listings."),
    include_existing: bool = typer.Option(
        False, "--include-existing", help="Also run the images already there on the first watch."
    ),
) -> None:
    """Start the workflow for each new image that lands under a prefix, at most once per object version, across restarts: the local S3 → EventBridge → Step Functions.

    Example: visiongate watch --bucket images --prefix incoming/
    """
    from visiongate.jobs.scope import job_environment
    from visiongate.jobs.watch import Watcher

    config = settings(ctx)
    if interval <= 0:
        fail(f"--interval {interval} must be positive", hint="e.g. --interval 2")

    def started(event: Any) -> None:
        how = " (claimed before a restart)" if event.repaired else ""
        console.print(
            f"started  {event.name}  s3://{event.bucket}/{event.key}{how}",
            highlight=False,
            soft_wrap=True,
        )

    def finished(event: Any) -> None:
        colour = "green" if event.status == "SUCCEEDED" else "red"
        error = f" {event.error}" if event.error else ""
        console.print(
            f"[{colour}]{event.status}[/]  {event.name}  {event.key}{error}",
            highlight=False,
            soft_wrap=True,
        )

    with (
        job_environment(config),
        Watcher(
            config,
            bucket,
            prefix,
            include_existing=include_existing,
            on_start=started,
            on_finish=finished,
        ) as watcher,
    ):
        watcher.prepare()
        if watcher.stats.baseline:
            console.print(
                f"{watcher.stats.baseline} object(s) already there are not run "
                "(--include-existing runs them)"
            )
        console.print(
            f"watching s3://{bucket}/{prefix} every {interval:g} s (Ctrl-C to stop)",
            highlight=False,
        )
        try:
            watcher.run(interval)
        except KeyboardInterrupt:
            err_console.print("stopping: waiting for the executions in flight")
            watcher.drain(timeout=30)
        stats = watcher.stats
        console.print(f"{stats.started} started, {stats.finished} finished, {stats.polls} polls")


def register(app: typer.Typer) -> None:
    """Add this area's commands to ``app``."""
    app.command("demo")(demo)
    app.command("batch")(batch)
    app.command("watch")(watch)
