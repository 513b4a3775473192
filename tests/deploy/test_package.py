"""The Lambda zip holds exactly what the handlers import, and they import with only boto3.

Lambda's Python runtimes include boto3, so the package ships only visiongate's own modules
(https://docs.aws.amazon.com/lambda/latest/dg/python-package.html).
"""

from __future__ import annotations

import io
import json
import os
import re
import subprocess
import sys
import tarfile
import zipfile
from importlib import metadata
from importlib.util import find_spec
from pathlib import Path

import pytest

from tests.deploy.conftest import make_model_dir
from visiongate.config import DEFAULT_FUNCTIONS
from visiongate.deploy.errors import PackageError
from visiongate.deploy.package import (
    build_lambda_zip,
    build_model_tarball,
    lambda_files,
    package_root,
)
from visiongate.deploy.template import REVIEW_HANDLER

HANDLER_MODULES = sorted(
    target.split(":")[0] for target in [*DEFAULT_FUNCTIONS.values(), REVIEW_HANDLER]
)


def expected_entries() -> set[str]:
    """What the handlers need, listed from the source tree independently of the packager."""
    root = package_root()
    names = {"visiongate/__init__.py", "visiongate/errors.py", "visiongate/config.py"}
    for folder in ("storage", "functions"):
        for path in (root / folder).rglob("*.py"):
            if "__pycache__" not in path.parts:
                names.add(f"visiongate/{path.relative_to(root).as_posix()}")
    return names


def test_zip_holds_exactly_the_handler_modules() -> None:
    artefact = build_lambda_zip()
    with zipfile.ZipFile(io.BytesIO(artefact.data)) as archive:
        names = set(archive.namelist())
    assert names == expected_entries()
    assert {
        f"visiongate/{m.split('.', 1)[1].replace('.', '/')}.py" for m in HANDLER_MODULES
    } <= names
    assert not any("__pycache__" in n or n.endswith(".pyc") or "tests/" in n for n in names)
    # Nothing the functions do not need: no CLI, no engine, no serving, no imaging.
    assert not any(
        n.startswith(("visiongate/cli/", "visiongate/sfn/", "visiongate/serving/")) for n in names
    )
    assert "visiongate/imaging.py" not in names


def test_zip_is_deterministic_and_readable_by_the_lambda_user() -> None:
    first, second = build_lambda_zip(), build_lambda_zip()
    assert first.data == second.data
    assert first.filename == f"visiongate-lambda-{first.sha256[:16]}.zip"
    with zipfile.ZipFile(io.BytesIO(first.data)) as archive:
        infos = archive.infolist()
    assert [i.filename for i in infos] == sorted(i.filename for i in infos)
    assert {i.date_time for i in infos} == {(1980, 1, 1, 0, 0, 0)}
    assert {(i.external_attr >> 16) & 0o777 for i in infos} == {0o644}


def _boto3_closure() -> list[Path]:
    """boto3 and the distributions it requires, as importable top-level paths."""
    seen: set[str] = set()
    todo = ["boto3"]
    paths: list[Path] = []
    while todo:
        name = todo.pop()
        if name.lower() in seen:
            continue
        seen.add(name.lower())
        dist = metadata.distribution(name)
        tops = (dist.read_text("top_level.txt") or "").split()
        if not tops:  # no top_level.txt: derive top-level names from the file list
            tops = sorted(
                {
                    f.parts[0].removesuffix(".py")
                    for f in dist.files or []
                    if "." not in f.parts[0] or f.parts[0].endswith(".py")
                }
            )
        for top in tops:
            spec = find_spec(top)
            if spec is None or spec.origin is None:
                continue
            origin = Path(spec.origin)
            paths.append(origin.parent if origin.name == "__init__.py" else origin)
        for requirement in dist.requires or []:
            if "extra ==" in requirement:
                continue
            todo.append(re.match(r"[A-Za-z0-9._-]+", requirement).group(0))
    return paths


