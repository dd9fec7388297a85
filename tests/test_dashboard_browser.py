"""The dashboard and the API docs in a real browser: Debian's headless Chromium driven by
Selenium, against a real ``riskwatch serve`` process (API key 'test-key')."""

from __future__ import annotations

import csv
import json
import os
import shutil
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
DRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"
DEAD_PROXY = "http://127.0.0.1:9"  # every request off this machine fails; loopback bypasses it


def _chrome(*extra: str) -> Any:
    if not (Path(CHROMIUM).exists() and Path(DRIVER).exists()):
        pytest.skip(
            "chromium/chromedriver not installed (Debian packages chromium, chromium-driver; "
            ".ci/run installs them)"
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
        *extra,
    ):
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    return webdriver.Chrome(service=Service(DRIVER), options=options)


@pytest.fixture
def browser() -> Iterator[Any]:
    driver = _chrome()
    try:
        yield driver
    finally:
        driver.quit()


@pytest.fixture
def offline_browser() -> Iterator[Any]:
    driver = _chrome(f"--proxy-server={DEAD_PROXY}")
    try:
        yield driver
    finally:
        driver.quit()


def _login(browser: Any, base: str, page: str = "/", wait_for: str = "calllist") -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions
    from selenium.webdriver.support.ui import WebDriverWait

    browser.get(base + page)
    assert "API key" in browser.page_source  # a key is configured: the page asks for it
    browser.find_element(By.NAME, "key").send_keys("test-key")
    browser.find_element(By.TAG_NAME, "button").click()
    # the form posts and redirects: wait for the page before reading it
    WebDriverWait(browser, 60).until(
        expected_conditions.presence_of_element_located((By.ID, wait_for))
    )


