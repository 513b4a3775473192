"""Run a script against only what the Lambda zip holds: visiongate's __init__, errors, config,
storage/* and functions/*, plus the standard library and boto3."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import visiongate

PACKAGE = Path(visiongate.__file__).parent
ALLOWED = ["__init__.py", "errors.py", "config.py", "storage", "functions"]


def run_in_lambda_package(tmp_path: Path, script: str, *args: str) -> subprocess.CompletedProcess:
    """Copy ALLOWED to ``tmp_path/package/visiongate`` and run ``script`` with that folder as
    ``sys.argv[1]`` (followed by ``args``), the store at ``tmp_path/store`` and a bare PATH."""
    target = tmp_path / "package" / "visiongate"
    target.mkdir(parents=True)
    for name in ALLOWED:
        source = PACKAGE / name
        if source.is_dir():
            shutil.copytree(source, target / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(source, target / name)
    return subprocess.run(
        [sys.executable, "-c", script, str(tmp_path / "package"), *args],
        capture_output=True,
        text=True,
        timeout=60,
        env={"PATH": "/usr/bin:/bin", "VISIONGATE_STORE_ROOT": str(tmp_path / "store")},
        cwd=tmp_path,
    )
