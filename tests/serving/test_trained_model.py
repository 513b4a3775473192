"""Serving a model trained by the real pipeline (tests/fixtures_model.py), not only the fixture
graph: the contract between training and serving (team/MODEL_DIR.md) holds end to end."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from tests.serving.conftest import config_for, running_server

pytest.importorskip("torch")
pytestmark = pytest.mark.slow  # trains a tiny model first (a few seconds of CPU)


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from tests.fixtures_model import make_tiny_model_dir

    return make_tiny_model_dir(tmp_path_factory)


def test_a_trained_model_serves_its_classes_through_boto3(trained: Path) -> None:
    from tests.fixtures_model import png, synthetic_image

    rng = np.random.default_rng(5)
    red, blue = png(synthetic_image(0, rng)), png(synthetic_image(1, rng))
    meta = json.loads((trained / "model.json").read_text())
    with running_server(config_for(trained)) as s:
        runtime = s.runtime()
        answers = [
            json.loads(
                runtime.invoke_endpoint(
                    EndpointName="visiongate",
                    Body=body,
                    ContentType="image/png",
                    Accept="application/json;verbose",
                )["Body"].read()
            )
            for body in (red, blue)
        ]
        plain = s.invoke(red).json()
    assert [a["labels"] for a in answers] == [meta["classes"]] * 2
    assert [a["predicted_label"] for a in answers] == ["red", "blue"]
    assert plain == answers[0]["probabilities"]
    assert abs(sum(plain) - 1) < 1e-5
