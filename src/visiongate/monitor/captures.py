"""Read SageMaker Data Capture files: ours and real SageMaker ones, with the same code.

    for record in read_captures("s3://captures/datacapture/visiongate"):   # configured store
        record.time, record.probabilities, record.confidence, record.input_data

A location is a ``.jsonl`` file, a local folder (searched recursively for ``*.jsonl``), or an
``s3://bucket/prefix`` URI naming a place in the configured object store (a local folder by
default, S3 when ``store.backend = "s3"``). Files are read in key order, which is time order
for SageMaker's ``{endpoint}/{variant}/yyyy/mm/dd/hh/`` layout; ``since``/``until`` skip whole
hour folders outside the window before reading them.

One line is one record (https://docs.aws.amazon.com/sagemaker/latest/dg/model-monitor-data-capture-endpoint.html)::

    {"captureData": {"endpointInput": {"observedContentType", "mode": "INPUT", "data", "encoding"},
                     "endpointOutput": {"observedContentType", "mode": "OUTPUT", "data", "encoding"}},
     "eventMetadata": {"eventId", "inferenceId"?, "inferenceTime"}, "eventVersion": "0"}

``encoding`` is ``BASE64``, ``JSON`` or ``CSV``; either side may be absent (capture mode
Input or Output only). The output is parsed into probabilities when it is a JSON list of
numbers (``[0.82, 0.18]``), a verbose object (``{"probabilities": [...]}`` or
``{"prediction": [...]}``), a one-row batch (``[[...]]``) or a CSV row. Malformed lines are
skipped and reported through ``errors`` (or raised with ``strict=True``).
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from visiongate.errors import VisiongateError

_HOUR_PATH = re.compile(r"(?:^|/)(\d{4})/(\d{2})/(\d{2})/(\d{2})/[^/]*$")


class CaptureFormatError(VisiongateError):
    """A line that is not a Data Capture record; ``source`` says where (file:line)."""

    def __init__(self, message: str, source: str = "", hint: str | None = None) -> None:
        super().__init__(f"{source}: {message}" if source else message, hint)
        self.source = source


class CaptureSourceError(VisiongateError):
    """The location does not exist or cannot be listed."""


@dataclass(frozen=True)
class CaptureRecord:
    event_id: str
    inference_id: str | None
    time: datetime | None  # UTC
    input_content_type: str | None
    input_data: bytes | None  # the request body, decoded from its encoding
    output_content_type: str | None
    output_text: str | None  # the response body as text
    probabilities: tuple[float, ...] | None  # None if the output is not a probability vector
    labels: tuple[str, ...] | None  # from verbose outputs that carry them
    source: str  # "file:line" or "s3://bucket/key:line"

    @property
    def confidence(self) -> float | None:
        return max(self.probabilities) if self.probabilities else None

    @property
    def predicted_index(self) -> int | None:
        if not self.probabilities:
            return None
        return max(range(len(self.probabilities)), key=self.probabilities.__getitem__)


def _decode(side: dict[str, Any], what: str, source: str) -> tuple[str | None, bytes]:
    if not isinstance(side, dict) or "data" not in side:
        raise CaptureFormatError(f"{what} has no data", source)
    data, encoding = side["data"], str(side.get("encoding", "JSON")).upper()
    if not isinstance(data, str):
        data = json.dumps(data)  # some writers embed JSON values directly
    if encoding == "BASE64":
        try:
            raw = base64.b64decode(data, validate=True)
        except (binascii.Error, ValueError):
            raise CaptureFormatError(f"{what} data is not valid base64", source) from None
    else:
        raw = data.encode("utf-8")
    content_type = side.get("observedContentType")
    return (str(content_type) if content_type is not None else None), raw


def _probabilities(text: str) -> tuple[tuple[float, ...] | None, tuple[str, ...] | None]:
    try:
        doc: Any = json.loads(text)
    except ValueError:
        try:
            return tuple(float(x) for x in text.strip().split(",")), None
        except ValueError:
            return None, None
    labels = None
    if isinstance(doc, dict):
        if isinstance(doc.get("labels"), list):
            labels = tuple(str(x) for x in doc["labels"])
        doc = next(
            (doc[k] for k in ("probabilities", "prediction", "predictions", "scores") if k in doc),
            None,
        )
    if isinstance(doc, list) and len(doc) == 1 and isinstance(doc[0], list):
        doc = doc[0]
    if (
        isinstance(doc, list)
        and doc
        and all(isinstance(x, int | float) and not isinstance(x, bool) for x in doc)
    ):
        return tuple(float(x) for x in doc), labels
    return None, labels


def _time(value: Any, source: str) -> datetime | None:
    if value is None:
        return None
    try:
        stamp = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        raise CaptureFormatError(
            f"inferenceTime {value!r} is not an ISO 8601 time", source
        ) from None
    return stamp.replace(tzinfo=UTC) if stamp.tzinfo is None else stamp.astimezone(UTC)


def parse_capture_line(line: str | bytes | dict[str, Any], source: str = "") -> CaptureRecord:
    """One Data Capture line (text or already-parsed JSON) -> CaptureRecord."""
    if isinstance(line, dict):
        doc = line
    else:
        try:
            doc = json.loads(line)
        except (ValueError, UnicodeDecodeError) as exc:
            raise CaptureFormatError(f"not JSON ({exc})", source) from None
    if not isinstance(doc, dict) or not isinstance(doc.get("captureData"), dict):
        raise CaptureFormatError(
            "no captureData object", source, hint="is this a Data Capture file?"
        )
    capture = doc["captureData"]
    if "endpointInput" not in capture and "endpointOutput" not in capture:
        raise CaptureFormatError("captureData has neither endpointInput nor endpointOutput", source)
    in_type = in_data = out_type = out_text = None
    if "endpointInput" in capture:
        in_type, in_data = _decode(capture["endpointInput"], "endpointInput", source)
    probs = labels = None
    if "endpointOutput" in capture:
        out_type, raw = _decode(capture["endpointOutput"], "endpointOutput", source)
        out_text = raw.decode("utf-8", errors="replace")
        probs, labels = _probabilities(out_text)
    meta = doc.get("eventMetadata") if isinstance(doc.get("eventMetadata"), dict) else {}
    inference_id = meta.get("inferenceId")
    return CaptureRecord(
        event_id=str(meta.get("eventId", "")),
        inference_id=str(inference_id) if inference_id is not None else None,
        time=_time(meta.get("inferenceTime"), source),
        input_content_type=in_type,
        input_data=in_data,
        output_content_type=out_type,
        output_text=out_text,
        probabilities=probs,
        labels=labels,
        source=source,
    )


def _hour_outside(name: str, since: datetime | None, until: datetime | None) -> bool:
    match = _HOUR_PATH.search(name)
    if not match:
        return False
    start = datetime(*(int(g) for g in match.groups()), tzinfo=UTC)
    return (since is not None and start + timedelta(hours=1) <= since) or (
        until is not None and start > until
    )


def _files(location: str | Path, store: Any, settings: Any) -> Iterator[tuple[str, Any]]:
    """(name, read() -> bytes) for every capture file at ``location``, in key order."""
    text = str(location)
    if text.startswith("s3://"):
        from visiongate.storage import iter_objects, open_store, parse_uri

        uri = parse_uri(text)
        store = store or open_store(settings)
        for info in iter_objects(store, uri.bucket, uri.key):
            if info.key.endswith(".jsonl"):
                yield f"s3://{uri.bucket}/{info.key}", lambda k=info.key: store.get(uri.bucket, k)
        return
    path = Path(location).expanduser()
    if path.is_file():
        yield str(path), path.read_bytes
    elif path.is_dir():
        for file in sorted(path.rglob("*.jsonl")):
            yield str(file), file.read_bytes
    else:
        raise CaptureSourceError(
            f"capture location {path} does not exist",
            hint="pass a .jsonl file, a folder of them, or s3://bucket/prefix",
        )


def read_captures(
    location: str | Path,
    *,
    store: Any = None,
    settings: Any = None,
    since: datetime | None = None,
    until: datetime | None = None,
    errors: list[CaptureFormatError] | None = None,
    strict: bool = False,
) -> Iterator[CaptureRecord]:
    """Every record at ``location`` (file, folder or s3:// URI), oldest file first.

    ``since``/``until`` (aware datetimes) keep records whose time is in [since, until].
    Malformed lines are appended to ``errors`` (when given) and skipped, or raised if ``strict``.
    """
    for name, read in _files(location, store, settings):
        if _hour_outside(name, since, until):
            continue
        for number, line in enumerate(read().splitlines(), start=1):
            if not line.strip():
                continue
            try:
                record = parse_capture_line(line, f"{name}:{number}")
            except CaptureFormatError as exc:
                if strict:
                    raise
                if errors is not None:
                    errors.append(exc)
                continue
            if record.time is not None and (
                (since is not None and record.time < since)
                or (until is not None and record.time > until)
            ):
                continue
            yield record
