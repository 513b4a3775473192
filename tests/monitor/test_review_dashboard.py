"""The dashboard's Review page over real HTTP: pending images with thumbnails and probabilities,
labelled through a CSRF-protected POST form, after which the execution succeeds."""

from __future__ import annotations

import http.client
import io
import re
from urllib.parse import urlencode, urlsplit

import pytest
from PIL import Image

from tests.monitor import review_support
from tests.monitor.conftest import write_model_dir
from tests.monitor.review_support import CLASSES, ReviewRun, photo
from tests.monitor.test_dashboard import Client
from visiongate.monitor.dashboard import Dashboard, DashboardConfig

review_run = review_support.review_run  # fixtures
unsure_endpoint = review_support.unsure_endpoint

HOSTILE = 'bikes/<img src=x onerror="alert(1)">.png'


@pytest.fixture
def site(review_run: ReviewRun, tmp_path):
    """A dashboard whose review queue is built from its configuration (as `visiongate
    dashboard` does): class names from the model directory, tokens through an engine."""
    model = write_model_dir(tmp_path / "model", baseline={}, classes=CLASSES)
    server = Dashboard(DashboardConfig(review_run.settings, model_dir=model), port=0)
    server.start()
    yield server.url, Client(server.url)
    server.stop()


def raw_get(base: str, path: str) -> tuple[int, str, bytes]:
    parts = urlsplit(base)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
    conn.request("GET", path, headers={"Host": f"127.0.0.1:{parts.port}"})
    response = conn.getresponse()
    body = response.read()
    conn.close()
    return response.status, response.getheader("Content-Type") or "", body


def form_token(page: str) -> str:
    return re.search(r'name="csrf" value="([0-9a-f]+)"', page).group(1)


def test_label_an_image_and_its_execution_succeeds(review_run: ReviewRun, site) -> None:
    base, client = site
    review_run.put(HOSTILE, photo(11))
    arn, review = review_run.start(HOSTILE, "hostile")

    status, _, page = client.get("/review")
    assert status == 200
    assert f'data-review="{review.review_id}"' in page
    assert f'src="/review/thumbnail?id={review.review_id}"' in page
    assert "1 image wait for a label" in page
    # Probabilities per class, the top one marked; the hostile key shown as text only.
    assert re.search(r'<tr class="top"><th scope="row">bicycle</th><td class="num">0\.550', page)
    assert '<th scope="row">motorcycle</th><td class="num">0.450' in page
    assert "<img src=x" not in page and "&lt;img src=x onerror=&quot;alert(1)&quot;&gt;" in page
    assert page.count('type="radio" name="label"') == 2

    form = {"id": review.review_id, "label": "motorcycle", "reviewer": "<b>ana</b>"}
    assert client.post("/review/complete", {**form, "csrf": "0" * 64})[0] == 403
    assert client.post("/review/complete", form)[0] == 403
    status, headers, _ = client.post("/review/complete", {**form, "csrf": form_token(page)})
    assert status == 303 and headers["Location"].startswith("/review?flash=Labelled")

    assert review_run.finish(arn).status == "SUCCEEDED"
    after = client.get(headers["Location"])[2]
    assert "its execution succeeds" in after and "Nothing to review" in after
    assert '<span class="badge labelled">labelled</span>' in after
    assert "&lt;b&gt;ana&lt;/b&gt;" in after and "<b>ana</b>" not in after
    listing = client.get("/executions")[2]
    assert "motorcycle (reviewed)" in listing
    # The execution's page: the gate's failure was caught, the review path taken.
    detail = client.get("/execution?" + urlencode({"arn": arn}))[2]
    assert '<g class="node caught" data-state="Valid confidence">' in detail
    assert '<g class="node succeeded" data-state="Human review">' in detail
    assert re.search(r'<details class="step caught"><summary><strong>Valid confidence', detail)


def test_a_wrong_label_or_a_foreign_origin_changes_nothing(review_run: ReviewRun, site) -> None:
    _, client = site
    review_run.put("bikes/a.png", photo(12))
    arn, review = review_run.start("bikes/a.png", "wrong")
    token = form_token(client.get("/review")[2])
    form = {"id": review.review_id, "label": "cat", "csrf": token}
    status, headers, _ = client.post("/review/complete", form)
    assert status == 303 and "Failed" in headers["Location"]
    page = client.get(headers["Location"])[2]
    assert '<p class="notice error">Failed: label' in page
    assert f'data-review="{review.review_id}"' in page  # still pending

    foreign = {"Origin": "http://evil.example"}
    form["label"] = "bicycle"
    assert client.post("/review/complete", form, headers=foreign)[0] == 403
    assert review_run.engine.describe_execution(arn).status == "RUNNING"


def test_thumbnails_are_png_and_unknown_ids_are_404(review_run: ReviewRun, site) -> None:
    base, _ = site
    review_run.put("bikes/b.png", photo(13))
    _, review = review_run.start("bikes/b.png", "thumb")
    status, content_type, body = raw_get(base, f"/review/thumbnail?id={review.review_id}")
    assert (status, content_type) == (200, "image/png")
    assert Image.open(io.BytesIO(body)).size == (160, 160)
    for bad in ("nope", "../../etc/passwd", ""):
        status, content_type, body = raw_get(base, "/review/thumbnail?" + urlencode({"id": bad}))
        assert status == 404 and content_type.startswith("text/html")
        assert b"Traceback" not in body


def test_the_page_works_before_anything_was_reviewed(tmp_path) -> None:
    from visiongate.config import load_settings

    server = Dashboard(DashboardConfig(load_settings()), port=0)
    server.start()
    try:
        status, _, page = Client(server.url).get("/review")
        assert status == 200 and "Nothing to review" in page
        assert '<a href="/review" class="active">Review</a>' in page
    finally:
        server.stop()
