"""Start the workflow for each new image that lands under a prefix — at most once per version.

The local equivalent of S3 event notifications → EventBridge → Step Functions
(https://docs.aws.amazon.com/AmazonS3/latest/userguide/EventBridge.html): poll the store,
and for every object version not seen before start one execution of the workflow with
``{"s3_bucket", "s3_key"}``. Like an EventBridge rule, a new watch does not fire for objects
that were already there when it was first started (``include_existing`` changes that).

At most once, across restarts and concurrent watchers. Every start is recorded in the
``watch_starts`` table of ``Settings.database`` (primary key ``bucket, key, version``):

1. *claim*: ``INSERT`` the version's row, with the execution name it will get, in its own
   committed transaction. The unique key makes the claim exclusive: a second watcher, or a
   restarted one, gets an IntegrityError and skips the version.
2. *start*: ``StartExecution`` with that name, which is a pure function of (bucket, key,
   version). Step Functions refuses a second execution of one name
   (https://docs.aws.amazon.com/step-functions/latest/apireference/API_StartExecution.html),
   and so does the engine.
3. *mark*: set the row's ``execution_arn``.

A crash between 1 and 3 leaves a claimed row without an ARN. On the next start the watcher
*repairs* such rows: it starts the execution under the recorded name; if the crash came after
2, the engine answers ExecutionAlreadyExists and nothing new runs. So no version ever gets
two executions (the name is the idempotency key), and a claimed version is not lost either.

The loop takes ``sleep`` and ``max_iterations`` so tests drive it without waiting.
"""

from __future__ import annotations

import hashlib
import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from visiongate.config import Settings
from visiongate.errors import VisiongateError
from visiongate.jobs.batch import is_image_candidate
from visiongate.jobs.runners import PER_IMAGE_MACHINE

SCHEMA = """
CREATE TABLE IF NOT EXISTS watch_starts (
    bucket TEXT NOT NULL,
    key TEXT NOT NULL,
    version TEXT NOT NULL,
    execution_name TEXT,            -- NULL: present when the watch began (baseline), not run
    execution_arn TEXT,             -- NULL with a name: claimed, start not yet confirmed
    claimed_at REAL NOT NULL,
    PRIMARY KEY (bucket, key, version)
);
CREATE TABLE IF NOT EXISTS watch_prefixes (
    bucket TEXT NOT NULL,
    prefix TEXT NOT NULL,
    created_at REAL NOT NULL,
    PRIMARY KEY (bucket, prefix)
);
"""


class WatchError(VisiongateError):
    """The watch cannot run (no such bucket, database unusable)."""


def execution_name(bucket: str, key: str, version: str) -> str:
    """A valid, deterministic execution name for one object version (the idempotency key)."""
    digest = hashlib.sha256(f"{bucket}\0{key}\0{version}".encode()).hexdigest()[:40]
    return f"watch-{digest}"


@dataclass(frozen=True)
class Started:
    bucket: str
    key: str
    version: str
    name: str
    arn: str
    repaired: bool = False  # started for a claim an earlier run left unconfirmed


@dataclass
class Finished:
    name: str
    key: str
    status: str
    error: str | None


@dataclass
class WatchStats:
    polls: int = 0
    started: int = 0
    repaired: int = 0
    baseline: int = 0
    finished: int = 0
    recent: list[Finished] = field(default_factory=list)


