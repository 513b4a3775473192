"""The results file of a batch run: one row per image, JSON Lines or CSV, never half-written.

    results = ResultsFile("results.jsonl")      # or results.csv; reads what is already there
    results.is_done("images", "cats/1.png")    # resume: has this image a final result?
    results.add(ResultRow(...)); results.flush()

Columns: ``bucket, key, label, confidence, status, error, cause, execution_id``. ``status`` is
the status of the execution that decided the image (``SUCCEEDED`` = it passed the confidence
gate, ``FAILED`` = ``error`` says why, e.g. ``THRESHOLD_CONFIDENCE_NOT_MET``).

Writes are atomic: the whole file goes to a temporary file in the same folder, is synced, and
is renamed over the old one (``os.replace``), with SIGINT deferred until the rename is done.
A reader — or the next run after Ctrl-C or a crash — sees the previous complete file or the
new complete file, never a torn one. Flushing rewrites the file, so the runner flushes on a
timer that backs off as the file grows (see :class:`FlushPolicy`) and once at the end.
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import os
import signal
import threading
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

from visiongate.errors import VisiongateError
from visiongate.functions.errors import lambda_error_message

SUCCEEDED = "SUCCEEDED"
FAILED = "FAILED"
GATE_ERROR = "THRESHOLD_CONFIDENCE_NOT_MET"

# Outcomes the image itself decided: rerunning would give the same answer, so a resumed run
# skips them. Anything else (endpoint unreachable, engine or Lambda errors, aborted runs) is
# about the surroundings, not the image, and is tried again on the next run.
FINAL_ERRORS = frozenset(
    {
        GATE_ERROR,
        "InvalidEventError",
        "ImageNotFoundError",
        "EmptyImageError",
        "NotAnImageError",
        "ImageTooLargeError",
    }
)
FORMATS = {".jsonl": "jsonl", ".ndjson": "jsonl", ".csv": "csv"}
MAX_CAUSE = 500  # characters of an error's cause kept in the file


class ResultsFileError(VisiongateError):
    """The results file cannot be used (unknown extension, unreadable, not our columns)."""


@dataclass(frozen=True)
class ResultRow:
    """The outcome of one image."""

    bucket: str
    key: str
    label: str | None  # predicted label (class name, or the class index as text)
    confidence: float | None  # the top probability
    status: str  # SUCCEEDED or FAILED
    error: str | None = None
    cause: str | None = None
    execution_id: str | None = None

    @property
    def passed(self) -> bool:
        return self.status == SUCCEEDED

    @property
    def below_threshold(self) -> bool:
        return self.error == GATE_ERROR

    @property
    def final(self) -> bool:
        """True when the image decided this outcome (see FINAL_ERRORS)."""
        return self.status == SUCCEEDED or (self.status == FAILED and self.error in FINAL_ERRORS)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


COLUMNS = [f.name for f in fields(ResultRow)]


def results_format(path: Path) -> str:
    fmt = FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise ResultsFileError(
            f"results file {path} has an unknown extension {path.suffix!r}",
            hint="name it results.jsonl (JSON Lines) or results.csv",
        )
    return fmt


def _row_from(data: dict[str, Any], where: str) -> ResultRow:
    missing = [c for c in ("bucket", "key", "status") if not data.get(c)]
    if missing:
        raise ValueError(f"{where}: missing {', '.join(missing)}")
    confidence = data.get("confidence")
    return ResultRow(
        bucket=str(data["bucket"]),
        key=str(data["key"]),
        label=None if data.get("label") in (None, "") else str(data["label"]),
        confidence=None if confidence in (None, "") else float(confidence),
        status=str(data["status"]),
        error=data.get("error") or None,
        cause=data.get("cause") or None,
        execution_id=data.get("execution_id") or None,
    )


def read_results(path: str | os.PathLike[str]) -> list[ResultRow]:
    """Rows of an existing results file ([] when it does not exist)."""
    path = Path(path)
    fmt = results_format(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return []
    except (OSError, UnicodeDecodeError) as exc:
        raise ResultsFileError(f"cannot read results file {path}: {exc}") from None
    rows: list[ResultRow] = []
    try:
        if fmt == "jsonl":
            for number, line in enumerate(text.splitlines(), 1):
                if line.strip():
                    data = json.loads(line)
                    if not isinstance(data, dict):
                        raise ValueError(f"line {number} is not a JSON object")
                    rows.append(_row_from(data, f"line {number}"))
        else:
            reader = csv.DictReader(io.StringIO(text))
            if reader.fieldnames is not None and not {"bucket", "key", "status"} <= set(
                reader.fieldnames
            ):
                raise ValueError(f"header {reader.fieldnames} lacks bucket, key, status")
            for number, record in enumerate(reader, 2):
                rows.append(_row_from(record, f"line {number}"))
    except (ValueError, TypeError) as exc:
        raise ResultsFileError(
            f"{path} is not a visiongate results file: {exc}",
            hint="pass another --out, or delete the file to start over",
        ) from None
    return rows


def render(rows: list[ResultRow], fmt: str) -> str:
    if fmt == "jsonl":
        return "".join(json.dumps(r.to_json(), ensure_ascii=False) + "\n" for r in rows)
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: ("" if v is None else v) for k, v in row.to_json().items()})
    return buffer.getvalue()


@contextlib.contextmanager
def deferred_interrupt() -> Iterator[None]:
    """Hold SIGINT (Ctrl-C) until the block ends, then deliver it as KeyboardInterrupt.

    Only the main thread can own signal handlers; elsewhere this does nothing.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    received: list[Any] = []
    previous = signal.signal(signal.SIGINT, lambda *args: received.append(args))
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
        if received and callable(previous):
            previous(*received[0])


