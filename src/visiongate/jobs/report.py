"""The summary of a batch run and a self-contained HTML report with its plots.

    summary = summarize(rows, truth)          # pure: counts, coverage, accuracy of what passed
    write_report(path, rows, threshold=0.75, truth=truth, title="Demo", facts={...})

The report is one HTML file with the plots embedded as base64 PNGs (matplotlib's object API,
no pyplot state, so it works the same from the CLI, a notebook or a test):

* the confidence histogram against the gate's threshold line — correct and wrong predictions
  stacked when the true labels are known, else passed and below threshold;
* the confusion matrix (true class × predicted class) of every classified image, beside the
  one of the images that passed the gate: what the gate buys in accuracy.
"""

from __future__ import annotations

import base64
import html
import io
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from visiongate.jobs.results import ResultRow, write_atomically

MAX_LISTED = 25  # rows of the "did not pass" table


@dataclass(frozen=True)
class Summary:
    processed: int
    passed: int
    below_threshold: int
    errors: int
    labelled: int  # classified images whose true label is known
    correct: int
    passed_labelled: int
    passed_correct: int

    @property
    def coverage(self) -> float | None:
        return self.passed / self.processed if self.processed else None

    @property
    def accuracy(self) -> float | None:
        return self.correct / self.labelled if self.labelled else None

    @property
    def accuracy_passed(self) -> float | None:
        return self.passed_correct / self.passed_labelled if self.passed_labelled else None


def summarize(rows: Sequence[ResultRow], truth: Mapping[str, str] | None = None) -> Summary:
    """Counts over ``rows``; accuracies against ``truth`` (key -> true label) when given."""
    truth = truth or {}
    passed = below = errors = labelled = correct = passed_labelled = passed_correct = 0
    for row in rows:
        if row.passed:
            passed += 1
        elif row.below_threshold:
            below += 1
        else:
            errors += 1
        expected = truth.get(row.key)
        if expected is None or row.label is None:
            continue
        labelled += 1
        hit = row.label == expected
        correct += hit
        if row.passed:
            passed_labelled += 1
            passed_correct += hit
    return Summary(
        len(rows), passed, below, errors, labelled, correct, passed_labelled, passed_correct
    )


def percent(value: float | None) -> str:
    return "n/a" if value is None else f"{100 * value:.1f}%"


# -- plots ---------------------------------------------------------------------------------
def _png(figure: Any) -> str:
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    FigureCanvasAgg(figure)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=110, bbox_inches="tight")
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def confidence_histogram(
    rows: Sequence[ResultRow], threshold: float, truth: Mapping[str, str] | None = None
) -> str:
    """Base64 PNG: confidences of the classified images, stacked, with the threshold line."""
    from matplotlib.figure import Figure

    scored = [r for r in rows if r.confidence is not None]
    if truth:
        groups = {
            "correct": [r.confidence for r in scored if truth.get(r.key) == r.label],
            "wrong": [r.confidence for r in scored if truth.get(r.key, r.label) != r.label],
            "no label": [r.confidence for r in scored if r.key not in truth],
        }
        colors = {"correct": "#2e7d32", "wrong": "#c62828", "no label": "#9e9e9e"}
    else:
        groups = {
            "passed": [r.confidence for r in scored if r.passed],
            "below threshold": [r.confidence for r in scored if not r.passed],
        }
        colors = {"passed": "#2e7d32", "below threshold": "#ef6c00"}
    groups = {name: values for name, values in groups.items() if values}
    figure = Figure(figsize=(6.4, 3.6))
    axes = figure.add_subplot()
    bins = [i / 40 for i in range(41)]
    if groups:
        axes.hist(
            list(groups.values()),
            bins=bins,
            stacked=True,
            label=list(groups),
            color=[colors[name] for name in groups],
        )
    axes.axvline(
        threshold, color="black", linestyle="--", linewidth=1.5, label=f"threshold {threshold:g}"
    )
    axes.set_xlim(0, 1)
    axes.set_xlabel("confidence (top class probability)")
    axes.set_ylabel("images")
    axes.set_yscale("log" if any(len(v) > 200 for v in groups.values()) else "linear")
    axes.set_title("Confidence against the gate")
    axes.legend(loc="upper left", fontsize="small")
    return _png(figure)


def confusion(
    rows: Sequence[ResultRow], truth: Mapping[str, str], classes: Sequence[str]
) -> list[list[int]]:
    index = {name: i for i, name in enumerate(classes)}
    matrix = [[0] * len(classes) for _ in classes]
    for row in rows:
        expected = truth.get(row.key)
        if expected in index and row.label in index:
            matrix[index[expected]][index[row.label]] += 1
    return matrix


