"""Monitoring commands: drift, confidence, cost, function logs, and the dashboard."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import typer

from visiongate.cli.common import console, fail, settings

DRIFT_EXIT_CODE = 3
_STATUS_STYLE = {"ok": "green", "warning": "yellow", "drift": "bold red", "skipped": "dim"}
_RELATIVE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw])\s*$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def parse_since(text: str | None, now: datetime | None = None) -> datetime | None:
    """``30m``, ``6h``, ``7d`` (before now) or an ISO-8601 time; None when not given."""
    if not text:
        return None
    now = now or datetime.now(UTC)
    match = _RELATIVE.match(text)
    if match:
        return now - timedelta(**{_UNITS[match.group(2)]: float(match.group(1))})
    try:
        moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        fail(
            f"--since {text!r} is neither a duration nor a time",
            hint="use e.g. --since 24h, --since 7d or --since 2026-11-22T00:00:00Z",
        )
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _fmt(value: float | None, digits: int = 4) -> str:
    if value is None:
        return "-"
    if value != 0 and abs(value) < 10**-digits:
        return f"{value:.1e}"
    return f"{value:.{digits}g}"


_SHORT_TEST = {"two-sample Kolmogorov-Smirnov": "KS", "chi-square goodness of fit": "chi-square"}


def _rule(check) -> str:  # noqa: ANN001 - CheckResult
    """The drift condition in one short phrase, e.g. ``p<0.01 & D>=0.2``."""
    t = check.thresholds
    if not t:
        return "-"
    effect = "PSI" if "psi_drift" in t else "D"
    limit = t.get("psi_drift", t.get("d_drift"))
    return f"p<{t['p_drift']:g} & {effect}>={limit:g}"


def drift(
    ctx: typer.Context,
    model: Path = typer.Option(..., "--model", help="Model directory with baseline.json."),
    captures: str = typer.Option(
        ..., "--captures", help="Capture folder, .jsonl file or s3://bucket/prefix."
    ),
    since: str = typer.Option(None, "--since", help="Only traffic after this (24h, 7d, ISO time)."),
    as_json: bool = typer.Option(False, "--json", help="Print the report as JSON."),
    embeddings: bool = typer.Option(
        True, "--embeddings/--no-embeddings", help="Run images through the model for embeddings."
    ),
    fail_on: str = typer.Option("drift", "--fail-on", help="Exit 3 on 'drift' or on 'warning'."),
) -> None:
    """Compare recent traffic with the model's training baseline; exit 3 on drift.

    Example: visiongate monitor drift --model models/bikes --captures .visiongate/captures --since 24h
    """
    from rich.table import Table

    from visiongate.monitor.traffic import drift_report, read_capture_source

    if fail_on not in {"drift", "warning"}:
        fail(f"--fail-on {fail_on!r} is not one of drift, warning")
    cfg = settings(ctx)
    since_time = parse_since(since)
    records = read_capture_source(captures, cfg, since_time)
    report = drift_report(model, records, since=since_time, embeddings=embeddings, source=captures)
    if as_json:
        console.print_json(json.dumps(report.to_json()))
    else:
        table = Table(title=f"Drift: {report.n_current} images vs the baseline of {model.name}")
        for column in ("check", "test", "statistic", "p-value", "threshold (drift)", "status"):
            table.add_column(column, overflow="fold")
        for c in report.checks:
            style = _STATUS_STYLE.get(c.status, "")
            table.add_row(
                c.name,
                _SHORT_TEST.get(c.test, c.test),
                _fmt(c.statistic),
                _fmt(c.p_value),
                _rule(c),
                f"[{style}]{c.status}[/]",
            )
        console.print(table)
        for c in report.checks:
            if c.detail:
                console.print(f"[dim]{c.name}: {c.detail}[/]", highlight=False)
        style = _STATUS_STYLE.get(report.status, "")
        console.print(f"overall: [{style}]{report.status}[/]")
    failing = {"drift"} if fail_on == "drift" else {"drift", "warning"}
    if report.status in failing:
        raise typer.Exit(DRIFT_EXIT_CODE)


def confidence(
    ctx: typer.Context,
    captures: str = typer.Option(
        ..., "--captures", help="Capture folder, .jsonl file or s3://bucket/prefix."
    ),
    model: Path = typer.Option(None, "--model", help="Model directory (for class names)."),
    threshold: float = typer.Option(
        None, "--threshold", help="Gate threshold (default: settings)."
    ),
    since: str = typer.Option(None, "--since", help="Only traffic after this (24h, 7d, ISO time)."),
    as_json: bool = typer.Option(False, "--json", help="Print the analysis as JSON."),
) -> None:
    """Confidence of captured traffic against the gate's threshold, per class.

    Example: visiongate monitor confidence --captures ../shared/fixtures/sagemaker-datacapture-sample.jsonl
    """
    from rich.table import Table

    from visiongate.monitor.confidence import analyse
    from visiongate.monitor.traffic import observations, read_capture_source

    cfg = settings(ctx)
    gate = cfg.threshold if threshold is None else threshold
    classes: list[str] = []
    if model is not None:
        try:
            classes = list(json.loads((model / "model.json").read_text())["classes"])
        except (OSError, ValueError, KeyError) as exc:
            fail(f"cannot read classes from {model}/model.json: {exc}")
    since_time = parse_since(since)
    obs = observations(read_capture_source(captures, cfg, since_time), since=since_time)
    report = analyse(obs, classes, gate)
    if as_json:
        console.print_json(json.dumps(report.to_json()))
        return
    table = Table(title=f"Confidence of {report.n} images (threshold {gate:g})")
    for column in ("class", "images", "mean confidence", "failing the gate"):
        table.add_column(column)
    for c in report.classes:
        table.add_row(c.label, str(c.n), f"{c.mean:.3f}", f"{c.failing}")
    console.print(table)
    console.print(f"failing the gate: {report.failing}/{report.n} ({report.share_failing:.1%})")


def cost(
    images: int = typer.Option(..., "--images", help="Images (executions) to price."),
    transitions: int = typer.Option(3, "--transitions", help="State transitions per execution."),
    lambda_ms: float = typer.Option(100.0, "--lambda-ms", help="Duration of one Lambda call."),
    memory_mb: int = typer.Option(128, "--memory-mb", help="Lambda memory (MB)."),
    execution_ms: float = typer.Option(500.0, "--execution-ms", help="One Express execution."),
    endpoint_hours: float = typer.Option(
        730.0, "--endpoint-hours", help="Hours the endpoint is up."
    ),
    instance_type: str = typer.Option("ml.m5.large", "--instance-type", help="Endpoint instance."),
    instance_price: float = typer.Option(None, "--instance-price", help="Its USD per hour."),
    free_tier: bool = typer.Option(False, "--free-tier", help="Subtract the monthly free tiers."),
    as_json: bool = typer.Option(False, "--json", help="Print the estimate as JSON."),
) -> None:
    """What this traffic would cost on AWS at list prices (Standard vs Express).

    Example: visiongate monitor cost --images 100000 --endpoint-hours 24
    """
    from rich.table import Table

    from visiongate.monitor.cost import estimate

    result = estimate(
        images,
        transitions_per_execution=transitions,
        lambda_ms=lambda_ms,
        memory_mb=memory_mb,
        execution_ms=execution_ms,
        endpoint_hours=endpoint_hours,
        instance_type=instance_type,
        instance_hour_price=instance_price,
        free_tier=free_tier,
    )
    if as_json:
        console.print_json(json.dumps(result.to_json()))
        return
    table = Table(title=f"AWS list prices, {result.region}, taken {result.prices_date}")
    for column in ("workflow", "service", "item", "quantity", "price", "cost (USD)"):
        table.add_column(
            column, justify="right" if column in {"quantity", "cost (USD)"} else "left"
        )
    for label, lines in (
        ("Standard", result.standard),
        ("Express", result.express),
        ("both", result.shared),
    ):
        for line in lines:
            table.add_row(
                label,
                line.service,
                line.item,
                f"{line.quantity:,.6g} {line.unit}",
                line.unit_price,
                f"{line.cost:,.4f}",
            )
    console.print(table)
    console.print(
        f"total with Standard: [bold]${result.standard_total:,.4f}[/]   "
        f"with Express: [bold]${result.express_total:,.4f}[/]"
    )
    for source in result.sources.values():
        console.print(f"[dim]source: {source}[/]", highlight=False)


def logs(
    ctx: typer.Context,
    execution: str = typer.Option(None, "--execution", help="Execution ARN or name."),
    follow_: bool = typer.Option(False, "--follow", "-f", help="Keep printing new entries."),
    level: str = typer.Option(None, "--level", help="Minimum level (INFO, WARNING, ERROR)."),
    limit: int = typer.Option(1000, "--limit", help="At most this many entries."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON lines."),
) -> None:
    """Print the Lambda functions' structured logs, optionally for one execution.

    Example: visiongate logs --execution my-run-1 --follow
    """
    from visiongate.monitor.logs import follow, read_logs

    database = settings(ctx).database

    def show(entry) -> None:  # noqa: ANN001 - LogEntry
        if as_json:
            console.out(entry.json_line(), highlight=False)
            return
        where = " ".join(x for x in (entry.function, entry.state and f"[{entry.state}]") if x)
        console.out(f"{entry.time} {entry.level:<7} {where} {entry.message}", highlight=False)

    entries = read_logs(database, execution=execution, limit=limit, level=level)
    for entry in entries:
        show(entry)
    if follow_:
        last = entries[-1].id if entries else None
        try:
            for entry in follow(database, execution=execution, since_id=last, level=level):
                show(entry)
        except KeyboardInterrupt:
            raise typer.Exit(0) from None


def dashboard(
    ctx: typer.Context,
    host: str = typer.Option("127.0.0.1", "--host", help="Address to bind (loopback by default)."),
    port: int = typer.Option(8000, "--port", help="Port (0 picks a free one)."),
    model: Path = typer.Option(None, "--model", help="Model directory (class names, baseline)."),
    captures: str = typer.Option(
        None, "--captures", help="Data capture folder, .jsonl file or s3://bucket/prefix."
    ),
    token: str = typer.Option(
        None,
        "--token",
        envvar="VISIONGATE_DASHBOARD_TOKEN",
        help="Access token; required when --host is not loopback (generated if omitted there).",
    ),
) -> None:
    """Serve the monitoring dashboard: executions, endpoint, confidence, drift, cost.

    Example: visiongate dashboard --model models/bikes --captures s3://captures/visiongate
    """
    import secrets

    from visiongate.monitor.dashboard import Dashboard, DashboardConfig
    from visiongate.monitor.dashboard.security import is_loopback

    if not is_loopback(host) and not token:
        token = secrets.token_urlsafe(24)
    config = DashboardConfig(settings(ctx), model_dir=model, captures=captures)
    try:
        server = Dashboard(config, host=host, port=port, token=token)
    except OSError as exc:
        fail(f"cannot listen on {host}:{port}: {exc.strerror}", hint="pick another --port")
    link = server.url + (f"/?token={token}" if token else "/")
    console.print(f"dashboard on [bold]{link}[/]  (Ctrl-C to stop)", highlight=False)
    if token and not is_loopback(host):
        console.print("[yellow]bound beyond this machine: keep the token secret[/]")
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()


def register(app: typer.Typer) -> None:
    """Add this area's commands to ``app``."""
    group = typer.Typer(
        help="Monitoring: drift against the training baseline, confidence, cost.\n\n"
        "Example: visiongate monitor drift --model models/bikes --captures .visiongate/captures",
        no_args_is_help=True,
    )
    group.command("drift")(drift)
    group.command("confidence")(confidence)
    group.command("cost")(cost)
    app.add_typer(group, name="monitor")
    app.command("logs")(logs)
    app.command("dashboard")(dashboard)