def write_atomically(path: Path, text: str) -> None:
    """Temp file in the same folder, fsync, rename over ``path``; never a torn file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with deferred_interrupt():
        try:
            with open(tmp, "w", encoding="utf-8", newline="") as handle:
                handle.write(text)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, path)
        finally:
            with contextlib.suppress(FileNotFoundError):
                tmp.unlink()


@dataclass
class FlushPolicy:
    """Flush every ``interval`` seconds, or less often when a flush itself is slow, so that
    rewriting a large file costs at most ~1/``budget`` of the run."""

    interval: float = 2.0
    budget: float = 20.0
    last: float = 0.0
    cost: float = 0.0

    def due(self, now: float) -> bool:
        return now - self.last >= max(self.interval, self.cost * self.budget)


class ResultsFile:
    """Rows by (bucket, key), loaded from ``path`` if it exists; ``flush`` writes atomically."""

    def __init__(self, path: str | os.PathLike[str], *, fresh: bool = False) -> None:
        self.path = Path(path)
        self.format = results_format(self.path)
        self.rows: dict[tuple[str, str], ResultRow] = {}
        if not fresh:
            for row in read_results(self.path):
                self.rows[(row.bucket, row.key)] = row
        self.loaded = len(self.rows)
        self.dirty = fresh and self.path.exists()
        self.policy = FlushPolicy()

    def __len__(self) -> int:
        return len(self.rows)

    def get(self, bucket: str, key: str) -> ResultRow | None:
        return self.rows.get((bucket, key))

    def is_done(self, bucket: str, key: str) -> bool:
        row = self.rows.get((bucket, key))
        return row is not None and row.final

    def add(self, row: ResultRow) -> None:
        self.rows[(row.bucket, row.key)] = row
        self.dirty = True

    def flush(self, *, force: bool = False, now: float | None = None) -> bool:
        """Write the file if there is anything new (and, unless ``force``, a flush is due)."""
        now = time.monotonic() if now is None else now
        if not self.dirty or (not force and not self.policy.due(now)):
            return False
        started = time.perf_counter()
        ordered = [self.rows[k] for k in sorted(self.rows)]  # stable across runs and resumes
        write_atomically(self.path, render(ordered, self.format))
        self.policy.cost = time.perf_counter() - started
        self.policy.last = now
        self.dirty = False
        return True


def short_cause(cause: str | None) -> str | None:
    """A Lambda error document's message (or the text itself), at most MAX_CAUSE characters."""
    if not cause:
        return None
    text = lambda_error_message(cause)
    return text if len(text) <= MAX_CAUSE else text[: MAX_CAUSE - 1] + "…"
