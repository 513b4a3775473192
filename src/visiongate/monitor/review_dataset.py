"""The labelled dataset that reviews build, in SageMaker's channel layout, ready for training.

    s3://<bucket>/reviewed/
        classes.json            ["bicycle", "motorcycle"]        index = label number
        train.lst               index<TAB>label<TAB>path         path relative to train/
        train/<class>/<file>    the reviewed images

``visiongate train --data s3://<bucket>/reviewed`` reads it as it is (a ``train.lst`` beside a
``train/`` folder, see :mod:`visiongate.model.layouts` and
https://docs.aws.amazon.com/sagemaker/latest/dg/image-classification.html).

Writes go image → classes.json → train.lst, so the manifest never names a missing image.
Adding the same file again changes nothing (idempotent). ``classes.json`` starts as the
model's class list (so label numbers match the model being retrained) and only ever grows:
a label it lacks is appended, which keeps every existing label number valid.
"""

from __future__ import annotations

import json
import re
import threading
from dataclasses import dataclass
from pathlib import PurePosixPath

from visiongate.errors import VisiongateError
from visiongate.model.layouts import IMAGE_SUFFIXES, parse_classes_json, parse_manifest
from visiongate.storage import NoSuchKey, ObjectStore, StoreURI, sniff_image_type

DEFAULT_PREFIX = "reviewed"
CHANNEL = "train"
_SUFFIX_BY_TYPE = {
    "image/png": ".png",
    "image/jpeg": ".jpg",
    "image/gif": ".gif",
    "image/bmp": ".bmp",
    "image/webp": ".webp",
    "image/tiff": ".tif",
}
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")
_lock = threading.Lock()  # one writer per process: manifest updates are read-modify-write


class ReviewDatasetError(VisiongateError):
    """The reviewed dataset's manifest or class list cannot be updated."""


@dataclass(frozen=True)
class DatasetEntry:
    """One image of the reviewed dataset."""

    uri: str  # s3://bucket/reviewed/train/<class>/<file>
    index: int  # the manifest's first column
    label: str
    label_number: int
    path: str  # relative to train/, as written in train.lst


def safe_name(text: str, fallback: str) -> str:
    """``text`` reduced to letters, digits, '.', '_' and '-' (a file or folder name)."""
    cleaned = _UNSAFE.sub("-", text).strip(".-")[:80]
    return cleaned or fallback


def image_file_name(key: str, data: bytes, unique: str) -> str:
    """``<unique>-<base name of key>``, with an image suffix matching the bytes."""
    base = safe_name(PurePosixPath(key).name, "image")
    suffix = PurePosixPath(base).suffix.lower()
    if suffix not in IMAGE_SUFFIXES:
        base += _SUFFIX_BY_TYPE.get(sniff_image_type(data) or "", ".img")
    return f"{unique}-{base}"


def _index(line: str, position: int) -> int:
    """The manifest's first column as a number (its position if it is not one)."""
    try:
        return int(float(line.split("\t", 1)[0]))
    except (ValueError, OverflowError):
        return position


class ReviewedDataset:
    """``s3://<bucket>/<prefix>/`` in the configured store."""

    def __init__(self, store: ObjectStore, bucket: str, prefix: str = DEFAULT_PREFIX) -> None:
        self.store = store
        self.root = StoreURI(bucket, prefix.strip("/"))

    @property
    def uri(self) -> str:
        return str(self.root)

    def _key(self, *parts: str) -> str:
        return self.root.join(*parts).key

    def _read_text(self, name: str) -> str | None:
        try:
            return self.store.get(self.root.bucket, self._key(name)).decode("utf-8")
        except NoSuchKey:
            return None
        except UnicodeDecodeError:
            raise ReviewDatasetError(
                f"{self.root.join(name)} is not UTF-8 text", hint="fix or remove the file"
            ) from None

    def classes(self) -> list[str] | None:
        text = self._read_text("classes.json")
        if text is None:
            return None
        return parse_classes_json(text.encode("utf-8"), str(self.root.join("classes.json")))

    def manifest(self) -> str:
        return self._read_text(f"{CHANNEL}.lst") or ""

    def add(self, data: bytes, label: str, classes: list[str], file_name: str) -> DatasetEntry:
        """Put the image under ``train/<class>/`` and list it in ``train.lst`` (once)."""
        with _lock:
            names = self.classes()
            if names is None:
                names = list(classes) if label in classes else [*classes, label]
                changed_names = True
            else:
                changed_names = label not in names
                if changed_names:
                    names.append(label)
            number = names.index(label)
            path = f"{safe_name(label, f'class-{number}')}/{file_name}"
            self.store.put(
                self.root.bucket,
                self._key(CHANNEL, path),
                data,
                content_type=sniff_image_type(data),
            )
            if changed_names:
                text = json.dumps(names, ensure_ascii=False) + "\n"
                self.store.put(
                    self.root.bucket,
                    self._key("classes.json"),
                    text.encode("utf-8"),
                    content_type="application/json",
                )
            return self._list(path, label, number)

    def _list(self, path: str, label: str, number: int) -> DatasetEntry:
        text = self.manifest()
        where = str(self.root.join(f"{CHANNEL}.lst"))
        entries = parse_manifest(text, where)
        lines = [line for line in text.splitlines() if line.strip()]
        indices = [_index(line, position) for position, line in enumerate(lines)]
        for position, entry in enumerate(entries):
            if entry.path == path:
                return DatasetEntry(
                    self._uri(path), indices[position], label, entry.label, entry.path
                )
        index = max(indices, default=-1) + 1
        if text and not text.endswith("\n"):
            text += "\n"
        text += f"{index}\t{number}\t{path}\n"
        self.store.put(
            self.root.bucket,
            self._key(f"{CHANNEL}.lst"),
            text.encode("utf-8"),
            content_type="text/plain",
        )
        return DatasetEntry(self._uri(path), index, label, number, path)

    def _uri(self, path: str) -> str:
        return str(self.root.join(CHANNEL, path))