class Ledger:
    """The ``watch_starts`` / ``watch_prefixes`` tables (WAL SQLite, shared with the engine)."""

    def __init__(self, database: str | Path) -> None:
        path = Path(database)
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self.conn = sqlite3.connect(
                path, timeout=30, isolation_level=None, check_same_thread=False
            )
            self.conn.execute("PRAGMA busy_timeout = 30000")
            self.conn.execute("PRAGMA journal_mode = WAL")
            self.conn.executescript(SCHEMA)
        except sqlite3.Error as exc:
            raise WatchError(
                f"cannot use the database {path}: {exc}", hint="check VISIONGATE_DB / database.path"
            ) from None

    def close(self) -> None:
        self.conn.close()

    def begin_prefix(self, bucket: str, prefix: str, now: float) -> bool:
        """True if this (bucket, prefix) is watched for the first time."""
        cursor = self.conn.execute(
            "INSERT OR IGNORE INTO watch_prefixes (bucket, prefix, created_at) VALUES (?, ?, ?)",
            (bucket, prefix, now),
        )
        return cursor.rowcount == 1

    def known(self, bucket: str, prefix: str) -> set[tuple[str, str]]:
        rows = self.conn.execute(
            "SELECT key, version FROM watch_starts WHERE bucket = ? AND substr(key, 1, ?) = ?",
            (bucket, len(prefix), prefix),
        )
        return {(key, version) for key, version in rows}

    def record_baseline(self, bucket: str, key: str, version: str, now: float) -> None:
        self.conn.execute(
            "INSERT OR IGNORE INTO watch_starts (bucket, key, version, claimed_at) "
            "VALUES (?, ?, ?, ?)",
            (bucket, key, version, now),
        )

    def claim(self, bucket: str, key: str, version: str, name: str, now: float) -> bool:
        """Record the start before making it; False if someone already claimed this version."""
        try:
            self.conn.execute(
                "INSERT INTO watch_starts (bucket, key, version, execution_name, claimed_at) "
                "VALUES (?, ?, ?, ?, ?)",
                (bucket, key, version, name, now),
            )
        except sqlite3.IntegrityError:
            return False
        return True

    def confirm(self, bucket: str, key: str, version: str, arn: str) -> None:
        self.conn.execute(
            "UPDATE watch_starts SET execution_arn = ? WHERE bucket = ? AND key = ? AND version = ?",
            (arn, bucket, key, version),
        )

    def unconfirmed(self, bucket: str, prefix: str) -> list[tuple[str, str, str]]:
        rows = self.conn.execute(
            "SELECT key, version, execution_name FROM watch_starts WHERE bucket = ? AND "
            "substr(key, 1, ?) = ? AND execution_name IS NOT NULL AND execution_arn IS NULL",
            (bucket, len(prefix), prefix),
        )
        return list(rows)

    def starts(self, bucket: str) -> list[tuple[str, str, str | None]]:
        """(key, version, execution ARN) of every started version, for inspection."""
        rows = self.conn.execute(
            "SELECT key, version, execution_arn FROM watch_starts WHERE bucket = ? AND "
            "execution_name IS NOT NULL ORDER BY claimed_at, key",
            (bucket,),
        )
        return list(rows)


