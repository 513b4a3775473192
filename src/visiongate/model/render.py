"""Rich tables for the CLI: a training summary and an evaluation report."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.table import Table

SHOWN_THRESHOLDS = (0.5, 0.6, 0.7, 0.75, 0.8, 0.85, 0.9, 0.95, 0.97, 0.99)


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{100 * value:.1f}%"


def render_dataset(summary: dict[str, Any], console: Console) -> None:
    table = Table(box=None, header_style="bold")
    table.add_column("split")
    table.add_column("images", justify="right")
    table.add_column("per class")
    for name, split in summary["splits"].items():
        per = ", ".join(f"{k}: {v}" for k, v in split["per_class"].items())
        table.add_row(name, str(split["n"]), per)
    console.print(table)
    console.print(f"wrote {summary['out']} (classes: {', '.join(summary['classes'])})")


def render_training(report, console: Console) -> None:  # noqa: ANN001 - TrainReport
    meta, m = report.model, report.model["metrics"]
    gate = m["val_gate_0.75"]
    table = Table(box=None, show_header=False)
    table.add_column(style="bold")
    table.add_column()
    table.add_row("model", f"{report.out}  ({', '.join(meta['classes'])})")
    table.add_row(
        "data",
        f"{meta['dataset']['source']}  train {meta['dataset']['n_train']}, val {meta['dataset']['n_val']}",
    )
    table.add_row("validation accuracy", _pct(m["val_accuracy"]))
    table.add_row(
        "calibration (ECE)",
        f"{m['val_ece']:.3f} (before temperature {m['val_ece_uncalibrated']:.3f}; T = {meta['temperature']:.3f})",
    )
    table.add_row(
        "gate at 0.75 (val)", f"{_pct(gate['coverage'])} pass, {_pct(gate['accuracy'])} correct"
    )
    recommended = meta["threshold"]["recommended"]
    table.add_row(
        f"threshold for {meta['threshold']['target_accuracy']:.0%}",
        "none reaches it on validation"
        if recommended is None
        else f"{recommended:.2f} (validation)",
    )
    table.add_row("time", f"{report.seconds:.1f} s total, {m['train_seconds']:.1f} s training")
    skipped = report.dataset["skipped"]
    if skipped:
        table.add_row("skipped", f"[yellow]{len(skipped)} unreadable image(s)[/]")
    console.print(table)


def render_evaluation(result, console: Console) -> None:  # noqa: ANN001 - Evaluation
    console.print(f"[bold]{result.model}[/] on {result.data}: {result.n} images")
    console.print(
        f"accuracy {_pct(result.accuracy)}   ECE {result.ece:.3f}   NLL {result.nll:.3f}   "
        f"gate at {result.gate_threshold:.2f}: {_pct(result.gate['coverage'])} pass, "
        f"{_pct(result.gate['accuracy'])} correct"
    )
    per = Table(title="per class", box=None, header_style="bold")
    for column in ("class", "precision", "recall", "images"):
        per.add_column(column, justify="left" if column == "class" else "right")
    for name, row in result.per_class.items():
        per.add_row(name, _pct(row["precision"]), _pct(row["recall"]), str(row["support"]))
    console.print(per)
    confusion = Table(
        title="confusion (rows: true, columns: predicted)", box=None, header_style="bold"
    )
    confusion.add_column("")
    for name in result.classes:
        confusion.add_column(name, justify="right")
    for name, row in zip(result.classes, result.confusion, strict=True):
        confusion.add_row(name, *(str(v) for v in row))
    console.print(confusion)
    gate = Table(title="confidence gate: what each threshold buys", box=None, header_style="bold")
    for column in ("threshold", "pass", "accuracy of passed"):
        gate.add_column(column, justify="right")
    for row in result.thresholds:
        if (
            round(row["threshold"], 2) in SHOWN_THRESHOLDS
            or row["threshold"] == result.recommended_threshold
        ):
            marker = " ◀" if row["threshold"] == result.recommended_threshold else ""
            gate.add_row(
                f"{row['threshold']:.2f}{marker}", _pct(row["coverage"]), _pct(row["accuracy"])
            )
    console.print(gate)
    if result.recommended_threshold is None:
        console.print(
            f"[yellow]no threshold reaches {result.target_accuracy:.1%} accuracy on these images[/]"
        )
    else:
        console.print(
            f"recommended threshold for {result.target_accuracy:.1%} accuracy: "
            f"[bold]{result.recommended_threshold:.2f}[/] (full table: --json)"
        )
    if result.skipped:
        console.print(f"[yellow]skipped {len(result.skipped)} unreadable image(s)[/]")
