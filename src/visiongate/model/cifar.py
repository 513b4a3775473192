"""Read the CIFAR-100 "python version" archive and turn a few classes into a dataset.

The archive (https://www.cs.toronto.edu/~kriz/cifar.html) is a ``.tar.gz`` holding
``cifar-100-python/{train,test,meta}``, each a pickle written by Python 2: a dict with
``b"data"`` (N×3072 uint8: the red, green and blue 32×32 planes of each image, row-major),
``b"fine_labels"``, ``b"coarse_labels"`` and ``b"filenames"``; ``meta`` has
``b"fine_label_names"``.

Pickle runs code named in the stream, so this is the one place the project unpickles
anything, and it does so with :class:`RestrictedUnpickler`: only the NumPy array and dtype
constructors needed for ``b"data"`` may be named; anything else (``os.system``,
``builtins.eval``, ...) raises :class:`UnsafePickle` before it is looked up. The decoded
objects are then checked for exactly the shapes and types above. Members are read from the
tar in memory, never extracted, so archive paths cannot write anywhere.
"""

from __future__ import annotations

import io
import pickle
import tarfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from visiongate.model.errors import ArchiveError, UnknownClass, UnsafePickle

ROOT = "cifar-100-python"
MAX_MEMBER_BYTES = 400 * 1024 * 1024  # the real train pickle is about 155 MB
_ALLOWED = {
    ("numpy.core.multiarray", "_reconstruct"),
    ("numpy._core.multiarray", "_reconstruct"),
    ("numpy", "ndarray"),
    ("numpy", "dtype"),
    ("numpy.core.multiarray", "scalar"),
    ("numpy._core.multiarray", "scalar"),
    ("numpy.core.numeric", "_frombuffer"),  # how NumPy pickles arrays at protocol 5
    ("numpy._core.numeric", "_frombuffer"),
    ("_codecs", "encode"),  # how Python 3 writes bytes at protocol 2; turns str into bytes
}


class RestrictedUnpickler(pickle.Unpickler):
    """Unpickles plain containers and NumPy arrays; refuses every other global."""

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) in _ALLOWED:
            return super().find_class(module, name)
        raise UnsafePickle(
            f"the archive's pickle asks for {module}.{name}, which is not allowed",
            hint="use the official cifar-100-python.tar.gz; this file may be malicious",
        )


def safe_loads(data: bytes) -> Any:
    """Unpickle ``data`` with the allow-list; Python 2 strings come back as bytes."""
    try:
        return RestrictedUnpickler(io.BytesIO(data), encoding="bytes").load()
    except UnsafePickle:
        raise
    except Exception as exc:  # noqa: BLE001 - a broken pickle raises almost anything
        raise ArchiveError(f"the pickle is corrupt: {type(exc).__name__}: {exc}") from None


@dataclass
class CifarSplit:
    """One split: images as N×32×32×3 uint8, fine labels, and file names."""

    images: np.ndarray
    labels: np.ndarray
    filenames: list[str]


def _member(tar: tarfile.TarFile, name: str) -> bytes:
    try:
        info = tar.getmember(f"{ROOT}/{name}")
    except KeyError:
        raise ArchiveError(
            f"the archive has no {ROOT}/{name}",
            hint="pass the CIFAR-100 python version (cifar-100-python.tar.gz)",
        ) from None
    if not info.isfile() or info.size > MAX_MEMBER_BYTES:
        raise ArchiveError(f"{ROOT}/{name} is not a regular file of a plausible size")
    handle = tar.extractfile(info)
    assert handle is not None  # a regular file always has a handle
    return handle.read()


def _as_str_list(value: Any, what: str, count: int | None = None) -> list[str]:
    if not isinstance(value, list) or (count is not None and len(value) != count):
        raise ArchiveError(f"{what} is not a list of the expected length")
    out = []
    for item in value:
        if isinstance(item, bytes):
            item = item.decode("utf-8", errors="replace")
        if not isinstance(item, str):
            raise ArchiveError(f"{what} holds a {type(item).__name__}, not a string")
        out.append(item)
    return out


def parse_split(data: bytes, name: str) -> CifarSplit:
    """A ``train``/``test`` pickle -> images, fine labels, file names (all checked)."""
    raw = safe_loads(data)
    if not isinstance(raw, dict):
        raise ArchiveError(f"{name} does not hold a dict")
    array = raw.get(b"data")
    if not isinstance(array, np.ndarray) or array.dtype != np.uint8 or array.ndim != 2:
        raise ArchiveError(f"{name}[b'data'] is not an N×3072 uint8 array")
    if array.shape[1] != 3 * 32 * 32:
        raise ArchiveError(f"{name}[b'data'] rows have {array.shape[1]} values, expected 3072")
    count = array.shape[0]
    labels = raw.get(b"fine_labels")
    if (
        not isinstance(labels, list)
        or len(labels) != count
        or not all(type(v) is int and 0 <= v < 100 for v in labels)
    ):
        raise ArchiveError(f"{name}[b'fine_labels'] is not {count} labels in 0..99")
    filenames = _as_str_list(raw.get(b"filenames"), f"{name}[b'filenames']", count)
    images = array.reshape(count, 3, 32, 32).transpose(0, 2, 3, 1)
    return CifarSplit(np.ascontiguousarray(images), np.asarray(labels, np.int64), filenames)


