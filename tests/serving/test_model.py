"""Loading a model directory (team/MODEL_DIR.md) and predicting without torch."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import onnxruntime as ort
import pytest

from tests.serving.tiny_model import write_model_dir
from visiongate.serving.errors import ModelError, ModelLoadError
from visiongate.serving.model import available_cores, load_model_dir, session_options

REPO = Path(__file__).resolve().parents[2]


def test_load_and_predict(model_dir: Path) -> None:
    model = load_model_dir(model_dir)
    assert model.classes == ["bicycle", "motorcycle"]
    assert (model.prep.height, model.prep.width, model.prep.channels) == (32, 32, 3)
    assert model.name == "tiny"
    batch = np.random.default_rng(0).normal(size=(5, 3, 32, 32)).astype(np.float32)
    probs, embedding = model.predict(batch)
    assert probs.shape == (5, 2) and embedding.shape == (5, 8)
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, rtol=1e-5)
    single, _ = model.predict(batch[2:3])
    np.testing.assert_allclose(single[0], probs[2], atol=1e-6)


def test_session_is_tuned_for_the_machine() -> None:
    options = session_options()
    assert options.graph_optimization_level == ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    assert options.intra_op_num_threads == available_cores()
    assert session_options(1).intra_op_num_threads == 1


def test_wrong_batch_shape_is_a_model_error(model_dir: Path) -> None:
    with pytest.raises(ModelError, match=r"batch has shape \(1, 3, 16, 16\)"):
        load_model_dir(model_dir).predict(np.zeros((1, 3, 16, 16), np.float32))


def _copy(model_dir: Path, tmp_path: Path) -> Path:
    return Path(shutil.copytree(model_dir, tmp_path / "copy"))


def _edit_meta(path: Path, **changes) -> None:
    meta = json.loads((path / "model.json").read_text())
    meta.update(changes)
    (path / "model.json").write_text(json.dumps(meta))


@pytest.mark.parametrize(
    ("breakage", "message"),
    [
        (lambda p: shutil.rmtree(p), "does not exist"),
        (lambda p: (p / "model.onnx").unlink(), "model.onnx is missing"),
        (lambda p: (p / "model.json").unlink(), "model.json is missing"),
        (lambda p: (p / "model.json").write_text("{not json"), "is not readable JSON"),
        (lambda p: (p / "model.onnx").write_bytes(b"junk"), "cannot be loaded by onnxruntime"),
        (lambda p: _edit_meta(p, classes=[]), '"classes" must be a non-empty list'),
        (lambda p: _edit_meta(p, format_version=2), "format_version 2 is not supported"),
        (
            lambda p: _edit_meta(p, input={"height": 32}),
            '"input" is not a valid preprocessing block',
        ),
        (lambda p: _edit_meta(p, classes=["a", "b", "c"]), "has 2 columns for 3 classes"),
        (
            lambda p: _edit_meta(
                p, input={"height": 64, "width": 64, "mean": [0, 0, 0], "std": [1, 1, 1]}
            ),
            "does not match model.json",
        ),
        (
            lambda p: _edit_meta(p, outputs={"probabilities": "probs"}),
            'the graph has no output "probs"',
        ),
    ],
)
def test_broken_model_directories_say_what_is_wrong(
    model_dir: Path, tmp_path: Path, breakage, message: str
) -> None:
    path = _copy(model_dir, tmp_path)
    breakage(path)
    with pytest.raises(ModelLoadError) as caught:
        load_model_dir(path)
    assert message in caught.value.message


def test_embedding_output_is_optional(model_dir: Path, tmp_path: Path) -> None:
    path = _copy(model_dir, tmp_path)
    _edit_meta(path, outputs={"probabilities": "probabilities", "embedding": "absent"})
    probs, embedding = load_model_dir(path).predict(np.zeros((2, 3, 32, 32), np.float32))
    assert probs.shape == (2, 2) and embedding is None


def test_the_serving_path_never_imports_torch(tmp_path: Path) -> None:
    """Serve real requests in a fresh interpreter, then check sys.modules."""
    model = write_model_dir(tmp_path / "m")
    script = f"""
import sys, io, json, http.client, asyncio, threading
import numpy as np
from PIL import Image
from visiongate.serving.server import ModelServer, ServerConfig
loop = asyncio.new_event_loop()
threading.Thread(target=loop.run_forever, daemon=True).start()
server = ModelServer(ServerConfig(model_dir={str(model)!r}, port=0))
asyncio.run_coroutine_threadsafe(server.start(), loop).result(30)
asyncio.run_coroutine_threadsafe(server.ready(), loop).result(30)
buf = io.BytesIO(); Image.new("RGB", (40, 30), (10, 200, 30)).save(buf, "PNG")
conn = http.client.HTTPConnection("127.0.0.1", server.port)
conn.request("POST", "/invocations", buf.getvalue(), {{"Content-Type": "image/png"}})
assert conn.getresponse().status == 200
asyncio.run_coroutine_threadsafe(server.stop(), loop).result(30)
print(json.dumps(sorted(m for m in sys.modules if m == "torch" or m.startswith("torch."))))
"""
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, cwd=REPO
    )
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout.strip().splitlines()[-1]) == []
