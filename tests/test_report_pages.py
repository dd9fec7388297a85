"""The report people read: page 1 (health, what changed, whom to call), the drift page with
reference-vs-current distributions, history, lineage; the PDF rendered from the same HTML; the
answers behind them."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from riskwatch.answers.calllist import ListQuery, select
from riskwatch.answers.changes import turnover
from riskwatch.answers.data import category_shares, numeric_bins
from riskwatch.demo import DemoSpec, generate, month_batches
from riskwatch.labels import data_value, label
from tests.helpers import demo_contract, open_context, run_cli, write_config

NO_INDEX = {"RISKWATCH_PACKAGE_INDEX": "http://127.0.0.1:9"}


def _months(root: Path, months: list[int]) -> None:
    batches = month_batches(generate(DemoSpec(clients=1200, months=5, drift_month=4, seed=7)))
    for m in months:
        batches[m - 1].to_csv(root / "incoming" / f"month-{m:02d}.csv", index=False)


@pytest.fixture(scope="module")
def drifted(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A demo project after two runs: a first champion, then months whose clients drifted."""
    root = tmp_path_factory.mktemp("drifted")
    (root / "incoming").mkdir()
    config = write_config(
        root,
        {
            "workspace": {"path": "ws"},
            "contract": demo_contract(),
            "sources": {"drop": {"kind": "folder", "path": "incoming"}},
            "training": {"model": "logistic"},
        },
    )
    _months(root, [1, 2, 3])
    assert run_cli("run", config=config, env=NO_INDEX).returncode == 0
    _months(root, [4, 5])
    done = run_cli("run", config=config, env=NO_INDEX)
    assert done.returncode == 0, done.stderr
    return config


def _reports(config: Path) -> list[Path]:
    root = config.parent / "ws" / "reports"
    return sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith((".", "api")))


