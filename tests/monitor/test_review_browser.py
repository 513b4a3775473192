"""Label an image in the review queue in a real browser, then see its execution succeed.

Debian's headless Chromium driven by Playwright (never a downloaded browser); skipped, saying
why, when /usr/bin/chromium is absent. Screenshots go to test-artifacts/dashboard/.
"""

from __future__ import annotations

import pytest

from tests.monitor import review_support
from tests.monitor.browser_support import ARTIFACTS, BROWSER_MARKS, launch_chromium, open_tab
from tests.monitor.conftest import write_model_dir
from tests.monitor.review_support import CLASSES, ReviewRun, photo
from visiongate.monitor.dashboard import Dashboard, DashboardConfig

review_run = review_support.review_run  # fixtures
unsure_endpoint = review_support.unsure_endpoint

pytestmark = BROWSER_MARKS


@pytest.fixture
def page():
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        with open_tab(browser) as tab:
            yield tab
        browser.close()


def test_label_an_image_in_the_review_queue_and_see_its_execution_succeed(
    review_run: ReviewRun, page, tmp_path
) -> None:
    run = review_run
    run.put("bikes/blurry.png", photo(21))
    run.put("bikes/dark.png", photo(22, width=48, height=32))
    arn, review = run.start("bikes/blurry.png", "blurry")
    other, _ = run.start("bikes/dark.png", "dark")
    model = write_model_dir(tmp_path / "model", baseline={}, classes=CLASSES)
    server = Dashboard(DashboardConfig(run.settings, model_dir=model), port=0)
    url = server.start()
    try:
        page.goto(f"{url}/executions")
        page.click("nav >> text=Review")
        page.wait_for_url("**/review")
        cards = page.locator("article.review")
        assert cards.count() == 2
        card = page.locator(f'article.review[data-review="{review.review_id}"]')
        assert card.locator("text=s3://images/bikes/blurry.png").is_visible()
        assert card.locator("img.thumb").evaluate("img => img.complete && img.naturalWidth") == 160
        assert card.locator("tr.top th").inner_text() == "bicycle"
        assert card.locator("meter").count() == 2
        page.screenshot(path=str(ARTIFACTS / "review-queue.png"), full_page=True)

        # Submitting without a choice is stopped by the browser (the radios are required).
        card.locator("button:has-text('Save label')").click()
        assert page.url.endswith("/review") and cards.count() == 2

        card.locator("label.choice:has-text('motorcycle') input").check()
        card.locator("input[name=reviewer]").fill("ana")
        card.locator("button:has-text('Save label')").click()
        page.wait_for_selector("text=its execution succeeds")
        assert run.finish(arn).status == "SUCCEEDED"
        assert page.locator("article.review").count() == 1
        assert page.locator("td:has-text('ana')").is_visible()
        page.screenshot(path=str(ARTIFACTS / "review-labelled.png"), full_page=True)

        page.goto(f"{url}/executions")
        page.click("text=blurry")
        page.wait_for_selector("svg.graph")
        assert page.locator(".facts .badge.succeeded").is_visible()
        assert page.locator('g.node.succeeded[data-state="Human review"]').count() == 1
        assert page.locator('g.node.caught[data-state="Valid confidence"]').count() == 1
        assert page.locator("text=motorcycle (reviewed)").first.is_visible()
        page.screenshot(path=str(ARTIFACTS / "review-execution.png"), full_page=True)
        assert page.problems == []
    finally:
        server.stop()
    assert run.engine.describe_execution(other).status == "RUNNING"
