"""Write a dataset in SageMaker's channel layout, locally or into the object store.

    <out>/classes.json                ["bicycle", "motorcycle"]   (index = label)
    <out>/train.lst                   index<TAB>label<TAB>path    (path relative to train/)
    <out>/train/bicycle_s_000017.png
    <out>/test.lst, <out>/test/...

This is the layout SageMaker's image classifier reads ("lst" content type, one channel per
folder: https://docs.aws.amazon.com/sagemaker/latest/dg/image-classification.html) and the
one :func:`visiongate.model.datasets.load_dataset` prefers.
"""

from __future__ import annotations

import io
import json
import re
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image

_SAFE_NAME = re.compile(r"[^A-Za-z0-9._-]+")
WRITERS = 16  # concurrent puts: each one waits on fsync, not the CPU


class Sink:
    """Where files go: a local directory or an ``s3://bucket/prefix`` of the configured store."""

    def __init__(self, out: str | Path, settings=None) -> None:  # noqa: ANN001 - Settings
        self.out = str(out)
        self._store = None
        if self.out.startswith("s3://"):
            from visiongate.storage import open_store, parse_uri

            self._uri = parse_uri(self.out)
            self._store = open_store(settings)
            if not self._store.bucket_exists(self._uri.bucket):
                self._store.create_bucket(self._uri.bucket)
        else:
            self._root = Path(self.out).expanduser()
            self._root.mkdir(parents=True, exist_ok=True)

    def put(self, rel: str, data: bytes, content_type: str | None = None) -> None:
        if self._store is not None:
            self._store.put(self._uri.bucket, self._uri.join(rel).key, data, content_type)
            return
        path = self._root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.tmp")
        tmp.write_bytes(data)
        tmp.replace(path)

    def describe(self, rel: str = "") -> str:
        if self._store is not None:
            return str(self._uri.join(rel))
        return str(self._root / rel)


def png_bytes(array: np.ndarray) -> bytes:
    """uint8 H×W×3 (RGB) or H×W (grayscale) -> PNG file bytes."""
    buffer = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(array)).save(buffer, format="PNG", optimize=False)
    return buffer.getvalue()


def safe_filename(name: str, fallback: str) -> str:
    """A file name from untrusted archive metadata that cannot name another folder."""
    cleaned = _SAFE_NAME.sub("_", Path(name).name).strip("._")
    if not cleaned.lower().endswith(".png"):
        cleaned = f"{cleaned or fallback}.png"
    return cleaned


@dataclass
class WrittenSplit:
    name: str
    count: int
    per_class: dict[str, int] = field(default_factory=dict)


def write_split(
    sink: Sink,
    name: str,
    images: np.ndarray,
    labels: np.ndarray,
    classes: list[str],
    filenames: list[str] | None = None,
    indices: list[int] | None = None,
    progress=None,  # noqa: ANN001 - (rich Progress, task id) or None
) -> WrittenSplit:
    """``<name>.lst`` plus ``<name>/*.png``; file names are made unique and safe.

    The store syncs every object to disk, so writes overlap in a few threads; the manifest
    is written last, once every image it lists exists.
    """
    lines, used = [], set()

    def put(filename: str, array: np.ndarray) -> None:
        sink.put(f"{name}/{filename}", png_bytes(array), "image/png")

    with ThreadPoolExecutor(max_workers=WRITERS) as pool:
        futures = []
        for position, (array, label) in enumerate(zip(images, labels, strict=True)):
            index = indices[position] if indices is not None else position
            wanted = (
                filenames[position] if filenames is not None else f"{classes[label]}_{index:05d}"
            )
            filename = safe_filename(wanted, f"{name}_{index:05d}")
            if filename in used:
                filename = f"{Path(filename).stem}_{index}.png"
            used.add(filename)
            futures.append(pool.submit(put, filename, array))
            lines.append(f"{index}\t{int(label)}\t{filename}")
        for future in as_completed(futures):
            future.result()
            if progress is not None:
                progress[0].advance(progress[1])
    sink.put(f"{name}.lst", ("\n".join(lines) + "\n").encode(), "text/plain")
    counts = np.bincount(np.asarray(labels, dtype=np.int64), minlength=len(classes))
    return WrittenSplit(name, len(lines), {c: int(n) for c, n in zip(classes, counts, strict=True)})


def write_classes(sink: Sink, classes: list[str]) -> None:
    sink.put("classes.json", (json.dumps(classes) + "\n").encode(), "application/json")
