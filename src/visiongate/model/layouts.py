"""Where a dataset's images and labels are: the layouts ``train`` and ``evaluate`` accept.

* **SageMaker channel layout** — a folder holding ``<name>.lst`` beside a ``<name>/`` folder the
  manifest's paths are relative to (``train.lst`` + ``train/``), as SageMaker's image classifier
  and ``im2rec`` write it. Each line is ``index<TAB>label<TAB>path``; the label may be written
  as a float (``1.000000``). https://docs.aws.amazon.com/sagemaker/latest/dg/image-classification.html
* **An explicit manifest** (``--manifest FILE --images DIR``).
* **One folder per class**: the folder's name is the class.
* Any of these under an ``s3://bucket/prefix`` of the configured object store.

A ``classes.json`` (a list of names, index = label) beside the manifest or the class folders
names the classes. This module only *finds* images; :mod:`visiongate.model.datasets` decodes.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Protocol

from visiongate.model.errors import DatasetError, LayoutNotRecognized, ManifestError

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".gif", ".bmp", ".webp", ".tif", ".tiff"}
MAX_LABEL = 100_000


class Folder(Protocol):
    """A read-only tree of files: a local directory or a prefix in the object store."""

    def describe(self, rel: str = "") -> str: ...

    def files(self) -> list[str]: ...  # every file below, as relative POSIX paths

    def read(self, rel: str) -> bytes: ...


class LocalFolder:
    """A local directory; relative paths may not leave it (also not through symlinks)."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root).expanduser()
        self._files: list[str] | None = None

    def describe(self, rel: str = "") -> str:
        return str(self.root / rel) if rel else str(self.root)

    def files(self) -> list[str]:
        if self._files is None:
            self._files = sorted(
                p.relative_to(self.root).as_posix() for p in self.root.rglob("*") if p.is_file()
            )
        return self._files

    def read(self, rel: str) -> bytes:
        path = (self.root / rel).resolve()
        if self.root.resolve() not in path.parents:
            raise ManifestError(f"{rel!r} resolves outside {self.root}", hint="remove the link")
        return path.read_bytes()


class StoreFolder:
    """A prefix in the configured object store (local folder store or S3)."""

    def __init__(self, store, bucket: str, prefix: str) -> None:  # noqa: ANN001 - ObjectStore
        self.store, self.bucket = store, bucket
        self.prefix = prefix.strip("/")
        self._files: list[str] | None = None

    def describe(self, rel: str = "") -> str:
        key = "/".join(p for p in (self.prefix, rel) if p)
        return f"s3://{self.bucket}/{key}"

    def files(self) -> list[str]:
        if self._files is None:
            from visiongate.storage import iter_objects

            start = f"{self.prefix}/" if self.prefix else ""
            self._files = [
                info.key[len(start) :] for info in iter_objects(self.store, self.bucket, start)
            ]
        return self._files

    def read(self, rel: str) -> bytes:
        return self.store.get(self.bucket, "/".join(p for p in (self.prefix, rel) if p))


@dataclass(frozen=True)
class Entry:
    """One image a layout names: its path relative to the image folder, and its label number."""

    path: str
    label: int


@dataclass
class Layout:
    """What a layout names, before anything is decoded."""

    kind: str  # "manifest" or "class-folders"
    source: str  # where it came from, for messages and model.json
    entries: list[Entry]
    names: list[str] | None  # class names (classes.json or folder names), index = label
    images: Folder  # entries' paths are relative to this
    image_prefix: str = ""  # sub-folder of ``images`` the paths live under


def open_folder(location: str, settings=None) -> Folder:  # noqa: ANN001 - Settings
    """``s3://bucket/prefix`` in the configured store, or a local directory."""
    if location.startswith("s3://"):
        from visiongate.storage import open_store, parse_uri

        uri = parse_uri(location)
        return StoreFolder(open_store(settings), uri.bucket, uri.key)
    path = Path(location).expanduser()
    if not path.is_dir():
        raise LayoutNotRecognized(
            f"{path} is not a directory",
            hint="pass a dataset folder (train.lst + train/, or one folder per class) or s3://bucket/prefix",
        )
    return LocalFolder(path)


def safe_relative(path: str, where: str) -> str:
    """A manifest path that stays inside its folder, as POSIX; ManifestError otherwise."""
    text = path.strip().replace("\\", "/")
    pure = PurePosixPath(text)
    if not text or "\x00" in text or pure.is_absolute() or ".." in pure.parts:
        raise ManifestError(
            f"{where}: path {path!r} is empty, absolute or leaves the image folder",
            hint="manifest paths are relative to the image folder, e.g. train/bike_001.png",
        )
    return pure.as_posix()


def parse_label(text: str, where: str) -> int:
    """A label number; SageMaker's tools write them as floats (``1.000000``)."""
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or value != int(value) or not 0 <= value <= MAX_LABEL:
        raise ManifestError(
            f"{where}: label {text!r} is not a class number (0, 1, 2, ...)",
            hint="write index<TAB>label<TAB>path with a whole-number label",
        )
    return int(value)


