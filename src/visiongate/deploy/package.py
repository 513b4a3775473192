"""Build the two deployment artefacts, byte-for-byte reproducibly.

* the **Lambda zip**: exactly the modules the three handlers import
  (``visiongate/__init__.py``, ``errors.py``, ``config.py``, ``storage/``, ``functions/``);
  boto3 is not bundled because the Python Lambda runtimes ship it. One zip serves all
  three functions (each has its own handler), so a code change updates them together.
* **model.tar.gz** in SageMaker's layout: the model directory's files at the archive root,
  which SageMaker unpacks into ``/opt/ml/model`` for the serving container
  (https://docs.aws.amazon.com/sagemaker/latest/dg/your-algorithms-inference-code.html).

Both are deterministic — sorted entries, fixed timestamps and owners, no ``__pycache__`` —
so the same sources give the same bytes and the same content-addressed S3 key, and a
redeploy without changes uploads nothing and updates nothing.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import stat
import tarfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

from visiongate.deploy.errors import PackageError

# Paths relative to the ``visiongate`` package; a trailing "/" means the whole folder.
LAMBDA_MODULES: tuple[str, ...] = (
    "__init__.py",
    "errors.py",
    "config.py",
    "storage/",
    "functions/",
)

# The files a model directory must hold for the serving container to start.
MODEL_REQUIRED: tuple[str, ...] = ("model.onnx", "model.json")

_ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)  # the earliest timestamp a zip entry can carry
_SKIP_DIRS = {"__pycache__"}
_SKIP_SUFFIXES = (".pyc", ".pyo")


@dataclass(frozen=True)
class Artefact:
    """Bytes to upload plus the content-addressed name they go under."""

    data: bytes
    filename: str  # e.g. "visiongate-lambda-3f2a9c1e0b7d4a55.zip"
    sha256: str
    entries: tuple[str, ...]

    @classmethod
    def named(cls, data: bytes, pattern: str, files: list[tuple[str, Path]]) -> Artefact:
        """``pattern``'s ``{}`` becomes the first 16 hex digits of the data's SHA-256."""
        digest = hashlib.sha256(data).hexdigest()
        return cls(data, pattern.format(digest[:16]), digest, tuple(name for name, _ in files))


def package_root() -> Path:
    """The installed ``visiongate`` package folder (``src/visiongate`` in a checkout)."""
    import visiongate

    return Path(visiongate.__file__).resolve().parent


def _wanted(path: Path) -> bool:
    return not (
        path.name.startswith(".")
        or any(part in _SKIP_DIRS for part in path.parts)
        or path.suffix in _SKIP_SUFFIXES
    )


def lambda_files(root: Path | None = None) -> list[tuple[str, Path]]:
    """``(archive name, source path)`` for every file the Lambda zip holds, sorted."""
    root = (root or package_root()).resolve()
    found: dict[str, Path] = {}
    for spec in LAMBDA_MODULES:
        source = root / spec.rstrip("/")
        if spec.endswith("/"):
            if not source.is_dir():
                raise PackageError(
                    f"{source} is not a folder; the Lambda package needs visiongate/{spec}",
                    hint="install visiongate from a complete checkout (pip install -e .)",
                )
            for path in sorted(source.rglob("*")):
                relative = path.relative_to(root)
                if path.is_symlink():
                    raise PackageError(f"{path} is a symbolic link; refusing to package it")
                if path.is_file() and _wanted(relative):
                    found[f"visiongate/{relative.as_posix()}"] = path
        else:
            if not source.is_file():
                raise PackageError(
                    f"{source} is missing; the Lambda package needs visiongate/{spec}",
                    hint="install visiongate from a complete checkout (pip install -e .)",
                )
            found[f"visiongate/{spec}"] = source
    return sorted(found.items())


def build_lambda_zip(root: Path | None = None) -> Artefact:
    """The Lambda deployment package for the three handlers, as deterministic zip bytes."""
    files = lambda_files(root)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, path in files:
            info = zipfile.ZipInfo(name, date_time=_ZIP_EPOCH)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = (stat.S_IFREG | 0o644) << 16  # readable by the Lambda user
            info.create_system = 3  # Unix, so the permission bits above are honoured
            archive.writestr(info, path.read_bytes(), compresslevel=9)
    return Artefact.named(buffer.getvalue(), "visiongate-lambda-{}.zip", files)


def model_files(model_dir: Path) -> list[tuple[str, Path]]:
    """Every file of a model directory (relative name, path), sorted; refuses symlinks."""
    model_dir = Path(model_dir)
    if not model_dir.is_dir():
        raise PackageError(
            f"model directory {model_dir} does not exist",
            hint="train one first: visiongate train --data DIR --out MODEL_DIR",
        )
    missing = [name for name in MODEL_REQUIRED if not (model_dir / name).is_file()]
    if missing:
        raise PackageError(
            f"model directory {model_dir} lacks {', '.join(missing)}",
            hint="point --model at a folder written by `visiongate train`",
        )
    found = []
    for path in sorted(model_dir.rglob("*")):
        relative = path.relative_to(model_dir)
        if path.is_symlink():
            raise PackageError(
                f"{path} is a symbolic link; model.tar.gz holds regular files only",
                hint="copy the file into the model directory instead of linking it",
            )
        if path.is_file() and _wanted(relative):
            found.append((relative.as_posix(), path))
    return found


def build_model_tarball(model_dir: Path) -> Artefact:
    """``model.tar.gz`` for SageMaker: the model directory's files at the archive root."""
    files = model_files(model_dir)
    tar_buffer = io.BytesIO()
    with tarfile.open(fileobj=tar_buffer, mode="w", format=tarfile.PAX_FORMAT) as archive:
        for name, path in files:
            data = path.read_bytes()
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mode = 0o644
            info.mtime = 0
            info.uid = info.gid = 0
            info.uname = info.gname = ""
            archive.addfile(info, io.BytesIO(data))
    gz_buffer = io.BytesIO()
    # mtime=0 and no file name keep the gzip header identical from run to run.
    with gzip.GzipFile(filename="", mode="wb", fileobj=gz_buffer, mtime=0) as compressed:
        compressed.write(tar_buffer.getvalue())
    return Artefact.named(gz_buffer.getvalue(), "model-{}.tar.gz", files)