def read_archive(path: str | Path) -> tuple[list[str], dict[str, CifarSplit]]:
    """Fine label names and the ``train``/``test`` splits of a CIFAR-100 python archive."""
    try:
        with tarfile.open(Path(path), mode="r:*") as tar:
            meta = safe_loads(_member(tar, "meta"))
            if not isinstance(meta, dict):
                raise ArchiveError("meta does not hold a dict")
            names = _as_str_list(meta.get(b"fine_label_names"), "meta[b'fine_label_names']")
            splits = {name: parse_split(_member(tar, name), name) for name in ("train", "test")}
    except FileNotFoundError:
        raise ArchiveError(
            f"archive {path} does not exist", hint="check --archive, or use --download"
        ) from None
    except (tarfile.TarError, EOFError, OSError) as exc:
        raise ArchiveError(f"{path} is not a readable tar.gz archive: {exc}") from None
    return names, splits


def pick_classes(names: list[str], wanted: list[str]) -> list[int]:
    """Fine-label numbers of ``wanted`` (UnknownClass lists the valid names)."""
    unknown = [w for w in wanted if w not in names]
    if unknown:
        raise UnknownClass(
            f"CIFAR-100 has no class {', '.join(unknown)}",
            hint=f"pick from its 100 fine labels, e.g. {', '.join(names[:8])}, ...",
        )
    return [names.index(w) for w in wanted]


URL = "https://www.cs.toronto.edu/~kriz/cifar-100-python.tar.gz"
MD5 = "eb9058c3a382ffc7106e4002c42a8d85"  # published with the archive (torchvision checks it too)
DEFAULT_CLASSES = ("bicycle", "motorcycle")


def download(cache_dir: Path, url: str = URL, timeout: float = 30.0) -> Path:
    """Fetch the archive into ``cache_dir`` once (checked by MD5); DownloadError when offline."""
    import hashlib
    import urllib.error
    import urllib.request

    from visiongate.model.errors import DownloadError

    target = cache_dir / "cifar-100-python.tar.gz"
    if target.is_file():
        return target
    cache_dir.mkdir(parents=True, exist_ok=True)
    partial = target.with_suffix(".part")
    digest = hashlib.md5()  # noqa: S324 - integrity check against the published sum
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response, partial.open("wb") as out:
            while chunk := response.read(1 << 20):
                digest.update(chunk)
                out.write(chunk)
    except (urllib.error.URLError, OSError, TimeoutError) as exc:
        partial.unlink(missing_ok=True)
        reason = getattr(exc, "reason", exc)
        raise DownloadError(
            f"cannot download {url}: {reason}",
            hint="this machine may be offline; download the file elsewhere and pass --archive PATH",
        ) from None
    if url == URL and digest.hexdigest() != MD5:
        partial.unlink(missing_ok=True)
        raise DownloadError(f"{url} arrived corrupted (MD5 {digest.hexdigest()})", hint="try again")
    partial.replace(target)
    return target


def build_dataset(
    archive: str | Path,
    out: str,
    classes: list[str] | None = None,
    settings=None,  # noqa: ANN001 - Settings
    console=None,  # noqa: ANN001 - rich Console
) -> dict[str, Any]:
    """Keep ``classes`` of the archive and write train/test PNGs, .lst files and classes.json."""
    from rich.progress import Progress

    from visiongate.model.writer import Sink, write_classes, write_split

    wanted = list(classes or DEFAULT_CLASSES)
    names, splits = read_archive(archive)
    numbers = pick_classes(names, wanted)
    sink = Sink(out, settings)
    picked = {}
    for split_name, split in splits.items():
        rows = np.flatnonzero(np.isin(split.labels, numbers))
        labels = np.asarray([numbers.index(int(v)) for v in split.labels[rows]], dtype=np.int64)
        picked[split_name] = (rows, labels)
    written = {}
    total = sum(len(rows) for rows, _ in picked.values())
    with Progress(console=console, transient=True, disable=console is None) as progress:
        task = progress.add_task("writing PNGs", total=total)
        for split_name, (rows, labels) in picked.items():
            split = splits[split_name]
            written[split_name] = write_split(
                sink,
                split_name,
                split.images[rows],
                labels,
                wanted,
                filenames=[split.filenames[i] for i in rows],
                indices=[int(i) for i in rows],
                progress=(progress, task),
            )
    write_classes(sink, wanted)
    return {
        "out": sink.describe(),
        "classes": wanted,
        "splits": {k: {"n": v.count, "per_class": v.per_class} for k, v in written.items()},
    }