def parse_manifest(text: str, name: str) -> list[Entry]:
    """``index<TAB>label<TAB>path`` lines (blank lines ignored) -> entries."""
    entries = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        fields = line.rstrip("\r\n").split("\t")
        where = f"{name} line {number}"
        if len(fields) != 3:
            hint = "write index<TAB>label<TAB>path (tab-separated)"
            if len(fields) > 3:
                hint = "multi-label manifests are not supported; write one label per image"
            raise ManifestError(
                f"{where}: expected 3 tab-separated fields, found {len(fields)}", hint=hint
            )
        entries.append(Entry(safe_relative(fields[2], where), parse_label(fields[1], where)))
    return entries


def parse_classes_json(data: bytes, where: str) -> list[str]:
    try:
        names = json.loads(data)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise DatasetError(
            f"{where} is not valid JSON: {exc}", hint='write e.g. ["bicycle", "motorcycle"]'
        ) from None
    if not (isinstance(names, list) and names and all(isinstance(n, str) and n for n in names)):
        raise DatasetError(
            f"{where} must be a list of class names", hint='write e.g. ["bicycle", "motorcycle"]'
        )
    if len(set(names)) != len(names):
        raise DatasetError(f"{where} names a class twice", hint="class names must be unique")
    return names


def _read_names(folder: Folder, rel: str) -> list[str] | None:
    return (
        parse_classes_json(folder.read(rel), folder.describe(rel))
        if rel in folder.files()
        else None
    )


def _manifest_layout(folder: Folder, lst: str) -> Layout:
    """``<name>.lst`` at the top of ``folder``; paths are relative to ``<name>/`` if it exists."""
    channel = PurePosixPath(lst).stem
    has_channel_dir = any(f.startswith(channel + "/") for f in folder.files())
    entries = parse_manifest(
        folder.read(lst).decode("utf-8", errors="replace"), folder.describe(lst)
    )
    names = _read_names(folder, "classes.json")
    prefix = channel if has_channel_dir else ""
    return Layout("manifest", folder.describe(lst), entries, names, folder, prefix)


def _class_folder_layout(folder: Folder) -> Layout | None:
    by_class: dict[str, list[str]] = {}
    for rel in folder.files():
        parts = rel.split("/")
        if len(parts) < 2 or any(p.startswith(".") for p in parts):
            continue
        if PurePosixPath(rel).suffix.lower() in IMAGE_SUFFIXES:
            by_class.setdefault(parts[0], []).append(rel)
    if not by_class:
        return None
    names = _read_names(folder, "classes.json")
    if names is None or not set(by_class) <= set(names):
        names = sorted(by_class)
    entries = [Entry(rel, names.index(name)) for name in names for rel in by_class.get(name, [])]
    return Layout("class-folders", folder.describe(), entries, names, folder)


def find_layout(folder: Folder, channels: tuple[str, ...] = ("train",)) -> Layout:
    """The layout ``folder`` holds, preferring the manifest named by ``channels`` if several."""
    manifests = sorted(f for f in folder.files() if "/" not in f and f.endswith(".lst"))
    if len(manifests) > 1:
        preferred = [f"{c}.lst" for c in channels if f"{c}.lst" in manifests]
        if not preferred:
            raise LayoutNotRecognized(
                f"{folder.describe()} holds several manifests ({', '.join(manifests)})",
                hint="pick one with --manifest FILE --images DIR",
            )
        manifests = preferred[:1]
    if manifests:
        return _manifest_layout(folder, manifests[0])
    layout = _class_folder_layout(folder)
    if layout is None:
        raise LayoutNotRecognized(
            f"{folder.describe()} holds no <name>.lst manifest and no class folders of images",
            hint="lay it out as train.lst + train/, or one folder per class (class = folder name)",
        )
    return layout


def open_layout(
    data: str | Path | None = None,
    *,
    manifest: str | Path | None = None,
    images: str | Path | None = None,
    channels: tuple[str, ...] = ("train",),
    settings=None,  # noqa: ANN001 - Settings
) -> Layout:
    """Resolve ``--data`` (folder, .lst file or URI) or ``--manifest`` + ``--images``."""
    if manifest is not None or images is not None:
        if manifest is None or images is None:
            raise LayoutNotRecognized(
                "--manifest and --images go together",
                hint="pass both: --manifest FILE --images DIR",
            )
        image_folder = open_folder(str(images), settings)
        manifest_text = str(manifest)
        if manifest_text.startswith("s3://"):
            from visiongate.storage import open_store, parse_uri

            uri = parse_uri(manifest_text)
            raw = open_store(settings).get(uri.bucket, uri.key)
            sibling = None
        else:
            path = Path(manifest_text).expanduser()
            if not path.is_file():
                raise LayoutNotRecognized(
                    f"manifest {path} does not exist", hint="check --manifest"
                )
            raw = path.read_bytes()
            sibling = path.parent / "classes.json"
        entries = parse_manifest(raw.decode("utf-8", errors="replace"), manifest_text)
        names = None
        if sibling is not None and sibling.is_file():
            names = parse_classes_json(sibling.read_bytes(), str(sibling))
        return Layout("manifest", manifest_text, entries, names, image_folder)
    if data is None:
        raise LayoutNotRecognized("no data given", hint="pass --data DIR|s3://bucket/prefix")
    text = str(data)
    if text.endswith(".lst") and not text.startswith("s3://") and Path(text).is_file():
        path = Path(text).expanduser()
        return _manifest_layout(LocalFolder(path.parent), path.name)
    return find_layout(open_folder(text, settings), channels)
