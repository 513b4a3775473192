"""The human review queue: images the confidence gate rejected, labelled by a person.

    from visiongate.monitor.review import ReviewQueue
    queue = ReviewQueue(settings, classes=["bicycle", "motorcycle"])
    for review in queue.pending():                  # oldest first
        review.s3_key, review.probabilities()       # [("bicycle", 0.55), ("motorcycle", 0.45)]
    queue.thumbnail(review.review_id)               # PNG bytes
    queue.complete(review.review_id, "bicycle", reviewer="ana")

The loop (docs/review.md): the review definition (workflows/image_classification_review.asl.json)
catches ``THRESHOLD_CONFIDENCE_NOT_MET`` and calls ``request_review`` with a task token
(``.waitForTaskToken``), which stores ``s3://<review bucket>/reviews/pending/<id>.json``.
:meth:`ReviewQueue.complete` answers the token with SendTaskSuccess ``{"label", "reviewer",
"review_id", "reviewed_at"}`` — the execution then succeeds with that label — adds the image to
``s3://<review bucket>/reviewed/`` (a dataset ``visiongate train`` reads), and moves the record
to ``reviews/done/``. :meth:`ReviewQueue.reject` answers SendTaskFailure ``REVIEW_REJECTED``.

Where tokens go: :mod:`visiongate.monitor.review_tasks` (the Step Functions API at
``AWS_ENDPOINT_URL_SFN``, or an embedded engine). Which buckets hold reviews: ``buckets=``,
else ``REVIEW_BUCKET`` (comma-separated), else every bucket of the local store, or, on S3,
the buckets named by the inputs of the executions in ``Settings.database``.

Records are untrusted: one that is not a review is skipped (and logged), never fatal.
"""

from __future__ import annotations

import io
import json
import logging
import os
import re
import sqlite3
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from visiongate.config import WORKFLOWS_DIR, Settings, load_settings
from visiongate.errors import VisiongateError
from visiongate.functions.request_review import PENDING_PREFIX
from visiongate.monitor.review_dataset import (
    DEFAULT_PREFIX,
    DatasetEntry,
    ReviewedDataset,
    image_file_name,
)
from visiongate.monitor.review_tasks import TaskGone, TaskSender, default_tasks
from visiongate.storage import (
    InvalidKey,
    NoSuchBucket,
    NoSuchKey,
    iter_objects,
    open_store,
    validate_bucket,
)

log = logging.getLogger(__name__)

REVIEW_DEFINITION = WORKFLOWS_DIR / "image_classification_review.asl.json"
# What an engine needs to run the review definition, beside the defaults in visiongate.config.
REVIEW_FUNCTIONS = {"request_review": "visiongate.functions.request_review:handler"}
REVIEW_SUBSTITUTIONS = {"RequestReviewFunctionName": "request_review"}
DONE_PREFIX = "reviews/done/"
EXPIRED_PREFIX = "reviews/expired/"
REJECTED_ERROR = "REVIEW_REJECTED"
_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


class ReviewError(VisiongateError):
    """A review cannot be read or answered."""


class ReviewNotFound(ReviewError):
    """No pending or finished review has this id."""


class ReviewAlreadyCompleted(ReviewError):
    """The review was answered before; answering again would write twice."""


class UnknownLabel(ReviewError):
    """The label is not one of the review's classes."""


class ReviewExpired(ReviewError):
    """The execution no longer waits for this review (timed out, stopped, or answered)."""


def review_settings(settings: Settings | None = None) -> Settings:
    """``settings`` with the request_review function and its ``${...}`` placeholder added."""
    settings = settings or load_settings()
    return settings.with_(
        functions={**REVIEW_FUNCTIONS, **settings.functions},
        substitutions={**REVIEW_SUBSTITUTIONS, **settings.substitutions},
    )


