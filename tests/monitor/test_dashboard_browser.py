"""The dashboard in a real browser: Debian's headless Chromium driven by Playwright.

Never downloads a browser (no ``playwright install``): the tests skip, saying why, when
/usr/bin/chromium is absent. Screenshots go to test-artifacts/dashboard/.
"""

from __future__ import annotations

import pytest

from tests.monitor.browser_support import ARTIFACTS, BROWSER_MARKS, launch_chromium, open_tab
from tests.monitor.conftest import (
    seed_execution,
)
from visiongate.monitor.dashboard import CallableActions, Dashboard, DashboardConfig

pytestmark = BROWSER_MARKS


@pytest.fixture(scope="module")
def browser():
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as playwright:
        chromium = launch_chromium(playwright)
        yield chromium
        chromium.close()


@pytest.fixture
def site(seeded, model_and_captures):
    """A dashboard over the seeded database whose Stop really aborts the execution."""
    from visiongate.sfn.store import Store

    settings, arns = seeded
    model, captures = model_and_captures
    store = Store(settings.database)

    def stop(arn: str) -> None:
        store.update_execution(
            arn, status="ABORTED", stop_date=store.get_execution(arn)["start_date"] + 1
        )

    server = Dashboard(
        DashboardConfig(settings, model_dir=model, captures=str(captures)),
        port=0,
        actions=CallableActions(stop, lambda arn: None),
    )
    server.start()
    yield server.url, arns, store
    server.stop()
    store.close()


@pytest.fixture
def page(browser):
    with open_tab(browser) as tab:
        yield tab


def shot(page, name: str) -> None:
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def test_click_through_an_execution_and_see_its_graph(site, page):
    url, arns, _ = site
    page.goto(f"{url}/executions")
    assert page.locator("tbody#executions tr").count() == 4
    assert page.locator("text=bikes/bike-1.png").is_visible()
    shot(page, "executions")

    page.select_option("select#status", "FAILED")
    page.click("button:has-text('Filter')")
    page.wait_for_url("**/executions?status=FAILED**")
    assert page.locator("tbody#executions tr").count() == 1

    page.click("text=run-failed")
    page.wait_for_selector("svg.graph")
    assert page.locator('g.node.failed[data-state="Valid confidence"]').count() == 1
    assert page.locator('g.node.succeeded[data-state="Inference"]').count() == 1
    assert page.locator("path.edge.taken").count() == 3  # Start→Retrieve→Inference→Valid
    page.click("details.step.failed summary")
    assert page.locator("details.step.failed pre").first.is_visible()
    assert page.locator("text=THRESHOLD_CONFIDENCE_NOT_MET").first.is_visible()
    assert page.locator("text=gate failed for <b>blurry</b>").is_visible()  # shown, not parsed
    shot(page, "execution-failed")
    assert page.problems == []


def test_hostile_keys_are_shown_as_text(site, page):
    url, arns, _ = site
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    page.goto(f"{url}/executions")
    assert page.locator('text=<script>alert("x")</script>&.png').is_visible()
    assert dialogs == []


def test_the_list_updates_live_while_executions_run(site, page):
    url, _, store = site
    page.goto(f"{url}/executions")
    assert page.locator("text=late-arrival").count() == 0
    seed_execution(store, "late-arrival", "bikes/late.png", "succeeded", 4_000_000_000)
    page.wait_for_selector("text=late-arrival", timeout=10_000)  # polled, no reload
    assert "5 executions" in page.inner_text("nav.pages")


def test_stop_a_running_execution_from_its_page(site, page):
    url, arns, store = site
    page.goto(f"{url}/executions")
    page.click("text=run-running")
    page.wait_for_selector("svg.graph")
    assert page.locator('g.node.running[data-state="Inference"]').count() == 1
    page.click("button:has-text('Stop')")
    page.wait_for_selector("text=Stop requested.")
    assert store.get_execution(arns["running"])["status"] == "ABORTED"
    assert page.locator(".facts .badge.aborted").is_visible()
    shot(page, "execution-stopped")
    assert page.problems == []


@pytest.mark.parametrize("path", ["/endpoint", "/confidence", "/drift", "/cost"])
def test_each_monitoring_page_renders_without_errors(site, page, path):
    url, _, _ = site
    page.goto(url + path)
    assert page.locator("h1").inner_text() == path.strip("/").capitalize()
    if path == "/confidence":
        assert page.locator("figure.chart svg").count() >= 1
    if path == "/drift":
        assert page.locator(".overall .badge.drift").is_visible()
    if path == "/cost":
        page.fill("input[name=images]", "100000")
        page.click("button:has-text('Estimate')")
        page.wait_for_url("**images=100000**")
        assert page.locator("#total-express").is_visible()
    shot(page, path.strip("/"))
    assert page.problems == []