def confusion_plot(
    rows: Sequence[ResultRow], truth: Mapping[str, str], classes: Sequence[str]
) -> str:
    """Base64 PNG: confusion matrices of all classified images and of those that passed."""
    from matplotlib.figure import Figure

    panels = [
        ("all classified images", [r for r in rows if r.label is not None]),
        ("passed the gate", [r for r in rows if r.passed]),
    ]
    size = max(3.2, 0.42 * len(classes) + 1.6)
    figure = Figure(figsize=(2 * size + 0.6, size))
    for position, (title, subset) in enumerate(panels, 1):
        axes = figure.add_subplot(1, 2, position)
        matrix = confusion(subset, truth, classes)
        axes.imshow(matrix, cmap="Blues")
        total = sum(map(sum, matrix))
        right = sum(matrix[i][i] for i in range(len(classes)))
        accuracy = f"{100 * right / total:.1f}%" if total else "n/a"
        axes.set_title(f"{title}\n{total} images, accuracy {accuracy}", fontsize="medium")
        axes.set_xlabel("predicted")
        axes.set_ylabel("true")
        axes.set_xticks(range(len(classes)), labels=list(classes), fontsize="small")
        axes.set_yticks(range(len(classes)), labels=list(classes), fontsize="small")
        peak = max((max(r) for r in matrix), default=0) or 1
        for i, line in enumerate(matrix):
            for j, count in enumerate(line):
                if count:
                    colour = "white" if count > peak / 2 else "black"
                    axes.text(
                        j, i, str(count), ha="center", va="center", color=colour, fontsize="x-small"
                    )
    return _png(figure)


# -- HTML ----------------------------------------------------------------------------------
_STYLE = """
body { font: 15px/1.45 system-ui, sans-serif; margin: 2rem auto; max-width: 60rem; color: #222; }
table { border-collapse: collapse; margin: 1rem 0; }
td, th { padding: .25rem .8rem; border-bottom: 1px solid #ddd; text-align: left; }
td.n { text-align: right; font-variant-numeric: tabular-nums; }
img { max-width: 100%; } code { background: #f4f4f4; padding: 0 .25rem; }
"""


def _table(pairs: Sequence[tuple[str, str]]) -> str:
    rows = "".join(
        f"<tr><th>{html.escape(k)}</th><td class=n>{html.escape(v)}</td></tr>" for k, v in pairs
    )
    return f"<table>{rows}</table>"


def render_html(
    rows: Sequence[ResultRow],
    *,
    threshold: float,
    truth: Mapping[str, str] | None = None,
    classes: Sequence[str] | None = None,
    title: str = "visiongate batch report",
    facts: Mapping[str, str] | None = None,
) -> str:
    summary = summarize(rows, truth)
    pairs = [
        ("images processed", str(summary.processed)),
        ("passed the gate", f"{summary.passed} ({percent(summary.coverage)})"),
        ("failed with THRESHOLD_CONFIDENCE_NOT_MET", str(summary.below_threshold)),
        ("other errors", str(summary.errors)),
        ("threshold", f"{threshold:g}"),
    ]
    if summary.labelled:
        pairs += [
            ("accuracy of the images that passed", percent(summary.accuracy_passed)),
            ("accuracy of all classified images", percent(summary.accuracy)),
        ]
    pairs += [(k, v) for k, v in (facts or {}).items()]
    parts = [
        "<!doctype html><html><head><meta charset=utf-8>",
        f"<title>{html.escape(title)}</title><style>{_STYLE}</style></head><body>",
        f"<h1>{html.escape(title)}</h1>",
        _table(pairs),
        "<h2>Confidence</h2>",
        f'<img alt="confidence histogram" src="data:image/png;base64,'
        f'{confidence_histogram(rows, threshold, truth)}">',
    ]
    if truth and classes:
        parts += [
            "<h2>Confusion matrix</h2>",
            f'<img alt="confusion matrix" src="data:image/png;base64,'
            f'{confusion_plot(rows, truth, classes)}">',
        ]
    misses = [r for r in rows if not r.passed][:MAX_LISTED]
    if misses:
        parts.append(f"<h2>Did not pass (first {len(misses)})</h2><table>")
        parts.append(
            "<tr><th>key</th><th>label</th><th>true</th><th>confidence</th><th>error</th></tr>"
        )
        for r in misses:
            confidence = "" if r.confidence is None else f"{r.confidence:.3f}"
            expected = (truth or {}).get(r.key, "")
            parts.append(
                f"<tr><td><code>{html.escape(r.key)}</code></td><td>{html.escape(r.label or '')}"
                f"</td><td>{html.escape(expected)}</td><td class=n>{confidence}</td>"
                f"<td>{html.escape(r.error or '')}</td></tr>"
            )
        parts.append("</table>")
    parts.append("</body></html>\n")
    return "".join(parts)


def write_report(path: str | Path, rows: Sequence[ResultRow], **kwargs: Any) -> Path:
    """Render the report and write it atomically; returns the path."""
    path = Path(path)
    write_atomically(path, render_html(rows, **kwargs))
    return path
