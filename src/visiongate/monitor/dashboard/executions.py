"""Executions: the filterable, paginated, live list, and one execution in detail."""

from __future__ import annotations

import json
import math

from visiongate.monitor.dashboard import data, graph
from visiongate.monitor.dashboard.context import WINDOWS, Context, duration, when
from visiongate.monitor.dashboard.html import (
    Safe,
    badge,
    html,
    join,
    layout,
    notice,
    pretty_json,
    rows_html,
    table,
    url,
)
from visiongate.monitor.logstore import read_logs

PAGE_SIZE = 25
FINISHED = {"SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED"}
REDRIVABLE = {"FAILED", "TIMED_OUT", "ABORTED"}  # RedriveExecution's allowed statuses


def _filters(ctx: Context) -> dict[str, str]:
    status = ctx.param("status")
    return {
        "status": status if status in data.STATUSES else "",
        "q": ctx.param("q")[:200],
        "since": ctx.param("since", "all")
        if ctx.param("since", "all") in {*WINDOWS, "all"}
        else "all",
    }


def _page_number(ctx: Context) -> int:
    try:
        return max(1, int(ctx.param("page", "1")))
    except ValueError:
        return 1


def _select(name: str, options: list[tuple[str, str]], chosen: str) -> Safe:
    return html(
        '<select name="{}" id="{}">{}</select>',
        name,
        name,
        join(
            html(
                '<option value="{}"{}>{}</option>',
                value,
                Safe(" selected") if value == chosen else "",
                label,
            )
            for value, label in options
        ),
    )


def _listing(ctx: Context) -> Safe:
    """The live part of the list: the table and the pagination links."""
    filters = _filters(ctx)
    page = _page_number(ctx)
    label, since = (filters["since"], None)
    if label != "all":
        since = ctx.now - WINDOWS[label]
    rows, total = data.list_executions(
        ctx.config.database,
        status=filters["status"] or None,
        search=filters["q"] or None,
        since=since,
        limit=PAGE_SIZE,
        offset=(page - 1) * PAGE_SIZE,
        classes=ctx.config.classes(),
    )
    body = []
    for row in rows:
        pred = row.prediction
        body.append(
            [
                html('<a href="{}">{}</a>', url("/execution", arn=row.arn), row.name),
                badge(row.status),
                when(row.start),
                duration(row.duration),
                html('<span class="s3key">{}</span>', row.key),
                pred.label if pred else "",
                f"{pred.confidence:.3f}" if pred else "",
            ]
        )
    pages = max(1, math.ceil(total / PAGE_SIZE))
    links = []
    if page > 1:
        links.append(
            html(
                '<a rel="prev" href="{}">← newer</a>', url("/executions", **filters, page=page - 1)
            )
        )
    links.append(html("<span>page {} of {} · {} executions</span>", page, pages, total))
    if page < pages:
        links.append(
            html(
                '<a rel="next" href="{}">older →</a>', url("/executions", **filters, page=page + 1)
            )
        )
    headers = [
        "Execution",
        "Status",
        "Started (UTC)",
        "Duration",
        "Input key",
        "Prediction",
        "Confidence",
    ]
    return html(
        '{}<nav class="pages">{}</nav>',
        table(
            headers,
            body,
            tbody_id="executions",
            empty="No executions match. Start one with visiongate run.",
        ),
        join(links, " "),
    )


def executions_live(ctx: Context) -> Safe:
    return _listing(ctx)


def executions_page(ctx: Context) -> Safe:
    filters = _filters(ctx)
    statuses = [("", "any status")] + [(s, s) for s in data.STATUSES]
    windows = [("all", "any time")] + [(w, f"last {w}") for w in WINDOWS]
    form = html(
        '<form class="filters" method="get" action="/executions">'
        "<label>Status {}</label><label>Started {}</label>"
        '<label>Key or name <input type="search" name="q" value="{}" placeholder="cats/"></label>'
        '<button type="submit">Filter</button></form>',
        _select("status", statuses, filters["status"]),
        _select("since", windows, filters["since"]),
        filters["q"],
    )
    live_url = url("/executions/live", **filters, page=_page_number(ctx))
    body = html('{}<section id="live">{}</section>', form, _listing(ctx))
    return layout("Executions", body, active="/executions", refresh=live_url)


# --- one execution ---------------------------------------------------------------------------


def _action_forms(ctx: Context, execution: dict) -> Safe:
    forms = []
    if execution["status"] == "RUNNING":
        forms.append(("/execution/stop", "Stop", "danger"))
    if execution["status"] in REDRIVABLE:
        forms.append(("/execution/redrive", "Redrive", "primary"))
    return join(
        html(
            '<form method="post" action="{}" class="action">'
            '<input type="hidden" name="arn" value="{}">'
            '<input type="hidden" name="csrf" value="{}">'
            '<button type="submit" class="{}">{}</button></form>',
            path,
            execution["arn"],
            ctx.csrf,
            cls,
            label,
        )
        for path, label, cls in forms
    )