def test_handlers_import_in_a_clean_environment_with_only_boto3(tmp_path: Path) -> None:
    """Unzip like Lambda does, then import each handler with no site-packages but boto3's."""
    task = tmp_path / "task"
    with zipfile.ZipFile(io.BytesIO(build_lambda_zip().data)) as archive:
        archive.extractall(task)
    deps = tmp_path / "deps"
    deps.mkdir()
    for path in _boto3_closure():
        os.symlink(path, deps / path.name)
    script = f"""
import importlib, json, sys
sys.path[:0] = [{str(task)!r}, {str(deps)!r}]
loaded = {{}}
for name in {HANDLER_MODULES!r}:
    module = importlib.import_module(name)
    assert callable(module.handler), name
    loaded[name] = module.__file__
outside = sorted(
    name for name, module in sys.modules.items()
    if getattr(module, "__file__", None)
    and "site-packages" in module.__file__
    and not module.__file__.startswith(({str(task)!r}, {str(deps)!r}))
)
print(json.dumps({{"loaded": loaded, "outside": outside, "visiongate": sys.modules["visiongate"].__file__}}))
"""
    # -I: ignore PYTHON* variables and the user site; -S: no site-packages at all.
    env = {"PATH": os.environ.get("PATH", ""), "AWS_DEFAULT_REGION": "us-east-1"}
    result = subprocess.run(
        [sys.executable, "-I", "-S", "-c", script],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["visiongate"].startswith(str(task))
    assert set(report["loaded"]) == set(HANDLER_MODULES)
    assert all(path.startswith(str(task)) for path in report["loaded"].values())
    assert report["outside"] == []


def test_lambda_files_refuse_an_incomplete_package(tmp_path: Path) -> None:
    root = tmp_path / "visiongate"
    (root / "storage").mkdir(parents=True)
    for name in ("__init__.py", "errors.py", "config.py", "storage/__init__.py"):
        (root / name).write_text("")
    with pytest.raises(PackageError, match="functions"):
        lambda_files(root)


def test_lambda_files_skip_caches_and_refuse_symlinks(tmp_path: Path) -> None:
    root = tmp_path / "visiongate"
    for folder in ("storage", "functions", "functions/__pycache__"):
        (root / folder).mkdir(parents=True)
    for name in ("__init__.py", "errors.py", "config.py", "storage/__init__.py", "functions/a.py"):
        (root / name).write_text("")
    (root / "functions/__pycache__/a.cpython-311.pyc").write_bytes(b"\0")
    (root / "functions/.hidden").write_text("")
    assert [name for name, _ in lambda_files(root)] == [
        "visiongate/__init__.py",
        "visiongate/config.py",
        "visiongate/errors.py",
        "visiongate/functions/a.py",
        "visiongate/storage/__init__.py",
    ]
    (root / "functions/escape.py").symlink_to("/etc/hostname")
    with pytest.raises(PackageError, match="symbolic link"):
        lambda_files(root)


def test_model_tarball_has_sagemaker_layout_and_is_deterministic(tmp_path: Path) -> None:
    """SageMaker unpacks model.tar.gz into /opt/ml/model: files sit at the archive root
    (https://docs.aws.amazon.com/sagemaker/latest/dg/your-algorithms-inference-code.html)."""
    model = make_model_dir(tmp_path / "model")
    (model / "curves").mkdir()
    (model / "curves" / "training.png").write_bytes(b"png")
    first, second = build_model_tarball(model), build_model_tarball(model)
    assert first.data == second.data and first.filename == f"model-{first.sha256[:16]}.tar.gz"
    with tarfile.open(fileobj=io.BytesIO(first.data), mode="r:gz") as archive:
        members = archive.getmembers()
        archive.extractall(tmp_path / "opt-ml-model", filter="data")
    assert [m.name for m in members] == [
        "baseline.json",
        "curves/training.png",
        "model.json",
        "model.onnx",
    ]
    assert {(m.mtime, m.uid, m.gid, m.mode) for m in members} == {(0, 0, 0, 0o644)}
    assert (tmp_path / "opt-ml-model" / "model.onnx").read_bytes() == (
        model / "model.onnx"
    ).read_bytes()


def test_model_tarball_needs_model_files(tmp_path: Path) -> None:
    with pytest.raises(PackageError, match="does not exist"):
        build_model_tarball(tmp_path / "nowhere")
    (tmp_path / "half").mkdir()
    (tmp_path / "half" / "model.json").write_text("{}")
    with pytest.raises(PackageError, match="model.onnx"):
        build_model_tarball(tmp_path / "half")


def test_model_tarball_refuses_symlinks(tmp_path: Path) -> None:
    model = make_model_dir(tmp_path / "model")
    (model / "secret").symlink_to("/etc/passwd")
    with pytest.raises(PackageError, match="symbolic link"):
        build_model_tarball(model)
