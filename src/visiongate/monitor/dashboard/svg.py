"""Inline SVG charts: time series with reference lines, and histograms. No JavaScript needed.

Everything textual in a chart (series names, tick labels) is escaped; colours come from
CSS classes (``s0``..``s5``, ``threshold``) so the stylesheet, not the data, decides them.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from visiongate.monitor.dashboard.html import Safe, html, join

PAD_LEFT, PAD_RIGHT, PAD_TOP, PAD_BOTTOM = 56, 16, 12, 44


@dataclass
class Series:
    name: str
    points: Sequence[tuple[float, float | None]]  # (x, y); None breaks the line
    cls: str = "s0"


@dataclass
class RefLine:
    y: float
    label: str
    cls: str = "threshold"


@dataclass
class Chart:
    title: str
    series: list[Series]
    ref_lines: list[RefLine] = field(default_factory=list)
    y_min: float | None = None
    y_max: float | None = None
    y_format: Callable[[float], str] = lambda v: f"{v:.3g}"
    x_format: Callable[[float], str] | None = None  # default: UTC time, precision by span
    width: int = 720
    height: int = 220


def time_format(span_seconds: float) -> Callable[[float], str]:
    """UTC tick labels with the precision the span needs."""
    pattern = (
        "%H:%M:%S" if span_seconds < 3600 else "%H:%M" if span_seconds <= 86400 else "%m-%d %H:%M"
    )
    return lambda v: datetime.fromtimestamp(v, UTC).strftime(pattern)


def _ticks(low: float, high: float, count: int = 4) -> list[float]:
    if high <= low:
        return [low]
    return [low + (high - low) * i / count for i in range(count + 1)]


def line_chart(chart: Chart) -> Safe:
    """A line chart; an empty chart says so instead of drawing axes around nothing."""
    xs = [x for s in chart.series for x, y in s.points if y is not None]
    ys = [y for s in chart.series for _, y in s.points if y is not None]
    ys += [r.y for r in chart.ref_lines]
    if not xs:
        return html(
            '<figure class="chart"><figcaption>{}</figcaption>'
            '<p class="empty">No data in this window.</p></figure>',
            chart.title,
        )
    x0, x1 = min(xs), max(xs)
    if x1 == x0:
        x0, x1 = x0 - 30, x1 + 30
    y0 = chart.y_min if chart.y_min is not None else min(0.0, min(ys))
    y1 = chart.y_max if chart.y_max is not None else max(ys)
    if y1 <= y0:
        y1 = y0 + 1
    w, h = chart.width, chart.height
    plot_w, plot_h = w - PAD_LEFT - PAD_RIGHT, h - PAD_TOP - PAD_BOTTOM

    def px(x: float) -> float:
        return PAD_LEFT + (x - x0) / (x1 - x0) * plot_w

    def py(y: float) -> float:
        return PAD_TOP + plot_h - (y - y0) / (y1 - y0) * plot_h

    x_format = chart.x_format or time_format(x1 - x0)
    parts: list[Safe] = []
    for tick in _ticks(y0, y1):
        parts.append(
            html(
                '<line class="grid" x1="{}" x2="{}" y1="{:.1f}" y2="{:.1f}"/>'
                '<text class="tick" x="{}" y="{:.1f}" text-anchor="end">{}</text>',
                PAD_LEFT,
                w - PAD_RIGHT,
                py(tick),
                py(tick),
                PAD_LEFT - 6,
                py(tick) + 4,
                chart.y_format(tick),
            )
        )
    for tick in _ticks(x0, x1):
        parts.append(
            html(
                '<text class="tick" x="{:.1f}" y="{}" text-anchor="middle">{}</text>',
                px(tick),
                h - PAD_BOTTOM + 16,
                x_format(tick),
            )
        )
    for ref in chart.ref_lines:
        parts.append(
            html(
                '<line class="{}" x1="{}" x2="{}" y1="{:.1f}" y2="{:.1f}"/>'
                '<text class="ref-label" x="{}" y="{:.1f}" text-anchor="end">{}</text>',
                ref.cls,
                PAD_LEFT,
                w - PAD_RIGHT,
                py(ref.y),
                py(ref.y),
                w - PAD_RIGHT - 4,
                py(ref.y) - 4,
                ref.label,
            )
        )
    for series in chart.series:
        segment: list[str] = []
        segments: list[list[str]] = []
        for x, y in series.points:
            if y is None or (isinstance(y, float) and math.isnan(y)):
                if segment:
                    segments.append(segment)
                segment = []
                continue
            segment.append(f"{px(x):.1f},{py(y):.1f}")
        if segment:
            segments.append(segment)
        for seg in segments:
            if len(seg) == 1:
                cx, cy = seg[0].split(",")
                parts.append(
                    html('<circle class="line {}" cx="{}" cy="{}" r="2.5"/>', series.cls, cx, cy)
                )
            else:
                parts.append(
                    html('<polyline class="line {}" points="{}"/>', series.cls, " ".join(seg))
                )
    legend = join(html('<span class="key {}">{}</span>', s.cls, s.name) for s in chart.series)
    return html(
        '<figure class="chart"><figcaption>{}</figcaption>'
        '<svg viewBox="0 0 {} {}" role="img" aria-label="{}">'
        '<rect class="frame" x="{}" y="{}" width="{}" height="{}"/>{}</svg>'
        '<div class="legend">{}</div></figure>',
        chart.title,
        w,
        h,
        chart.title,
        PAD_LEFT,
        PAD_TOP,
        plot_w,
        plot_h,
        join(parts),
        legend,
    )


def histogram(
    title: str,
    counts: Sequence[int],
    edges: Sequence[float],
    marker: float | None = None,
    marker_label: str = "",
    width: int = 340,
    height: int = 160,
) -> Safe:
    """Bars for ``counts`` over bins ``edges``; an optional vertical marker (the threshold)."""
    total = sum(counts)
    top = max(counts) if counts and max(counts) > 0 else 1
    plot_w, plot_h = width - 40 - 10, height - 16 - 30
    lo, hi = edges[0], edges[-1]
    span = (hi - lo) or 1.0
    bars = []
    for i, count in enumerate(counts):
        x = 40 + (edges[i] - lo) / span * plot_w
        bw = (edges[i + 1] - edges[i]) / span * plot_w
        bh = count / top * plot_h
        bars.append(
            html(
                '<rect class="bar" x="{:.1f}" y="{:.1f}" width="{:.1f}" height="{:.1f}">'
                "<title>{}–{}: {}</title></rect>",
                x + 1,
                16 + plot_h - bh,
                max(bw - 2, 1),
                bh,
                f"{edges[i]:.2f}",
                f"{edges[i + 1]:.2f}",
                count,
            )
        )
    ticks = join(
        html(
            '<text class="tick" x="{:.1f}" y="{}" text-anchor="middle">{}</text>',
            40 + (v - lo) / span * plot_w,
            height - 12,
            f"{v:g}",
        )
        for v in (lo, (lo + hi) / 2, hi)
    )
    mark = Safe("")
    if marker is not None and lo <= marker <= hi:
        mx = 40 + (marker - lo) / span * plot_w
        mark = html(
            '<line class="threshold" x1="{:.1f}" x2="{:.1f}" y1="16" y2="{}"/>'
            '<text class="ref-label" x="{:.1f}" y="12" text-anchor="middle">{}</text>',
            mx,
            mx,
            16 + plot_h,
            mx,
            marker_label,
        )
    return html(
        '<figure class="chart small"><figcaption>{} <span class="muted">({} images)</span>'
        '</figcaption><svg viewBox="0 0 {} {}" role="img" aria-label="{}">'
        '<line class="axis" x1="40" x2="{}" y1="{}" y2="{}"/>{}{}{}</svg></figure>',
        title,
        total,
        width,
        height,
        title,
        40 + plot_w,
        16 + plot_h,
        16 + plot_h,
        join(bars),
        ticks,
        mark,
    )