def _summary(ctx: Context, execution: dict, events: list[dict]) -> Safe:
    key = data.input_key(execution.get("input"))
    pred = data.prediction(execution.get("output"), ctx.config.classes())
    if pred is None:
        for event in reversed(events):
            pred = data._prediction_in_details(event.get("details"), ctx.config.classes())
            if pred is not None:
                break
    stop = execution.get("stop_date")
    facts = [
        ("Status", badge(execution["status"])),
        ("State machine", execution.get("state_machine_name", "")),
        ("Started (UTC)", when(execution.get("start_date"))),
        ("Duration", duration(None if stop is None else stop - execution["start_date"])),
        ("Input key", key),
        ("Prediction", f"{pred.label} ({pred.confidence:.3f})" if pred else ""),
    ]
    if execution.get("redrive_count"):
        facts.append(("Redrives", execution["redrive_count"]))
    if execution.get("error"):
        facts.append(("Error", html('<span class="error-text">{}</span>', execution["error"])))
    if execution.get("cause"):
        facts.append(("Cause", html('<span class="error-text">{}</span>', execution["cause"])))
    return html(
        '<dl class="facts">{}</dl>', join(html("<dt>{}</dt><dd>{}</dd>", k, v) for k, v in facts)
    )


def _steps(events: list[dict]) -> Safe:
    out = []
    for step in data.steps(events):
        took = duration(step["exited"] - step["entered"]) if step["exited"] else ""
        extra = (
            html(
                '<p class="error-text">{}: {}</p>', step.get("error") or "", step.get("cause") or ""
            )
            if step.get("error")
            else Safe("")
        )
        out.append(
            html(
                '<details class="step {}"><summary><strong>{}</strong> <span class="muted">{}</span> '
                '{} <span class="muted">{}</span></summary>{}'
                '<div class="io"><div><h4>Input</h4><pre>{}</pre></div>'
                "<div><h4>Output</h4><pre>{}</pre></div></div></details>",
                step["status"],
                step["name"],
                step["type"],
                badge(step["status"].upper()),
                took,
                extra,
                pretty_json(step["input"]) if step["input"] is not None else "",
                pretty_json(step["output"]) if step["output"] is not None else "",
            )
        )
    return join(out) if out else notice("No state has run yet.")


def _events(events: list[dict]) -> Safe:
    start = events[0]["timestamp"] if events else 0.0
    rows = []
    for event in events:
        details = event.get("details")
        rows.append(
            [
                event["id"],
                event["type"],
                f"+{(event['timestamp'] - start) * 1000:.0f} ms",
                html(
                    "<details><summary>details</summary><pre>{}</pre></details>",
                    pretty_json(details),
                )
                if details
                else "",
            ]
        )
    return table(["#", "Type", "Time", "Details"], rows, empty="No events.")


def _logs(ctx: Context, arn: str) -> Safe:
    entries = read_logs(ctx.config.database, execution=arn, limit=2000)
    rows = [
        [
            e.time[11:23],
            badge(e.level),
            e.function or "",
            e.state or "",
            html('<span class="message">{}</span>', e.message),
        ]
        for e in entries
    ]
    return table(
        ["Time", "Level", "Function", "State", "Message"],
        rows,
        empty="No function logs for this execution.",
    )


def _detail(ctx: Context, execution: dict) -> Safe:
    events = data.get_events(ctx.config.database, execution["arn"])
    try:
        definition = json.loads(execution.get("definition") or "{}")
    except ValueError:
        definition = {}
    outcome = graph.outcomes(
        events, definition if isinstance(definition, dict) else {}, execution["status"]
    )
    final = Safe(' data-final="1"') if execution["status"] in FINISHED else Safe("")
    return html(
        '<div class="detail"{}>{}<div class="actions">{}</div>'
        '<section><h2>Graph</h2><div class="graph-wrap">{}</div>'
        '<p class="legend-line"><span class="key succeeded">succeeded</span>'
        '<span class="key failed">failed</span><span class="key caught">caught</span>'
        '<span class="key running">running</span><span class="key not-run">not run</span></p>'
        "</section>"
        "<section><h2>Steps</h2>{}</section>"
        "<section><h2>Function logs</h2>{}</section>"
        "<section><h2>Event history</h2>{}</section></div>",
        final,
        _summary(ctx, execution, events),
        _action_forms(ctx, execution),
        graph.draw(definition, outcome),
        _steps(events),
        _logs(ctx, execution["arn"]),
        _events(events),
    )


def execution_live(ctx: Context) -> Safe | None:
    execution = data.get_execution(ctx.config.database, ctx.param("arn"))
    return None if execution is None else _detail(ctx, execution)


def execution_page(ctx: Context) -> Safe | None:
    arn = ctx.param("arn")
    execution = data.get_execution(ctx.config.database, arn)
    if execution is None:
        return None
    flash = notice(ctx.flash, "ok") if ctx.flash else Safe("")
    body = html(
        '{}<p class="muted arn">{}</p><section id="live">{}</section>',
        flash,
        arn,
        _detail(ctx, execution),
    )
    refresh = None if execution["status"] in FINISHED else url("/execution/live", arn=arn)
    return layout(f"Execution {execution['name']}", body, active="/executions", refresh=refresh)


__all__ = ["execution_live", "execution_page", "executions_live", "executions_page", "rows_html"]