def _pdf_text(pdf: Path) -> list[str]:
    if shutil.which("pdftotext") is None:
        pytest.skip("pdftotext is not installed (Debian poppler-utils; .ci/run installs it)")
    text = subprocess.run(
        ["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True, check=True
    ).stdout
    return text.split("\f")[:-1]


def test_page_one_answers_health_changes_and_whom_to_call(drifted: Path) -> None:
    first, second = _reports(drifted)[-2:]
    html = (second / "report.html").read_text()
    answers = json.loads((second / "apireturns.json").read_text())
    summary = json.loads((second / "summary.json").read_text())
    page1 = html.split("<section class='page' id='model'>")[0]
    # (a) the verdict and its reasons, as `status` gives them
    status = json.loads(run_cli("status", "--json", config=drifted).stdout)
    assert summary["health"] == status["health"]
    assert f"<span class='badge'>{label(status['health']).upper()}</span>" in page1
    for reason in status["reasons"]:
        assert reason["message"] in page1
    # (b) what changed since the first report: new data, a drift check, the champion, turnover
    assert summary["changes"]["since"] == first.name and first.name in page1
    items = {i["what"]: i for i in summary["changes"]["items"]}
    assert items["data"]["changed"] and "dataset v1 → v2" in items["data"]["text"]
    assert "1 check(s)" in items["drift"]["text"]
    assert items["call list"]["text"].startswith("top 100:")
    for item in items.values():
        assert item["text"] in page1.replace("&gt;", ">")
    # (c) the top of the call list, the same clients as GET /risk, with reasons and value
    top = answers["risk"]["clients"][:10]
    ids = re.findall(r"<tr><td class='n'>\d+</td><td>([^<]+)</td>", page1)
    assert ids == [c["id"] for c in top]
    assert f"{top[0]['value_at_risk']:,.0f}" in page1
    assert label(top[0]["factors"][0]["feature"]) in page1
    # human labels, not internal names, in the tables
    assert "ROC AUC" in html and not re.search(r"<t[hd][^>]*>\s*roc_auc\s*<", html)
    pages = _pdf_text(second / "report.pdf")
    assert "Is everything OK?" in pages[0] and "Who do we call?" in pages[0]
    assert "What changed since the last report" in pages[0]
    assert top[9]["id"] in pages[0]  # page 1 holds the whole top 10
    for n, page in enumerate(pages, 1):
        assert f"page {n} of {len(pages)}" in page and "riskwatch report" in page


def test_drift_page_shows_reference_and_current_for_each_drifted_feature(drifted: Path) -> None:
    from riskwatch.answers.data import drifted_distributions
    from riskwatch.registry.evalsets import training_rows

    report = _reports(drifted)[-1]
    ctx = open_context(drifted)
    answer = drifted_distributions(ctx)
    check = json.loads((report / "apireturns.json").read_text())["drift"]["latest"]
    drifted_cols = [c["column"] for c in check["data"]["columns"] if c["drifted"]]
    assert drifted_cols, "the demo's month 4 must drift"
    assert [f["column"] for f in answer["features"]] == sorted(
        drifted_cols,
        key=lambda c: -next(x["statistic"] / x["threshold"] for x in check["data"]["columns"] if x["column"] == c),
    )[:8]  # fmt: skip
    assert answer["reference_rows"] == len(training_rows(ctx, check["model_version"]))
    assert answer["current_rows"] == check["data"]["batch_rows"]
    for feature in answer["features"]:
        assert sum(feature["reference"]) == pytest.approx(1, abs=1e-3)
        assert sum(feature["current"]) == pytest.approx(1, abs=1e-3)
        assert (report / f"distribution_{answer['features'].index(feature)}.png").is_file()
    html = (report / "report.html").read_text()
    data_page = html.split("id='data'>")[1].split("<section")[0]
    for feature in answer["features"]:
        assert f"{label(feature['column'])}: reference" in data_page
    assert "Missing data" in data_page and "Ingestion and quarantine" in data_page
    pages = _pdf_text(report / "report.pdf")
    drift_page = next(p for p in pages if "Data: does the newest batch look familiar?" in p)
    assert "drifted" in drift_page and label(drifted_cols[0]) in drift_page
    history = next(p for p in pages if "History: performance and drift over time" in p)
    assert "Drift checks (newest first)" in history


def test_pdf_is_the_html_on_a4_with_embedded_fonts(drifted: Path) -> None:
    report = _reports(drifted)[-1]
    if shutil.which("pdfinfo") is None:
        pytest.skip("pdfinfo is not installed (Debian poppler-utils)")
    info = subprocess.run(
        ["pdfinfo", "-f", "1", "-l", "99", str(report / "report.pdf")],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    sizes = re.findall(r"Page\s+\d+ size:\s+([\d.]+) x ([\d.]+)", info)
    assert sizes and all(abs(float(w) - 595.3) < 1 and abs(float(h) - 841.9) < 1 for w, h in sizes)
    fonts = subprocess.run(
        ["pdffonts", str(report / "report.pdf")], capture_output=True, text=True, check=True
    ).stdout
    embedded = [line for line in fonts.splitlines()[2:] if line.strip()]
    assert embedded and all(" yes " in line and "DejaVu" in line for line in embedded)
    html = (report / "report.html").read_text()
    assert "file:" not in html and not re.search(r"(src|href)=['\"]https?://", html)


def test_unchanged_figures_are_reused_and_a_missing_pdf_engine_is_one_warning(
    drifted: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    from riskwatch.reporting.report import build_report

    first = build_report(open_context(drifted))
    assert first.pdf is not None and first.pdf.is_file()
    monkeypatch.setitem(sys.modules, "weasyprint", None)  # as if WeasyPrint were not installed
    with caplog.at_level("WARNING", logger="riskwatch.report"):
        second = build_report(open_context(drifted))
    assert second.pdf is None and not (second.folder / "report.pdf").exists()
    assert second.note and "WeasyPrint" in second.note and len(caplog.records) == 1
    assert (second.folder / "report.html").is_file() and second.pngs
    names = sorted(p.name for p in first.pngs)
    assert names == sorted(p.name for p in second.pngs)
    assert sorted(f"{n}.png" for n in second.reused) == names  # nothing changed: none redrawn
    for name in names:
        assert (first.folder / name).read_bytes() == (second.folder / name).read_bytes()


# -- the answers behind the pages (pure) ---------------------------------------------------
def test_turnover_counts_who_entered_the_top() -> None:
    before = {"clients": [{"id": i} for i in "abcd"], "at_risk": 3}
    now = {"clients": [{"id": i} for i in "bcxy"], "at_risk": 5}
    t = turnover(now, before)
    assert t["entered"] == ["x", "y"] and t["left"] == ["a", "d"] and t["overlap"] == 0.5
    assert "2 new clients" in t["text"] and "3 → 5" in t["text"]
    assert not turnover(now, {"clients": []})["changed"]


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_distribution_shares_add_up_and_a_sample_matches_itself(seed: int) -> None:
    rng = np.random.default_rng(seed)
    ref = pd.Series(rng.lognormal(3, 1, 500)).where(rng.random(500) > 0.1)
    cur = pd.Series(rng.lognormal(3.5, 1, 300))
    bins = numeric_bins(ref, cur)
    assert sum(bins["reference"]) == pytest.approx(1, abs=1e-4)
    assert sum(bins["current"]) == pytest.approx(1, abs=1e-4)
    assert bins["reference_missing"] == pytest.approx(ref.isna().mean())
    same = numeric_bins(ref, ref)
    assert same["reference"] == same["current"]
    cats = pd.Series(rng.choice(list("abcdefghijklmnopq"), 400))
    shares = category_shares(cats, cats.iloc[:100])
    assert shares["categories"][-1] == "other" and len(shares["categories"]) == 13
    assert sum(shares["reference"]) == pytest.approx(1, abs=1e-5)


def test_call_list_selection_filters_searches_and_sorts() -> None:
    frame = pd.DataFrame(
        {
            "rank": [1, 2, 3, 4, 5],
            "id": ["A10", "B20", "A30", "C40", "a50"],
            "risk": [0.9, 0.8, 0.7, 0.6, 0.5],
            "value_at_risk": [10.0, 500.0, 30.0, None, 90.0],
            "industry": ["x", "y", "x", "x", "x"],
            "region": ["n:1", "s", "n:1", "n", "s"],
        }
    )
    cols = ("industry", "region")
    by_value = select(frame, ListQuery(sort="value"), cols)
    assert by_value["id"].tolist() == ["B20", "a50", "A30", "A10", "C40"]  # missing value last
    found = select(frame, ListQuery(search="a", filters=("industry:x", "region:n:1")), cols)
    assert found["id"].tolist() == ["A10", "A30"]  # a value may hold ':'
    ignored = select(frame, ListQuery(filters=("nope:x", "industry:")), cols)
    assert len(ignored) == len(frame)  # unknown columns and empty values do not filter


@pytest.mark.parametrize(
    ("raw", "text"),
    [("roc_auc", "ROC AUC"), ("support_tickets", "Support tickets"), ("f1", "F1 score")],
)
def test_labels(raw: str, text: str) -> None:
    assert label(raw) == text


@pytest.mark.parametrize(
    ("value", "text"),
    [(7.0, "7"), (2287.4, "2,287"), (0.12345, "0.1235"), (None, "missing"), ("x", "x")],
)
def test_data_values(value: Any, text: str) -> None:
    assert data_value(value) == text
