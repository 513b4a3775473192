"""The batch progress bar: done of total, passed, below threshold, errors, rate, ETA."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator
from typing import Any


@contextlib.contextmanager
def progress_bar(console: Any, tally: Any) -> Iterator[Callable[[], None]]:
    """Yields ``update()``, which redraws the bar from ``tally``; no bar without a console."""
    if console is None:
        yield lambda: None
        return
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    columns = (
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("[green]passed {task.fields[passed]}[/]"),
        TextColumn("[yellow]below threshold {task.fields[below]}[/]"),
        TextColumn("[red]errors {task.fields[errors]}[/]"),
        TextColumn("{task.fields[rate]:.0f} img/s"),
        TimeElapsedColumn(),
        TextColumn("ETA"),
        TimeRemainingColumn(),
    )
    started = time.perf_counter()
    with Progress(*columns, console=console, transient=False) as progress:
        task = progress.add_task(
            "classifying", total=tally.todo, passed=0, below=0, errors=0, rate=0.0
        )

        def update() -> None:
            elapsed = time.perf_counter() - started
            progress.update(
                task,
                completed=tally.done + tally.abandoned,
                passed=tally.passed,
                below=tally.below_threshold,
                errors=tally.errors,
                rate=tally.done / elapsed if elapsed > 0 else 0.0,
            )

        try:
            yield update
        finally:
            update()