@dataclass(frozen=True)
class Review:
    """A pending review, as ``request_review`` stored it (classes resolved)."""

    review_id: str
    bucket: str  # where the record (and the reviewed dataset) lives
    s3_bucket: str
    s3_key: str
    inferences: list[float]
    classes: list[str]
    execution_arn: str | None = None
    state: str | None = None
    reason: str | None = None
    created: str = ""
    created_epoch: float = 0.0
    task_token: str = field(default="", repr=False)

    @property
    def top_class(self) -> int:
        return max(range(len(self.inferences)), key=self.inferences.__getitem__)

    @property
    def top_probability(self) -> float:
        return self.inferences[self.top_class]

    def probabilities(self) -> list[tuple[str, float]]:
        return list(zip(self.classes, self.inferences, strict=True))


@dataclass(frozen=True)
class CompletedReview:
    review: Review
    label: str
    reviewer: str | None
    entry: DatasetEntry
    output: dict[str, Any]


def _probabilities(value: Any) -> list[float] | None:
    if not isinstance(value, list) or not value:
        return None
    try:
        numbers = [float(v) for v in value if not isinstance(v, bool)]
    except (TypeError, ValueError):
        return None
    return numbers if len(numbers) == len(value) else None


def _names(value: Any, count: int) -> list[str] | None:
    if not isinstance(value, list) or len(value) != count:
        return None
    if all(isinstance(v, str) and v for v in value) and len(set(value)) == count:
        return list(value)
    return None


def _clean(text: str | None, limit: int) -> str | None:
    if text is None:
        return None
    cleaned = _CONTROL.sub(" ", str(text)).strip()[:limit]
    return cleaned or None


def discover_buckets(settings: Settings) -> list[str]:
    """Buckets that may hold reviews (see the module docstring)."""
    named = os.environ.get("REVIEW_BUCKET", "")
    if named.strip():
        return [validate_bucket(b.strip()) for b in named.split(",") if b.strip()]
    found: set[str] = set()
    if settings.store_backend == "local" and settings.store_path.is_dir():
        for path in settings.store_path.iterdir():
            if not path.is_dir():
                continue
            try:
                found.add(validate_bucket(path.name))
            except InvalidKey:
                continue
    if settings.store_backend != "local" and settings.database.exists():
        try:
            with sqlite3.connect(f"file:{settings.database}?mode=ro", uri=True) as conn:
                rows = conn.execute(
                    "SELECT DISTINCT json_extract(input, '$.s3_bucket') FROM executions"
                ).fetchall()
        except sqlite3.Error:
            rows = []
        for (name,) in rows:
            try:
                found.add(validate_bucket(name))
            except InvalidKey:
                continue
    return sorted(found)


