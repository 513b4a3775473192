"""Run every image under a prefix through the workflow: resumable, interruptible, measured.

    report = run_batch(settings, BatchOptions("images", "cats/", out=Path("results.jsonl")))

Two ways to run (``BatchOptions.mode``), on the embedded engine (or, per image, on a
deployed state machine: :class:`visiongate.jobs.runners.AwsRunner`):

* ``batched`` (default): one execution of ``image_classification_batched.asl.json`` per batch
  of ``batch_size`` images — the input a Distributed Map child gets from ``ItemBatcher`` —
  with ``concurrency`` executions in flight. Three Lambda calls and a few history writes per
  *batch*; inside, the images go to the endpoint concurrently and the server batches them.
* ``per-image``: one execution of the reference workflow (``image_classification``) per
  image, ``concurrency`` at a time — every image its own execution and history, as the
  reference system does it; several times slower (docs/jobs.md has the figures).

Resume: images whose result in the results file is final (see ``results.FINAL_ERRORS``)
are skipped unless ``force``. Stop: :meth:`BatchRun.request_stop` (or Ctrl-C, which the
run turns into the same request) stops submitting work and lets executions in flight finish;
a second request (``abandon``) stops them too (``StopExecution``: they end ABORTED, and
their images get no result, so the next run does them). The results file is flushed
atomically on the way out.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from visiongate.config import Settings
from visiongate.errors import VisiongateError
from visiongate.jobs.outcomes import row_from_single, rows_from_batch
from visiongate.jobs.progress import progress_bar
from visiongate.jobs.results import FAILED, ResultRow, ResultsFile, results_format
from visiongate.jobs.runners import LocalRunner
from visiongate.jobs.scope import job_environment

MODES = ("batched", "per-image")
NOT_IMAGES = ("text/", "application/json", "application/xml", "application/pdf")


class BatchError(VisiongateError):
    """The batch cannot run as asked (bad options, no such bucket, no images)."""


@dataclass(frozen=True)
class BatchOptions:
    bucket: str
    prefix: str = ""
    out: Path | None = None  # results file (.jsonl or .csv); None keeps results in memory
    concurrency: int = 4  # executions in flight
    batch_size: int = 64  # images per execution (batched mode)
    mode: str = "batched"
    force: bool = False  # redo images that already have a final result
    labels: tuple[str, ...] | None = None  # class names, when the endpoint does not say
    limit: int | None = None  # at most this many images (after skipping done ones)

    def validate(self) -> BatchOptions:
        problems = []
        if self.mode not in MODES:
            problems.append(f"mode {self.mode!r} is not one of {', '.join(MODES)}")
        if not 1 <= self.concurrency <= 256:
            problems.append(f"concurrency {self.concurrency} is not 1..256")
        if not 1 <= self.batch_size <= 1000:
            problems.append(f"batch size {self.batch_size} is not 1..1000")
        if self.limit is not None and self.limit < 0:
            problems.append(f"limit {self.limit} is negative")
        if problems:
            raise BatchError("invalid batch options: " + "; ".join(problems))
        if self.out is not None:
            results_format(Path(self.out))  # an unusable name fails before any work
        return self


@dataclass
class Tally:
    """Counts the progress bar and the summary show."""

    listed: int = 0
    skipped: int = 0  # already had a final result
    not_images: int = 0
    todo: int = 0
    done: int = 0
    passed: int = 0
    below_threshold: int = 0
    errors: int = 0
    abandoned: int = 0
    executions: int = 0

    def count(self, row: ResultRow) -> None:
        self.done += 1
        if row.passed:
            self.passed += 1
        elif row.below_threshold:
            self.below_threshold += 1
        else:
            self.errors += 1


@dataclass
class BatchReport:
    options: BatchOptions
    tally: Tally
    seconds: float
    interrupted: bool
    rows: list[ResultRow] = field(repr=False, default_factory=list)  # this run's rows
    results_path: Path | None = None
    state_machine_arn: str = ""

    @property
    def rate(self) -> float:
        return self.tally.done / self.seconds if self.seconds > 0 else 0.0


@dataclass(frozen=True)
class Unit:
    """One execution's worth of work."""

    index: int
    name: str
    keys: tuple[str, ...]


