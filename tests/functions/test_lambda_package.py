"""The functions run from a Lambda-shaped package: only visiongate's __init__, errors, config,
storage/* and functions/*, plus the standard library and boto3. Nothing heavier is imported."""

from __future__ import annotations

import json
from pathlib import Path

from tests.functions.lambda_shape import run_in_lambda_package

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
    import base64

    from tests.storage.images import png

    result = run_in_lambda_package(
        tmp_path, SCRIPT, base64.b64encode(png()).decode(), str(tmp_path / "store")
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
