"""The dashboard on a real run: the engine executes the real workflow definition with the real
serialize_image and filter_confidence functions (the endpoint call is replaced by a handler
that returns fixed probabilities per key), function logs reach SQLite through the engine's
hook, and Redrive from the page re-runs the failed gate after the threshold is lowered.
"""

from __future__ import annotations

import re
from urllib.parse import urlencode

import numpy as np
import pytest

from tests.monitor.conftest import png_bytes
from tests.monitor.test_dashboard import Client
from visiongate.config import load_settings
from visiongate.monitor.dashboard import Dashboard, DashboardConfig
from visiongate.monitor.dashboard.actions import EngineActions
from visiongate.monitor.logs import subscribe
from visiongate.storage import open_store

PROBABILITIES = {"bikes/sharp.png": [0.95, 0.05], "bikes/blurry.png": [0.6, 0.4]}


def classify(event, context):
    """Stands in for the endpoint call: the same response shape as visiongate.functions.classify."""
    from visiongate.functions.events import respond, unwrap_event

    body = unwrap_event(event)
    return respond(
        {**body, "inferences": PROBABILITIES[body["s3_key"]], "labels": ["bicycle", "motorcycle"]}
    )


@pytest.fixture
def engine_run():
    from visiongate.sfn.engine import Engine

    settings = load_settings()
    store = open_store(settings)
    store.create_bucket("images")
    for key in PROBABILITIES:
        store.put("images", key, png_bytes(np.full((32, 32, 3), 120)), "image/png")
    engine = Engine(settings, fast_time=True, functions={"classify": classify})
    subscribe(engine)
    definition = engine.resolve_definition(settings.definition.read_text())
    results = {
        key: engine.run(
            definition,
            {"s3_bucket": "images", "s3_key": key},
            name=key.split("/")[1].split(".")[0],
            state_machine_name="image-classification",
        )
        for key in PROBABILITIES
    }
    engine.close()
    return settings, results


def test_real_executions_show_up_with_their_graph_and_logs(engine_run, monkeypatch):
    settings, results = engine_run
    sharp, blurry = results["bikes/sharp.png"], results["bikes/blurry.png"]
    assert (sharp.status, blurry.status) == ("SUCCEEDED", "FAILED")
    assert blurry.error == "THRESHOLD_CONFIDENCE_NOT_MET"

    actions = EngineActions(settings)
    server = Dashboard(DashboardConfig(settings), port=0, actions=actions)
    server.start()
    try:
        client = Client(server.url)
        listing = client.get("/executions")[2]
        assert re.search(r"bikes/sharp\.png</span></td><td>bicycle</td><td>0\.950", listing)
        assert re.search(r"bikes/blurry\.png</span></td><td>bicycle</td><td>0\.600", listing)

        page = client.get("/execution?" + urlencode({"arn": blurry.execution.arn}))[2]
        assert '<g class="node succeeded" data-state="Retrieve data">' in page
        assert '<g class="node failed" data-state="Valid confidence">' in page
        # The functions' own structured logs, tagged with the state by the engine's hook.
        assert re.search(
            r"filter_confidence</td><td>Valid confidence</td><td>"
            r'<span class="message">failed: THRESHOLD_CONFIDENCE_NOT_MET',
            page,
        )
        assert "serialize_image" in page

        # Lower the threshold, then redrive from the page: the gate now passes.
        monkeypatch.setenv("VISIONGATE_THRESHOLD", "0.5")
        csrf = re.search(r'name="csrf" value="([0-9a-f]+)"', page).group(1)
        status, headers, _ = client.post(
            "/execution/redrive", {"arn": blurry.execution.arn, "csrf": csrf}
        )
        assert status == 303 and "Redrive+started" in headers["Location"]
        execution = actions.engine().wait(blurry.execution.arn, timeout=30)
        assert execution.status == "SUCCEEDED"
        after = client.get("/execution?" + urlencode({"arn": blurry.execution.arn}))[2]
        assert '<g class="node succeeded" data-state="Valid confidence">' in after
        assert "<dt>Redrives</dt><dd>1</dd>" in after
    finally:
        server.stop()
