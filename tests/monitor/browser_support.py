"""Debian's headless Chromium driven by Playwright, for the dashboard's browser tests.

Never downloads a browser (no ``playwright install``): tests marked with ``BROWSER_MARKS``
skip, saying why, when /usr/bin/chromium is absent. Screenshots go to ARTIFACTS.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import REPO

CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = REPO / "test-artifacts" / "dashboard"

BROWSER_MARKS = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not Path(CHROMIUM).exists() or shutil.which(CHROMIUM) is None,
        reason="needs Debian's chromium at /usr/bin/chromium (apt-get install chromium)",
    ),
]


def launch_chromium(playwright: Any) -> Any:
    return playwright.chromium.launch(
        executable_path=CHROMIUM,
        args=["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
    )


@contextmanager
def open_tab(browser: Any) -> Iterator[Any]:
    """A 1280x900 page whose ``problems`` list collects console errors and page errors."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    tab = context.new_page()
    problems: list[str] = []
    tab.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    tab.on("pageerror", lambda e: problems.append(str(e)))
    tab.problems = problems
    try:
        yield tab
    finally:
        context.close()
