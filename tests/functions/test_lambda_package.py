"""The functions run from a Lambda-shaped package: only visiongate's __init__, errors, config,
storage/* and functions/*, plus the standard library and boto3. Nothing heavier is imported."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import visiongate

PACKAGE = Path(visiongate.__file__).parent
ALLOWED = ["__init__.py", "errors.py", "config.py", "storage", "functions"]

SCRIPT = r"""
import base64, json, sys
sys.path.insert(0, sys.argv[1])
import visiongate
assert visiongate.__file__.startswith(sys.argv[1]), visiongate.__file__
from visiongate.functions import classify, filter_confidence, serialize_image
from visiongate.storage import LocalStore

png = base64.b64decode(sys.argv[2])
LocalStore(sys.argv[3]).create_bucket("images")
LocalStore(sys.argv[3]).put("images", "cat.png", png)
out = serialize_image.handler({"s3_bucket": "images", "s3_key": "cat.png"}, None)
out = filter_confidence.handler({**out["body"], "inferences": [0.1, 0.9]}, None)
heavy = sorted(m for m in sys.modules if m.split(".")[0] in
               {"numpy", "PIL", "torch", "onnxruntime", "typer", "rich", "click"})
ours = sorted(m for m in sys.modules if m.startswith("visiongate"))
print(json.dumps({"heavy": heavy, "ours": ours, "status": out["statusCode"]}))
"""


def test_handlers_run_from_a_lambda_shaped_package(tmp_path: Path) -> None:
    from tests.storage.images import png

    target = tmp_path / "package" / "visiongate"
    target.mkdir(parents=True)
    for name in ALLOWED:
        source = PACKAGE / name
        if source.is_dir():
            shutil.copytree(source, target / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(source, target / name)
    import base64

    result = subprocess.run(
        [
            sys.executable,
            "-c",
            SCRIPT,
            str(tmp_path / "package"),
            base64.b64encode(png()).decode(),
            str(tmp_path / "store"),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        env={"PATH": "/usr/bin:/bin", "VISIONGATE_STORE_ROOT": str(tmp_path / "store")},
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["status"] == 200
    assert report["heavy"] == []
    assert "visiongate.imaging" not in report["ours"]
    allowed_prefixes = ("visiongate.storage", "visiongate.functions")
    assert all(
        m in {"visiongate", "visiongate.errors", "visiongate.config"}
        or m.startswith(allowed_prefixes)
        for m in report["ours"]
    ), report["ours"]