def is_image_candidate(content_type: str) -> bool:
    """Listings carry a type guessed from the key: skip what is clearly not an image."""
    return not content_type.startswith(NOT_IMAGES)


def list_images(store: Any, bucket: str, prefix: str, tally: Tally) -> list[str]:
    from visiongate.storage import iter_objects

    if not store.bucket_exists(bucket):
        raise BatchError(
            f"bucket {bucket!r} does not exist",
            hint=f"create it and upload images: visiongate store put cat.png s3://{bucket}/",
        )
    keys = []
    for info in iter_objects(store, bucket, prefix):
        tally.listed += 1
        if is_image_candidate(info.content_type or ""):
            keys.append(info.key)
        else:
            tally.not_images += 1
    return keys


def check_endpoint(settings: Settings) -> None:
    """Fail fast when the local endpoint is not listening (instead of a retried error per
    batch). Remote endpoints are not probed: a connection there costs a signed request."""
    import socket
    from urllib.parse import urlsplit

    from visiongate.jobs.invoke import local_endpoint_url

    url = local_endpoint_url(settings)
    if url is None:
        return
    parts = urlsplit(url)
    try:
        with socket.create_connection((parts.hostname, parts.port or 80), timeout=2):
            pass
    except OSError as exc:
        raise BatchError(
            f"no endpoint is listening at {url} ({exc.strerror or exc})",
            hint="start one: visiongate serve --model MODEL_DIR (or set endpoint.url / "
            "VISIONGATE_ENDPOINT_URL to where it runs)",
        ) from None


def run_id() -> str:
    return f"batch-{datetime.now(UTC):%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:6]}"


