"""Endpoint, Confidence, Drift and Cost pages: thin views over the monitoring library."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from visiongate.errors import VisiongateError
from visiongate.monitor.dashboard import data
from visiongate.monitor.dashboard.context import WINDOWS, Context, when
from visiongate.monitor.dashboard.html import (
    Safe,
    badge,
    html,
    join,
    layout,
    notice,
    table,
    url,
)
from visiongate.monitor.dashboard.svg import Chart, RefLine, Series, histogram, line_chart


def _window_links(ctx: Context, path: str, chosen: str, choices: list[str], **keep: Any) -> Safe:
    return html(
        '<nav class="windows">{}</nav>',
        join(
            html(
                '<a href="{}"{}>{}</a>',
                url(path, since=w, **keep),
                Safe(' class="active"') if w == chosen else "",
                w,
            )
            for w in choices
        ),
    )


# --- Endpoint ------------------------------------------------------------------------------


def _ms(value: Any) -> float | None:
    return None if value is None else float(value) / 1000.0


def _endpoint_section(name: str, rows: list[dict[str, Any]]) -> Safe:
    invocations = sum(r["invocations"] for r in rows)
    e4 = sum(r["errors_4xx"] for r in rows)
    e5 = sum(r["errors_5xx"] for r in rows)
    batches = sum(r["batches"] or 0 for r in rows)
    images = sum((r["mean_batch_size"] or 0) * (r["batches"] or 0) for r in rows)
    p99 = max((r["latency_p99_us"] or 0) for r in rows) / 1000 if rows else 0.0
    figures = html(
        '<dl class="figures"><div><dt>Invocations</dt><dd>{}</dd></div>'
        "<div><dt>4xx</dt><dd>{}</dd></div><div><dt>5xx</dt><dd>{}</dd></div>"
        "<div><dt>Worst p99 (ms)</dt><dd>{:.1f}</dd></div>"
        "<div><dt>Mean batch size</dt><dd>{}</dd></div></dl>",
        f"{invocations:,}",
        f"{e4:,}",
        f"{e5:,}",
        p99,
        f"{images / batches:.2f}" if batches else "-",
    )

    def series(
        name: str, column: str, cls: str, scale: Callable[[Any], Any] | None = None
    ) -> Series:
        points = [(float(r["ts"]), scale(r[column]) if scale else r[column]) for r in rows]
        return Series(name, points, cls)

    count = line_chart(
        Chart(
            "Invocations and errors per minute",
            [
                series("invocations", "invocations", "s0"),
                series("4xx", "errors_4xx", "s3"),
                series("5xx", "errors_5xx", "s4"),
            ],
            y_min=0,
            y_format=lambda v: f"{v:.0f}",
        )
    )
    latency = line_chart(
        Chart(
            "Latency (ms)",
            [
                series("p50", "latency_p50_us", "s0", _ms),
                series("p90", "latency_p90_us", "s1", _ms),
                series("p99", "latency_p99_us", "s4", _ms),
            ],
            y_min=0,
        )
    )
    batch = line_chart(
        Chart(
            "Mean batch size",
            [series("images per model call", "mean_batch_size", "s2")],
            y_min=0,
        )
    )
    return html(
        '<section class="endpoint"><h2>{}</h2>{}<div class="charts">{}{}{}</div></section>',
        name,
        figures,
        count,
        latency,
        batch,
    )


def endpoint_live(ctx: Context) -> Safe:
    label, since = ctx.window(default="1h")
    groups = data.endpoint_metrics(ctx.config.database, since or 0)
    if not groups:
        return notice(
            "No endpoint metrics in this window. Start the model server "
            "(visiongate serve) and send it traffic."
        )
    return join(_endpoint_section(name, rows) for name, rows in groups.items())


def endpoint_page(ctx: Context) -> Safe:
    label, _ = ctx.window(default="1h")
    body = html(
        '{}<section id="live">{}</section>',
        _window_links(ctx, "/endpoint", label, ["15m", "1h", "6h", "24h", "7d"]),
        endpoint_live(ctx),
    )
    return layout("Endpoint", body, active="/endpoint", refresh=url("/endpoint/live", since=label))


# --- Confidence ----------------------------------------------------------------------------


def _observations(ctx: Context, since: float | None):  # noqa: ANN202
    from visiongate.monitor.traffic import observations, read_capture_source

    since_dt = None if since is None else datetime.fromtimestamp(since, UTC)
    records = read_capture_source(ctx.config.captures or "", ctx.config.settings, since_dt)
    return observations(records, since=since_dt)


def _no_captures() -> Safe:
    return notice(
        "No capture source configured. Start the dashboard with "
        "--captures DIR|s3://bucket/prefix (the model server's data capture)."
    )


def confidence_page(ctx: Context) -> Safe:
    from visiongate.monitor.confidence import analyse

    label, since = ctx.window(default="all")
    links = _window_links(ctx, "/confidence", label, ["1h", "24h", "7d", "30d", "all"])
    if not ctx.config.captures:
        return layout("Confidence", html("{}{}", links, _no_captures()), active="/confidence")
    threshold = ctx.config.settings.threshold
    try:
        obs = _observations(ctx, since)
    except VisiongateError as exc:
        return layout(
            "Confidence", html("{}{}", links, notice(exc.message, "error")), active="/confidence"
        )
    report = analyse(obs, ctx.config.classes(), threshold)
    figures = html(
        '<dl class="figures"><div><dt>Images</dt><dd>{}</dd></div>'
        "<div><dt>Threshold</dt><dd>{:g}</dd></div>"
        '<div><dt>Failing the gate</dt><dd id="share-failing">{:.1%}</dd></div>'
        "<div><dt>Mean confidence</dt><dd>{:.3f}</dd></div></dl>",
        f"{report.n:,}",
        threshold,
        report.share_failing,
        report.mean,
    )

    def ts(text: str) -> float:
        return datetime.fromisoformat(text).timestamp()

    timeline = line_chart(
        Chart(
            "Top confidence over time",
            [
                Series("mean", [(ts(b.start), b.mean) for b in report.timeline], "s0"),
                Series("10th percentile", [(ts(b.start), b.p10) for b in report.timeline], "s1"),
                Series("minimum", [(ts(b.start), b.minimum) for b in report.timeline], "s3"),
            ],
            ref_lines=[RefLine(threshold, f"threshold {threshold:g}")],
            y_min=0,
            y_max=1,
            y_format=lambda v: f"{v:.2f}",
        )
    )
    hists = join(
        histogram(
            f"{c.label}: {c.failing} failing",
            c.histogram,
            report.bins,
            marker=threshold,
            marker_label="threshold",
        )
        for c in report.classes
    )
    body = html(
        '{}{}{}<h2>Per predicted class</h2><div class="charts">{}</div>'
        '<p class="muted">Source: {}</p>',
        links,
        figures,
        timeline,
        hists,
        ctx.config.captures,
    )
    return layout("Confidence", body, active="/confidence")


# --- Drift ---------------------------------------------------------------------------------

_cache: dict[tuple, tuple[float, Any]] = {}
_cache_lock = threading.Lock()
CACHE_SECONDS = 60.0


def _drift_report(ctx: Context, label: str, since: float | None):  # noqa: ANN202
    from visiongate.monitor.traffic import drift_report, read_capture_source

    key = (str(ctx.config.model_dir), ctx.config.captures, label)
    with _cache_lock:
        hit = _cache.get(key)
        if hit and time.monotonic() - hit[0] < CACHE_SECONDS:
            return hit[1]
    since_dt = None if since is None else datetime.fromtimestamp(since, UTC)
    records = read_capture_source(ctx.config.captures or "", ctx.config.settings, since_dt)
    report = drift_report(
        ctx.config.model_dir, records, since=since_dt, source=ctx.config.captures or ""
    )
    with _cache_lock:
        _cache[key] = (time.monotonic(), report)
    return report


def _fmt(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value:.2e}" if value != 0 and abs(value) < 1e-3 else f"{value:.4g}"


def drift_page(ctx: Context) -> Safe:
    label, since = ctx.window(default="all")
    links = _window_links(ctx, "/drift", label, ["1h", "24h", "7d", "30d", "all"])
    if ctx.config.model_dir is None:
        return layout(
            "Drift",
            html(
                "{}{}",
                links,
                notice(
                    "No model configured. Start the dashboard with --model MODEL_DIR (it holds "
                    "baseline.json)."
                ),
            ),
            active="/drift",
        )
    if not ctx.config.captures:
        return layout("Drift", html("{}{}", links, _no_captures()), active="/drift")
    try:
        report = _drift_report(ctx, label, since)
    except VisiongateError as exc:
        return layout("Drift", html("{}{}", links, notice(exc.message, "error")), active="/drift")
    rows = []
    for c in report.checks:
        thresholds = ", ".join(f"{k} {v:g}" for k, v in c.thresholds.items()) or "-"
        effect = f"{c.effect_name} {_fmt(c.effect)}" if c.effect_name else "-"
        rows.append(
            [
                c.name,
                c.test,
                _fmt(c.statistic),
                _fmt(c.p_value),
                effect,
                thresholds,
                badge(c.status.upper()),
                html('<span class="muted">{}</span>', c.detail),
            ]
        )
    context = report.context
    body = html(
        '{}<p class="overall">Overall: {} <span class="muted">{} images, {} to {}</span></p>{}'
        '<p class="muted">Status: drift when p &lt; p_drift and the effect reaches its drift '
        "threshold; warning at the warning levels; ok otherwise.</p>"
        '<p class="muted">Model: {} · captures: {}</p>',
        links,
        badge(report.status.upper()),
        report.n_current,
        context.get("first") or "?",
        context.get("last") or "?",
        table(
            ["Check", "Test", "Statistic", "p-value", "Effect", "Thresholds", "Status", "Detail"],
            rows,
        ),
        ctx.config.model_dir,
        ctx.config.captures,
    )
    return layout("Drift", body, active="/drift")


# --- Cost ----------------------------------------------------------------------------------


def _number(ctx: Context, name: str, default: float, minimum: float = 0) -> float:
    try:
        value = float(ctx.param(name, ""))
    except ValueError:
        return default
    return value if value >= minimum and value == value and value < 1e15 else default


def cost_page(ctx: Context) -> Safe:
    from visiongate.monitor.cost import estimate

    label, since = ctx.window(default="30d")
    measured = data.execution_figures(ctx.config.database, since)
    defaults = {
        "images": measured["executions"] or 1000,
        "transitions": round(measured["transitions_per_execution"]) or 3,
        "lambda_ms": round(measured["lambda_ms"], 1) or 100.0,
        "memory_mb": 128,
        "execution_ms": round(measured["execution_seconds"] * 1000, 1) or 500.0,
        "endpoint_hours": WINDOWS.get(label, 30 * 86400) / 3600 if label != "all" else 730,
    }
    values = {
        "images": int(_number(ctx, "images", defaults["images"])),
        "transitions": int(_number(ctx, "transitions", defaults["transitions"])),
        "lambda_ms": _number(ctx, "lambda_ms", defaults["lambda_ms"]),
        "memory_mb": int(_number(ctx, "memory_mb", defaults["memory_mb"], 128)),
        "execution_ms": _number(ctx, "execution_ms", defaults["execution_ms"]),
        "endpoint_hours": _number(ctx, "endpoint_hours", defaults["endpoint_hours"]),
    }
    try:
        result = estimate(
            values["images"],
            transitions_per_execution=values["transitions"],
            lambda_ms=values["lambda_ms"],
            memory_mb=values["memory_mb"],
            execution_ms=values["execution_ms"],
            endpoint_hours=values["endpoint_hours"],
        )
    except VisiongateError as exc:
        return layout("Cost", notice(exc.message, "error"), active="/cost")
    fields = [
        ("images", "Images (executions)"),
        ("transitions", "State transitions each"),
        ("lambda_ms", "Lambda ms per call"),
        ("memory_mb", "Lambda memory MB"),
        ("execution_ms", "Execution ms (Express)"),
        ("endpoint_hours", "Endpoint hours"),
    ]
    form = html(
        '<form class="filters" method="get" action="/cost">{}'
        '<input type="hidden" name="since" value="{}"><button type="submit">Estimate'
        "</button></form>",
        join(
            html(
                '<label>{} <input type="number" step="any" min="0" name="{}" value="{}"></label>',
                text,
                name,
                values[name],
            )
            for name, text in fields
        ),
        label,
    )
    measured_text = html(
        '<p class="muted">Measured over {}: {} executions, {:.1f} state transitions each, '
        "{:.0f} ms per execution, {:.1f} ms per Lambda call ({} calls).</p>",
        "all time" if label == "all" else f"the last {label}",
        int(measured["executions"]),
        measured["transitions_per_execution"],
        measured["execution_seconds"] * 1000,
        measured["lambda_ms"],
        int(measured["lambda_samples"]),
    )
    rows = [
        [
            workflow,
            f"{line.service}: {line.item}",
            f"{line.quantity:,.6g} {line.unit}",
            line.unit_price,
            f"${line.cost:,.4f}",
        ]
        for workflow, lines in (
            ("Standard", result.standard),
            ("Express", result.express),
            ("both", result.shared),
        )
        for line in lines
    ]
    totals = html(
        '<dl class="figures"><div><dt>With Standard</dt><dd id="total-standard">${:,.4f}</dd>'
        '</div><div><dt>With Express</dt><dd id="total-express">${:,.4f}</dd></div></dl>',
        result.standard_total,
        result.express_total,
    )
    sources = join(
        html('<li><a href="{}" rel="noreferrer">{}</a></li>', u, u) for u in result.sources.values()
    )
    body = html(
        "{}{}{}{}{}<p>List prices, region <strong>{}</strong>, taken <strong>{}</strong>. "
        'Free tiers not subtracted.</p><ul class="sources">{}</ul>',
        _window_links(ctx, "/cost", label, ["24h", "7d", "30d", "all"]),
        measured_text,
        form,
        totals,
        table(["Workflow", "Item", "Quantity", "Price", "Cost"], rows),
        result.region,
        result.prices_date,
        sources,
    )
    return layout("Cost", body, active="/cost")


__all__ = ["confidence_page", "cost_page", "drift_page", "endpoint_live", "endpoint_page", "when"]