class ReviewQueue:
    """Pending reviews in the object store, and the two ways to answer them."""

    def __init__(
        self,
        settings: Settings | None = None,
        *,
        buckets: list[str] | None = None,
        classes: list[str] | None = None,
        tasks: TaskSender | None = None,
        dataset_prefix: str = DEFAULT_PREFIX,
        store: Any = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.settings = settings or load_settings()
        self.store = store if store is not None else open_store(self.settings)
        self._buckets = [validate_bucket(b) for b in buckets] if buckets else None
        self.classes = list(classes or [])
        self.tasks = tasks if tasks is not None else default_tasks(self.settings)
        self.dataset_prefix = dataset_prefix
        self.clock = clock
        self._lock = threading.RLock()

    # -- reading ----------------------------------------------------------------------------

    def buckets(self) -> list[str]:
        return list(self._buckets) if self._buckets is not None else discover_buckets(self.settings)

    def dataset(self, bucket: str) -> ReviewedDataset:
        return ReviewedDataset(self.store, bucket, self.dataset_prefix)

    def _classes_for(self, record: dict[str, Any], count: int, bucket: str) -> list[str]:
        for candidate in (record.get("labels"), self.classes):
            names = _names(candidate, count)
            if names is not None:
                return names
        try:
            names = _names(self.dataset(bucket).classes(), count)
        except VisiongateError:
            names = None
        return names or [str(i) for i in range(count)]

    def _review(self, record: Any, bucket: str, review_id: str) -> Review | None:
        if not isinstance(record, dict):
            return None
        inferences = _probabilities(record.get("inferences"))
        fields = [record.get(k) for k in ("task_token", "s3_bucket", "s3_key")]
        if inferences is None or not all(isinstance(f, str) and f for f in fields):
            return None
        text = {k: record.get(k) if isinstance(record.get(k), str) else None for k in record}
        created_epoch = record.get("created_epoch")
        return Review(
            review_id=review_id,
            bucket=bucket,
            s3_bucket=str(record["s3_bucket"]),
            s3_key=str(record["s3_key"]),
            inferences=inferences,
            classes=self._classes_for(record, len(inferences), bucket),
            execution_arn=text.get("execution_arn"),
            state=text.get("state"),
            reason=text.get("reason"),
            created=text.get("created") or "",
            created_epoch=float(created_epoch) if isinstance(created_epoch, int | float) else 0.0,
            task_token=str(record["task_token"]),
        )

    def _read(self, bucket: str, key: str) -> dict[str, Any] | None:
        try:
            record = json.loads(self.store.get(bucket, key))
        except (NoSuchKey, NoSuchBucket):
            return None
        except (ValueError, UnicodeDecodeError):
            log.warning("skipping s3://%s/%s: not a JSON review record", bucket, key)
            return None
        return record if isinstance(record, dict) else None

    def pending(self, limit: int = 500) -> list[Review]:
        """Pending reviews of every bucket, oldest first."""
        reviews = []
        for bucket in self.buckets():
            try:
                infos = list(iter_objects(self.store, bucket, PENDING_PREFIX))
            except NoSuchBucket:
                continue
            for info in infos:
                name = info.key[len(PENDING_PREFIX) :]
                review_id = name[: -len(".json")]
                if not name.endswith(".json") or not _ID.match(review_id):
                    continue
                review = self._review(self._read(bucket, info.key), bucket, review_id)
                if review is None:
                    log.warning("skipping s3://%s/%s: not a review record", bucket, info.key)
                    continue
                reviews.append(review)
        reviews.sort(key=lambda r: (r.created_epoch, r.review_id))
        return reviews[:limit]

    def get(self, review_id: str) -> Review:
        """The pending review ``review_id``; ReviewAlreadyCompleted / ReviewNotFound if none."""
        if not isinstance(review_id, str) or not _ID.match(review_id):
            raise ReviewNotFound(
                f"{review_id!r} is not a review id", hint="take ids from the pending list"
            )
        buckets = self.buckets()
        for bucket in buckets:
            record = self._read(bucket, f"{PENDING_PREFIX}{review_id}.json")
            if record is not None:
                review = self._review(record, bucket, review_id)
                if review is None:
                    raise ReviewError(f"review {review_id} in {bucket} is not a valid record")
                return review
        for bucket in buckets:
            done = self._read(bucket, f"{DONE_PREFIX}{review_id}.json")
            if done is not None:
                outcome = done.get("label") or done.get("status") or "answered"
                raise ReviewAlreadyCompleted(
                    f"review {review_id} was already completed ({outcome})",
                    hint="nothing to do: its execution has its answer",
                )
        raise ReviewNotFound(
            f"no pending review {review_id} in {', '.join(buckets) or 'any bucket'}",
            hint="list them with the dashboard's Review page (or ReviewQueue.pending())",
        )

    def image(self, review_id: str) -> bytes:
        review = self.get(review_id)
        try:
            size = self.store.head(review.s3_bucket, review.s3_key).size
            if size > self.settings.max_image_bytes:
                raise ReviewError(f"s3://{review.s3_bucket}/{review.s3_key} is too large")
            return self.store.get(review.s3_bucket, review.s3_key)
        except (NoSuchKey, NoSuchBucket):
            raise ReviewError(
                f"the image s3://{review.s3_bucket}/{review.s3_key} is gone",
                hint="reject the review: there is nothing to label",
            ) from None

    def thumbnail(self, review_id: str, size: int = 160) -> bytes:
        """The image scaled to fit ``size`` x ``size`` (small images enlarged, pixels kept
        sharp), as PNG; decoded safely (:func:`visiongate.imaging.decode_image`)."""
        from PIL import Image

        from visiongate.imaging import decode_image, to_model_mode

        image = to_model_mode(decode_image(self.image(review_id)), 3)
        scale = size / max(image.size)
        target = (max(1, round(image.size[0] * scale)), max(1, round(image.size[1] * scale)))
        resample = Image.Resampling.NEAREST if scale > 1 else Image.Resampling.LANCZOS
        buffer = io.BytesIO()
        image.resize(target, resample).save(buffer, format="PNG")
        return buffer.getvalue()

    def recent(self, limit: int = 20) -> list[dict[str, Any]]:
        """The most recently finished reviews' records (labelled, rejected), newest first."""
        infos = []
        for bucket in self.buckets():
            try:
                infos += [(i, bucket) for i in iter_objects(self.store, bucket, DONE_PREFIX)]
            except NoSuchBucket:
                continue
        infos.sort(key=lambda pair: pair[0].last_modified, reverse=True)
        records = [self._read(bucket, info.key) for info, bucket in infos[:limit]]
        return [r for r in records if r is not None]

    # -- answering --------------------------------------------------------------------------

    def complete(self, review_id: str, label: str, reviewer: str | None = None) -> CompletedReview:
        """Label the image: the execution succeeds with ``label``; the image joins the dataset."""
        with self._lock:
            review = self.get(review_id)
            if label not in review.classes:
                raise UnknownLabel(
                    f"label {label!r} is not one of this review's classes "
                    f"({', '.join(review.classes)})",
                    hint="pick one of the listed classes",
                )
            reviewer = _clean(reviewer, 100)
            data = self.image(review_id)
            output = {
                "label": label,
                "reviewer": reviewer,
                "review_id": review_id,
                "reviewed_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(self.clock())),
            }
            self._answer(review, lambda: self.tasks.succeed(review.task_token, output))
            entry = self.dataset(review.bucket).add(
                data, label, review.classes, image_file_name(review.s3_key, data, review_id[:12])
            )
            self._finish(review, "labelled", label=label, reviewer=reviewer, dataset=entry.uri)
            return CompletedReview(review, label, reviewer, entry, output)

    def reject(self, review_id: str, reason: str = "", reviewer: str | None = None) -> Review:
        """No class fits: the execution fails with ``REVIEW_REJECTED``; nothing is written to
        the dataset."""
        with self._lock:
            review = self.get(review_id)
            reviewer, reason = _clean(reviewer, 100), _clean(reason, 1000) or ""
            cause = json.dumps({"reason": reason, "reviewer": reviewer, "review_id": review_id})
            self._answer(review, lambda: self.tasks.fail(review.task_token, REJECTED_ERROR, cause))
            self._finish(review, "rejected", reviewer=reviewer, reason=reason)
            return review

    def _answer(self, review: Review, send: Callable[[], None]) -> None:
        try:
            send()
        except TaskGone as exc:
            self._move(review, EXPIRED_PREFIX, {"status": "expired", "expired": exc.message})
            raise ReviewExpired(
                f"review {review.review_id} can no longer be answered: {exc.message}",
                hint="see the execution in the dashboard; it was moved to reviews/expired/",
            ) from None

    def _finish(self, review: Review, status: str, **facts: Any) -> None:
        completed = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(self.clock()))
        self._move(review, DONE_PREFIX, {"status": status, "completed": completed, **facts})

    def _move(self, review: Review, prefix: str, facts: dict[str, Any]) -> None:
        pending = f"{PENDING_PREFIX}{review.review_id}.json"
        record = self._read(review.bucket, pending) or {}
        record.pop("task_token", None)  # a credential for the task: no use once answered
        record.update(facts)
        data = json.dumps(record, indent=2, sort_keys=True).encode("utf-8")
        key = f"{prefix}{review.review_id}.json"
        self.store.put(review.bucket, key, data, content_type="application/json")
        self.store.delete(review.bucket, pending)

    def close(self) -> None:
        self.tasks.close()


def list_pending(settings: Settings | None = None, **options: Any) -> list[Review]:
    queue = ReviewQueue(settings, **options)
    try:
        return queue.pending()
    finally:
        queue.close()


def complete_review(
    review_id: str,
    label: str,
    reviewer: str | None = None,
    *,
    settings: Settings | None = None,
    **options: Any,
) -> CompletedReview:
    """One-shot :meth:`ReviewQueue.complete` (a queue built from ``settings``)."""
    queue = ReviewQueue(settings, **options)
    try:
        return queue.complete(review_id, label, reviewer)
    finally:
        queue.close()
