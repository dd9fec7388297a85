"""The dashboard in a real browser: Debian's headless Chromium driven by Selenium, real server."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
DRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"


@pytest.fixture
def browser():  # type: ignore[no-untyped-def]
    if not (Path(CHROMIUM).exists() and Path(DRIVER).exists()):
        pytest.skip(
            "chromium/chromedriver not installed (Debian packages chromium, chromium-driver; .ci/run installs them)"
        )
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in (
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--window-size=1280,1400",
    ):
        options.add_argument(arg)
    driver = webdriver.Chrome(service=Service(DRIVER), options=options)
    try:
        yield driver
    finally:
        driver.quit()


@pytest.mark.browser
def test_dashboard_shows_call_list_and_charts(browser, live_server: str, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from selenium.webdriver.common.by import By

    browser.get(live_server + "/")
    assert "API key" in browser.page_source  # a key is configured: the page asks for it
    browser.find_element(By.NAME, "key").send_keys("test-key")
    browser.find_element(By.TAG_NAME, "button").click()
    from selenium.webdriver.support import expected_conditions
    from selenium.webdriver.support.ui import WebDriverWait

    # the form posts and redirects: wait for the dashboard page before reading it
    WebDriverWait(browser, 30).until(
        expected_conditions.presence_of_element_located((By.ID, "calllist"))
    )
    rows = browser.find_elements(By.CSS_SELECTOR, "#calllist tr")
    assert len(rows) > 10  # header + clients
    first = [c.text for c in rows[1].find_elements(By.TAG_NAME, "td")]
    assert first[0] == "1" and 0 < float(first[2]) < 1
    charts = browser.find_elements(By.CSS_SELECTOR, "#charts svg")
    assert len(charts) == 2 and charts[0].find_elements(By.TAG_NAME, "polyline")
    assert "champion" in browser.find_element(By.CLASS_NAME, "cards").text
    shot = tmp_path / "dashboard.png"
    assert browser.save_screenshot(str(shot)) and shot.stat().st_size > 10_000
    target = os.environ.get("RISKWATCH_SCREENSHOT_DIR")
    if target:
        Path(target).mkdir(parents=True, exist_ok=True)
        shutil.copy(shot, Path(target) / "dashboard.png")
    # no request left the machine: every resource is inline or same-origin
    sources = browser.execute_script(
        "return performance.getEntriesByType('resource').map(e => e.name)"
    )
    assert all(s.startswith(live_server) or s.startswith("data:") for s in sources)
