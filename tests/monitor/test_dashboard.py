"""The dashboard over real HTTP: pages show the data, escape it, and guard their actions."""

from __future__ import annotations

import http.client
import json
import re
from urllib.parse import urlencode, urlsplit

import pytest

from tests.monitor.conftest import EVIL_KEY
from visiongate.monitor.dashboard import (
    CallableActions,
    Dashboard,
    DashboardConfig,
    DashboardSecurityError,
)


class Client:
    """A tiny HTTP client that keeps cookies and never follows redirects."""

    def __init__(self, base: str) -> None:
        parts = urlsplit(base)
        self.host, self.port = parts.hostname, parts.port
        self.cookies: dict[str, str] = {}

    def request(self, method, path, body=None, headers=None):
        conn = http.client.HTTPConnection(self.host, self.port, timeout=10)
        sent = {"Host": f"127.0.0.1:{self.port}"}
        if self.cookies:
            sent["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        sent.update(headers or {})
        if isinstance(body, dict):
            body = urlencode(body)
            sent["Content-Type"] = "application/x-www-form-urlencoded"
        conn.request(method, path, body=body, headers=sent)
        response = conn.getresponse()
        text = response.read().decode("utf-8")
        for name, value in response.getheaders():
            if name.lower() == "set-cookie":
                key, _, rest = value.partition("=")
                self.cookies[key] = rest.split(";", 1)[0]
        conn.close()
        return response.status, dict(response.getheaders()), text

    def get(self, path, **kw):
        return self.request("GET", path, **kw)

    def post(self, path, form, **kw):
        return self.request("POST", path, body=form, **kw)


@pytest.fixture
def stops():
    return []


@pytest.fixture
def dashboard(seeded, stops, model_and_captures):
    settings, arns = seeded
    model, captures = model_and_captures
    actions = CallableActions(
        lambda arn: stops.append(("stop", arn)), lambda arn: stops.append(("redrive", arn))
    )
    server = Dashboard(
        DashboardConfig(settings, model_dir=model, captures=str(captures)), port=0, actions=actions
    )
    server.start()
    yield Client(server.url), arns
    server.stop()


def execution_path(arn: str) -> str:
    return "/execution?" + urlencode({"arn": arn})


def test_executions_list_shows_status_key_prediction_and_confidence(dashboard):
    client, _ = dashboard
    status, headers, body = client.get("/executions")
    assert status == 200
    assert "run-ok" in body and "run-failed" in body and "run-running" in body
    assert "bikes/bike-1.png" in body
    assert re.search(r"bicycle</td><td>0\.900", body)  # class names from model.json
    assert 'class="badge failed"' in body and 'class="badge running"' in body
    assert "4 executions" in body
    assert headers["Content-Security-Policy"].startswith("default-src 'none'")


def test_executions_filter_by_status_and_search_by_key(dashboard):
    client, _ = dashboard
    body = client.get("/executions?status=FAILED")[2]
    assert "run-failed" in body and "run-ok" not in body
    body = client.get("/executions?q=blurry")[2]
    assert "run-failed" in body and "run-ok" not in body
    assert "1 executions" in body


def test_executions_paginate(seeded):
    from tests.monitor.conftest import seed_execution
    from visiongate.sfn.store import Store

    settings, _ = seeded
    store = Store(settings.database)
    for i in range(30):
        seed_execution(store, f"bulk-{i:02d}", f"bulk/{i}.png", "succeeded", 1_000_000 + i)
    store.close()
    server = Dashboard(DashboardConfig(settings), port=0)
    server.start()
    try:
        client = Client(server.url)
        first = client.get("/executions")[2]
        assert "page 1 of 2 · 34 executions" in first
        assert 'rel="next"' in first
        second = client.get("/executions?page=2")[2]
        assert "bulk-00" in second and "run-ok" not in second
    finally:
        server.stop()


def test_user_controlled_text_is_escaped_everywhere(dashboard):
    client, arns = dashboard
    for path in (
        "/executions",
        execution_path(arns["evil"]),
        "/executions/live",
        "/executions?q=" + EVIL_KEY,
    ):
        body = client.get(path)[2]
        assert "<script>alert" not in body
    assert (
        "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&amp;.png" in client.get("/executions")[2]
    )
    # Function log messages are user-controlled too.
    detail = client.get(execution_path(arns["failed"]))[2]
    assert "gate failed for &lt;b&gt;blurry&lt;/b&gt;" in detail


def test_execution_detail_has_graph_steps_history_and_logs(dashboard):
    client, arns = dashboard
    status, _, body = client.get(execution_path(arns["failed"]))
    assert status == 200
    assert '<g class="node succeeded" data-state="Retrieve data">' in body
    assert '<g class="node succeeded" data-state="Inference">' in body
    assert '<g class="node failed" data-state="Valid confidence">' in body
    assert 'class="edge next taken"' in body
    assert "THRESHOLD_CONFIDENCE_NOT_MET" in body
    assert "TaskFailed" in body and "ExecutionFailed" in body
    assert "Function logs" in body and "filter_confidence" in body
    assert "bicycle (0.600)" in body  # the gate's input, read from the history
    assert "characters)" in body  # the long base64 image was shortened for display
    assert 'action="/execution/redrive"' in body and 'action="/execution/stop"' not in body


def test_a_running_execution_offers_stop_and_refreshes_live(dashboard):
    client, arns = dashboard
    body = client.get(execution_path(arns["running"]))[2]
    assert 'action="/execution/stop"' in body
    assert 'data-refresh="/execution/live?arn=' in body
    assert '<g class="node running" data-state="Inference">' in body
    fragment = client.get("/execution/live?" + urlencode({"arn": arns["running"]}))[2]
    assert fragment.startswith('<div class="detail">')


def test_stop_requires_the_pages_csrf_token(dashboard, stops):
    client, arns = dashboard
    page = client.get(execution_path(arns["running"]))[2]
    token = re.search(r'name="csrf" value="([0-9a-f]+)"', page).group(1)
    status, _, body = client.post("/execution/stop", {"arn": arns["running"], "csrf": "0" * 64})
    assert status == 403 and stops == []
    status, _, _ = client.post("/execution/stop", {"arn": arns["running"]})
    assert status == 403 and stops == []
    status, headers, _ = client.post(
        "/execution/stop",
        {"arn": arns["running"], "csrf": token},
        headers={"Origin": "http://evil.example"},
    )
    assert status == 403 and stops == []
    status, headers, _ = client.post("/execution/stop", {"arn": arns["running"], "csrf": token})
    assert status == 303
    assert stops == [("stop", arns["running"])]
    assert headers["Location"].startswith("/execution?arn=")
    assert "Stop+requested" in headers["Location"]


def test_another_sessions_token_does_not_work(dashboard, stops):
    client, arns = dashboard
    page = client.get(execution_path(arns["failed"]))[2]
    token = re.search(r'name="csrf" value="([0-9a-f]+)"', page).group(1)
    other = Client(f"http://127.0.0.1:{client.port}")
    other.get("/executions")
    assert other.post("/execution/redrive", {"arn": arns["failed"], "csrf": token})[0] == 403
    assert client.post("/execution/redrive", {"arn": arns["failed"], "csrf": token})[0] == 303
    assert stops == [("redrive", arns["failed"])]


def test_actions_are_post_only(dashboard, stops):
    client, arns = dashboard
    status, _, _ = client.get("/execution/stop?" + urlencode({"arn": arns["running"]}))
    assert status == 404 and stops == []


def test_foreign_host_headers_are_refused_dns_rebinding(dashboard):
    client, _ = dashboard
    status, _, body = client.get("/executions", headers={"Host": "attacker.example:8000"})
    assert status == 400 and "localhost" in body


def test_errors_have_one_shape_and_no_traceback(dashboard):
    client, _ = dashboard
    status, _, body = client.get("/no-such-page")
    assert status == 404 and "Traceback" not in body
    status, headers, body = client.get("/api/executions?status=NOPE")
    assert status == 400
    assert json.loads(body) == {
        "error": {"code": "ValidationException", "message": "unknown status 'NOPE'"}
    }
    status, _, body = client.get("/execution?arn=arn:aws:states:us-east-1:1:execution:x:nope")
    assert status == 404


def test_api_lists_executions_as_json(dashboard):
    client, _ = dashboard
    data = json.loads(client.get("/api/executions?status=SUCCEEDED")[2])
    assert data["total"] == 2
    assert {e["name"] for e in data["executions"]} == {"run-ok", "run-evil"}


def test_confidence_page_reads_the_capture_source(dashboard):
    client, _ = dashboard
    status, _, body = client.get("/confidence")
    assert status == 200
    assert "Top confidence over time" in body and "threshold 0.75" in body
    assert 'class="threshold"' in body
    assert re.search(r'id="share-failing">\d+\.\d%', body)


def test_drift_page_shows_each_test_with_its_status(dashboard):
    client, _ = dashboard
    body = client.get("/drift")[2]
    assert "two-sample Kolmogorov-Smirnov" in body and "chi-square goodness of fit" in body
    assert 'Overall: <span class="badge drift">DRIFT</span>' in body  # the captures are brighter


def test_cost_page_uses_measured_figures_and_shows_prices_and_date(dashboard):
    client, _ = dashboard
    body = client.get("/cost?since=all")[2]
    assert "Measured over all time: 4 executions" in body
    assert "us-east-1" in body and "2026-11-22" in body
    assert "https://aws.amazon.com/step-functions/pricing/" in body
    body = client.get(
        "/cost?since=all&images=1000&transitions=3&lambda_ms=100&memory_mb=128"
        "&execution_ms=500&endpoint_hours=730"
    )[2]
    assert 'id="total-standard">$84.0262' in body


def test_endpoint_page_charts_the_servers_metrics(seeded):
    import sqlite3
    import time

    from visiongate.serving.metrics_history import SCHEMA

    settings, _ = seeded
    conn = sqlite3.connect(settings.database)
    conn.execute(SCHEMA)
    minute = int(time.time()) // 60 * 60
    for i in range(5):
        ts = minute - 60 * (4 - i)
        conn.execute(
            "INSERT INTO endpoint_metrics VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
            (
                "visiongate",
                "AllTraffic",
                ts,
                "m",
                100 + i,
                2,
                1,
                0,
                4000.0,
                8000.0,
                15000.0,
                3000.0,
                9000.0,
                20,
                5.0 + i,
                "now",
            ),
        )
    conn.commit()
    conn.close()
    server = Dashboard(DashboardConfig(settings), port=0)
    server.start()
    try:
        body = Client(server.url).get("/endpoint")[2]
    finally:
        server.stop()
    assert "visiongate/AllTraffic" in body
    assert "<dt>Invocations</dt><dd>510</dd>" in body
    assert "<dt>4xx</dt><dd>10</dd>" in body
    assert "Latency (ms)" in body and "<polyline" in body


def test_pages_work_before_anything_ran(tmp_path):
    from visiongate.config import load_settings

    server = Dashboard(DashboardConfig(load_settings()), port=0)
    server.start()
    try:
        client = Client(server.url)
        for path in ("/executions", "/endpoint", "/confidence", "/drift", "/cost"):
            status, _, body = client.get(path)
            assert status == 200, path
    finally:
        server.stop()


# --- binding and tokens ---------------------------------------------------------------------


def test_binding_beyond_loopback_requires_a_token(seeded):
    settings, _ = seeded
    with pytest.raises(DashboardSecurityError, match="needs a token"):
        Dashboard(DashboardConfig(settings), host="0.0.0.0", port=0)


def test_token_via_query_sets_a_cookie_and_bearer_works(seeded):
    settings, _ = seeded
    server = Dashboard(DashboardConfig(settings), host="127.0.0.1", port=0, token="s3cret")
    server.start()
    try:
        client = Client(server.url)
        assert client.get("/executions")[0] == 401
        assert client.get("/executions?token=wrong")[0] == 401
        status, headers, _ = client.get("/executions?token=s3cret&status=FAILED")
        assert status == 303 and headers["Location"] == "/executions?status=FAILED"
        assert "HttpOnly" in headers["Set-Cookie"] and "SameSite=Strict" in headers["Set-Cookie"]
        assert client.get("/executions")[0] == 200  # the cookie now carries the token
        fresh = Client(server.url)
        assert fresh.get("/executions", headers={"Authorization": "Bearer s3cret"})[0] == 200
        assert fresh.get("/healthz")[0] == 200
    finally:
        server.stop()