class BatchRun:
    """One run of :func:`run_batch`; ``request_stop`` may be called from any thread."""

    def __init__(
        self,
        settings: Settings,
        options: BatchOptions,
        *,
        engine: Any = None,
        runner: Any = None,
        store: Any = None,
        console: Any = None,
        on_result: Callable[[BatchRun, ResultRow], None] | None = None,
        store_logs: bool = True,
        check: bool = True,
    ) -> None:
        self.settings = settings
        self.check = check and runner is None  # only the local runner uses settings' endpoint
        self.options = options.validate()
        self.runner = runner or LocalRunner(
            settings,
            batched=self.options.mode == "batched",
            engine=engine,
            workers=self.options.concurrency,
            store_logs=store_logs,
        )
        self.store = store
        self.console = console
        self.on_result = on_result
        self.tally = Tally()
        self.rows: list[ResultRow] = []
        self.results: ResultsFile | None = None
        self.stopping = threading.Event()
        self.abandoning = threading.Event()
        self.interrupted = False
        self._running: dict[Future, Unit] = {}
        self._machine_arn = ""

    # -- control --------------------------------------------------------------------------
    def request_stop(self, abandon: bool = False) -> None:
        """Stop submitting; with ``abandon`` (or when asked twice) stop the ones in flight."""
        self.interrupted = True
        if self.stopping.is_set() or abandon:
            self.abandoning.set()
        self.stopping.set()

    # -- the run --------------------------------------------------------------------------
    def run(self) -> BatchReport:
        options = self.options
        started = time.perf_counter()
        if self.check:
            check_endpoint(self.settings)
        with job_environment(self.settings):
            try:
                self._machine_arn = self.runner.open()
                keys = list_images(self._store(), options.bucket, options.prefix, self.tally)
                if options.out is not None:
                    self.results = ResultsFile(options.out)
                todo = [k for k in keys if options.force or not self._done(k)]
                self.tally.skipped = len(keys) - len(todo)
                if options.limit is not None:
                    todo = todo[: options.limit]
                self.tally.todo = len(todo)
                with self._progress() as update:
                    self._drive(self._units(todo), update)
            finally:
                if self.results is not None:
                    self.results.flush(force=True)
                self.runner.close(abandon=self.abandoning.is_set())
        return BatchReport(
            options=options,
            tally=self.tally,
            seconds=time.perf_counter() - started,
            interrupted=self.interrupted,
            rows=self.rows,
            results_path=options.out,
            state_machine_arn=self._machine_arn,
        )

    def _store(self) -> Any:
        if self.store is None:
            opener = getattr(self.runner, "store", None)
            if callable(opener):
                self.store = opener()
            else:
                from visiongate.storage import open_store

                self.store = open_store(self.settings)
        return self.store

    def _units(self, todo: list[str]) -> list[Unit]:
        size = 1 if self.options.mode == "per-image" else self.options.batch_size
        prefix = run_id()
        return [
            Unit(n, f"{prefix}-{n:05d}", tuple(todo[i : i + size]))
            for n, i in enumerate(range(0, len(todo), size))
        ]

    def _done(self, key: str) -> bool:
        return self.results is not None and self.results.is_done(self.options.bucket, key)

    def _input(self, unit: Unit) -> dict[str, Any]:
        bucket, labels = self.options.bucket, self.options.labels
        if self.options.mode == "per-image":
            body: dict[str, Any] = {"s3_bucket": bucket, "s3_key": unit.keys[0]}
            if labels:
                body["labels"] = list(labels)
            return body
        shared: dict[str, Any] = {"s3_bucket": bucket}
        if labels:
            shared["labels"] = list(labels)
        return {"BatchInput": shared, "Items": [{"Key": key} for key in unit.keys]}

    def _execute(self, unit: Unit) -> Any:
        if self.abandoning.is_set():
            return None
        return self.runner.execute(unit.name, self._input(unit))

    def _drive(self, units: list[Unit], update: Callable[[], None]) -> None:
        queue: Iterator[Unit] = iter(units)
        pool = ThreadPoolExecutor(self.options.concurrency, thread_name_prefix="vg-batch")
        try:
            while True:
                try:
                    self._fill(pool, queue)
                    if not self._running:
                        return
                    finished, _ = wait(
                        list(self._running), timeout=0.25, return_when=FIRST_COMPLETED
                    )
                    for future in finished:
                        self._collect(self._running.pop(future), future)
                    if self.results is not None:
                        self.results.flush()
                    update()
                except KeyboardInterrupt:
                    self.request_stop()
                    if self.console is not None:
                        self.console.print(self._stop_message())
                if self.abandoning.is_set():
                    for unit in list(self._running.values()):
                        self.runner.stop(unit.name)
        finally:
            pool.shutdown(wait=True, cancel_futures=True)

    def _fill(self, pool: ThreadPoolExecutor, queue: Iterator[Unit]) -> None:
        while not self.stopping.is_set() and len(self._running) < self.options.concurrency:
            unit = next(queue, None)
            if unit is None:
                return
            self._running[pool.submit(self._execute, unit)] = unit

    def _stop_message(self) -> str:
        if self.abandoning.is_set():
            return "[yellow]stopping the executions in flight…[/]"
        return (
            f"[yellow]finishing {len(self._running)} execution(s) in flight; "
            "Ctrl-C again to abandon them[/]"
        )

    def _collect(self, unit: Unit, future: Future) -> None:
        bucket, labels = self.options.bucket, self.options.labels
        try:
            execution = future.result()
        except VisiongateError as exc:  # e.g. the engine refused to start it
            rows = [
                ResultRow(bucket, key, None, None, FAILED, type(exc).__name__, exc.message, None)
                for key in unit.keys
            ]
        else:
            if execution is None or execution.status == "ABORTED":
                self.tally.abandoned += len(unit.keys)
                return
            if self.options.mode == "per-image":
                rows = [row_from_single(self.runner, execution, bucket, unit.keys[0], labels)]
            else:
                rows = rows_from_batch(execution, bucket, unit.keys, labels)
        self.tally.executions += 1
        for row in rows:
            self.rows.append(row)
            self.tally.count(row)
            if self.results is not None:
                self.results.add(row)
            if self.on_result is not None:
                self.on_result(self, row)

    def _progress(self) -> Any:
        return progress_bar(self.console, self.tally)


def run_batch(settings: Settings, options: BatchOptions, **kwargs: Any) -> BatchReport:
    """Run a batch (see :class:`BatchRun` for the keyword arguments)."""
    return BatchRun(settings, options, **kwargs).run()