def _follow(browser: Any, element: Any, wait_for: str = "calllist") -> None:
    """Click ``element`` and wait until the next page replaced this one."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions
    from selenium.webdriver.support.ui import WebDriverWait

    old = browser.find_element(By.TAG_NAME, "html")
    element.click()
    WebDriverWait(browser, 60).until(expected_conditions.staleness_of(old))
    WebDriverWait(browser, 60).until(
        expected_conditions.presence_of_element_located((By.ID, wait_for))
    )


def _shot(browser: Any, tmp_path: Path, name: str) -> None:
    shot = tmp_path / name
    assert browser.save_screenshot(str(shot)) and shot.stat().st_size > 10_000
    target = os.environ.get("RISKWATCH_SCREENSHOT_DIR")
    if target:
        Path(target).mkdir(parents=True, exist_ok=True)
        shutil.copy(shot, Path(target) / name)


def _same_origin_only(browser: Any, base: str) -> None:
    sources = browser.execute_script(
        "return performance.getEntriesByType('resource').map(e => e.name)"
    )
    assert all(s.startswith(base) or s.startswith("data:") for s in sources), sources


def _table(browser: Any) -> list[dict[str, str]]:
    from selenium.webdriver.common.by import By

    rows = browser.find_elements(By.CSS_SELECTOR, "#calllist tr")
    head = [c.text.strip().lower() for c in rows[0].find_elements(By.TAG_NAME, "th")]
    return [
        dict(zip(head, [c.text for c in r.find_elements(By.TAG_NAME, "td")], strict=False))
        for r in rows[1:]
    ]


@pytest.mark.browser
def test_dashboard_shows_call_list_and_charts(browser, live_server: str, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from selenium.webdriver.common.by import By

    _login(browser, live_server)
    rows = browser.find_elements(By.CSS_SELECTOR, "#calllist tr")
    assert len(rows) > 10  # header + clients
    first = [c.text for c in rows[1].find_elements(By.TAG_NAME, "td")]
    assert first[0] == "1" and 0 < float(first[2]) < 1
    charts = browser.find_elements(By.CSS_SELECTOR, "#charts svg")
    assert len(charts) == 2 and charts[0].find_elements(By.TAG_NAME, "polyline")
    assert "champion" in browser.find_element(By.CLASS_NAME, "cards").text
    _shot(browser, tmp_path, "dashboard.png")
    _same_origin_only(browser, live_server)  # no request left the machine


@pytest.mark.browser
def test_filter_sort_page_client_and_export(browser, live_server: str, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    _login(browser, live_server)
    total = len(_table(browser))
    # filter on a categorical column of the contract, sort by value at risk
    industry = Select(browser.find_element(By.CSS_SELECTOR, "select[data-column='industry']"))
    choice = industry.options[2].text
    industry.select_by_visible_text(choice)
    Select(browser.find_element(By.NAME, "sort")).select_by_value("value")
    _follow(browser, browser.find_element(By.CSS_SELECTOR, "#query button"))
    rows = _table(browser)
    assert rows and all(r["industry"] == choice for r in rows)
    values = [float(r["value at risk"].replace(",", "")) for r in rows]
    assert values == sorted(values, reverse=True) and len(values) <= total
    _shot(browser, tmp_path, "dashboard-calllist.png")
    # the next page continues the same order under the same filter
    _follow(browser, browser.find_element(By.CSS_SELECTOR, "a[rel='next']"))
    more = _table(browser)
    assert all(r["industry"] == choice for r in more)
    assert float(more[0]["value at risk"].replace(",", "")) <= values[-1]
    # search by part of an id
    browser.get(live_server + "/")
    box = browser.find_element(By.NAME, "q")
    wanted = _table(browser)[3]["client"]
    box.send_keys(wanted[-4:])
    _follow(browser, browser.find_element(By.CSS_SELECTOR, "#query button"))
    found = _table(browser)
    assert found and all(wanted[-4:] in r["client"] for r in found)
    assert wanted in [r["client"] for r in found]
    # the client page: risk at each snapshot, the reasons, the place on the list
    _follow(browser, browser.find_element(By.LINK_TEXT, wanted), wait_for="history")
    points = browser.find_elements(By.CSS_SELECTOR, "svg.riskhistory circle.point")
    snapshots = browser.find_elements(By.CSS_SELECTOR, "#snapshots tr")[1:]
    assert len(points) == len(snapshots) >= 2  # the demo has monthly snapshots
    assert browser.find_elements(By.CSS_SELECTOR, "#reasons li")
    assert "on the call list" in browser.find_element(By.ID, "where").text
    assert wanted in browser.find_element(By.TAG_NAME, "h1").text
    _shot(browser, tmp_path, "dashboard-client.png")
    _same_origin_only(browser, live_server)


@pytest.mark.browser
def test_csv_export_is_the_current_view(browser, live_server: str, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    downloads = tmp_path / "downloads"
    downloads.mkdir()
    browser.execute_cdp_cmd(
        "Browser.setDownloadBehavior", {"behavior": "allow", "downloadPath": str(downloads)}
    )
    _login(browser, live_server)
    region = Select(browser.find_element(By.CSS_SELECTOR, "select[data-column='region']"))
    choice = region.options[1].text
    region.select_by_visible_text(choice)
    Select(browser.find_element(By.NAME, "size")).select_by_visible_text("25")
    _follow(browser, browser.find_element(By.CSS_SELECTOR, "#query button"))
    shown = _table(browser)
    matched = int(browser.find_elements(By.TAG_NAME, "h2")[-1].text.split()[2].replace(",", ""))
    browser.find_element(By.ID, "export").click()
    target = downloads / "calllist.csv"
    deadline = time.monotonic() + 30
    while not target.exists() and time.monotonic() < deadline:
        time.sleep(0.2)
    with target.open(newline="", encoding="utf-8") as fh:
        exported = list(csv.DictReader(fh))
    assert len(exported) == matched > len(shown)  # every page of the view, not just this one
    assert {r["region"] for r in exported} == {choice}
    assert [r["id"] for r in exported[: len(shown)]] == [r["client"] for r in shown]
    # the export is keyed like every route
    request = urllib.request.Request(live_server + "/calllist.csv")
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=10)
    assert refused.value.code == 401


@pytest.mark.browser
def test_api_docs_render_offline_behind_the_key(offline_browser, live_server: str) -> None:  # type: ignore[no-untyped-def]
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    request = urllib.request.Request(
        live_server + "/openapi.json", headers={"X-API-Key": "test-key"}
    )
    with urllib.request.urlopen(request, timeout=10) as resp:
        doc = json.load(resp)
    operations = sum(
        1 for item in doc["paths"].values() for method in item if method in ("get", "post")
    )
    _login(offline_browser, live_server, "/docs", wait_for="swagger-ui")
    WebDriverWait(offline_browser, 60).until(
        lambda b: len(b.find_elements(By.CSS_SELECTOR, ".opblock")) >= operations
    )
    blocks = offline_browser.find_elements(By.CSS_SELECTOR, ".opblock")
    assert len(blocks) == operations >= 8
    paths = {b.find_element(By.CSS_SELECTOR, ".opblock-summary-path").text for b in blocks}
    assert {"/prediction", "/risk", "/health"} <= {p.replace("\u200b", "") for p in paths}
    _same_origin_only(offline_browser, live_server)
    blocked = [
        e["message"]
        for e in offline_browser.get_log("browser")
        if "Content Security Policy" in e["message"] or "ERR_PROXY" in e["message"]
    ]
    assert blocked == []