class Watcher:
    """Polls ``bucket``/``prefix`` and starts the workflow for new object versions."""

    def __init__(
        self,
        settings: Settings,
        bucket: str,
        prefix: str = "",
        *,
        engine: Any = None,
        store: Any = None,
        include_existing: bool = False,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
        on_start: Callable[[Started], None] | None = None,
        on_finish: Callable[[Finished], None] | None = None,
        start: Callable[[str, dict[str, Any], str], Any] | None = None,
    ) -> None:
        from visiongate.storage import open_store

        self.settings = settings
        self.bucket = bucket
        self.prefix = prefix
        self.store = store or open_store(settings)
        self.include_existing = include_existing
        self.clock = clock
        self.sleep = sleep
        self.on_start = on_start
        self.on_finish = on_finish
        self.own_engine = engine is None
        if engine is None:
            from visiongate.sfn.engine import Engine

            engine = Engine(settings)
        self.engine = engine
        self._start = start or self._start_execution
        self.ledger = Ledger(settings.database)
        self.stats = WatchStats()
        self.seen: set[tuple[str, str]] = set()
        self.pending: dict[str, tuple[str, str]] = {}  # arn -> (name, key)
        self.machine_arn = ""
        self._prepared = False

    def close(self) -> None:
        self.ledger.close()
        if self.own_engine:
            self.engine.close()

    def __enter__(self) -> Watcher:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- setup ------------------------------------------------------------------------------
    def prepare(self) -> list[Started]:
        """Check the bucket, create the state machine, take the baseline, repair claims."""
        if not self.store.bucket_exists(self.bucket):
            raise WatchError(
                f"bucket {self.bucket!r} does not exist",
                hint=f"create it first: visiongate store mb {self.bucket}",
            )
        text = Path(self.settings.definition).read_text(encoding="utf-8")
        self.machine_arn = self.engine.ensure_state_machine(PER_IMAGE_MACHINE, text).arn
        self.seen = self.ledger.known(self.bucket, self.prefix)
        first = self.ledger.begin_prefix(self.bucket, self.prefix, self.clock())
        if first and not self.include_existing:
            for info in self._listing():
                if (info.key, info.version) not in self.seen:
                    self.ledger.record_baseline(self.bucket, info.key, info.version, self.clock())
                    self.seen.add((info.key, info.version))
                    self.stats.baseline += 1
        repaired = [
            self._launch(key, version, name, repaired=True)
            for key, version, name in self.ledger.unconfirmed(self.bucket, self.prefix)
        ]
        self._prepared = True
        return [s for s in repaired if s is not None]

    def _listing(self) -> list[Any]:
        from visiongate.storage import iter_objects

        return [
            info
            for info in iter_objects(self.store, self.bucket, self.prefix)
            if is_image_candidate(info.content_type or "")
        ]

    # -- one poll ---------------------------------------------------------------------------
    def poll_once(self) -> list[Started]:
        """List the prefix once; claim and start every version not seen before."""
        if not self._prepared:
            self.prepare()
        self.stats.polls += 1
        started = []
        for info in self._listing():
            marker = (info.key, info.version)
            if marker in self.seen:
                continue
            self.seen.add(marker)
            name = execution_name(self.bucket, info.key, info.version)
            if not self.ledger.claim(self.bucket, info.key, info.version, name, self.clock()):
                continue  # another watcher (or an earlier run) owns this version
            result = self._launch(info.key, info.version, name)
            if result is not None:
                started.append(result)
        self._reap()
        return started

    def _start_execution(self, machine_arn: str, payload: dict[str, Any], name: str) -> Any:
        return self.engine.start_execution(machine_arn, payload, name)

    def _launch(self, key: str, version: str, name: str, repaired: bool = False) -> Started | None:
        from visiongate.sfn.errors import ExecutionAlreadyExists

        payload = {"s3_bucket": self.bucket, "s3_key": key}
        arn = self.engine.arns.execution(PER_IMAGE_MACHINE, name)
        try:
            self._start(self.machine_arn, payload, name)
        except (ExecutionAlreadyExists, sqlite3.IntegrityError):
            # Started before a crash that came before the confirmation: nothing to do.
            self.ledger.confirm(self.bucket, key, version, arn)
            return None
        self.ledger.confirm(self.bucket, key, version, arn)
        started = Started(self.bucket, key, version, name, arn, repaired)
        self.pending[arn] = (name, key)
        self.stats.started += 1
        self.stats.repaired += int(repaired)
        if self.on_start is not None:
            self.on_start(started)
        return started

    def _reap(self) -> None:
        """Report executions that ended since the last poll."""
        for arn, (name, key) in list(self.pending.items()):
            execution = self.engine.describe_execution(arn)
            if execution.status == "RUNNING":
                continue
            del self.pending[arn]
            finished = Finished(name, key, execution.status, execution.error)
            self.stats.finished += 1
            self.stats.recent = (self.stats.recent + [finished])[-20:]
            if self.on_finish is not None:
                self.on_finish(finished)

    # -- the loop ---------------------------------------------------------------------------
    def run(self, interval: float = 2.0, max_iterations: int | None = None) -> WatchStats:
        """Poll every ``interval`` seconds until interrupted (or ``max_iterations`` polls)."""
        iterations = 0
        while max_iterations is None or iterations < max_iterations:
            self.poll_once()
            iterations += 1
            if max_iterations is None or iterations < max_iterations:
                self.sleep(interval)
        return self.stats

    def drain(self, timeout: float | None = None) -> None:
        """Wait for the executions this watcher started, then report them."""
        for arn in list(self.pending):
            self.engine.wait(arn, timeout)
        self._reap()
