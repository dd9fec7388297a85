"""The course's ingestion scenario, end to end through the CLI (real SQLite metadata)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd

from riskwatch.config import load_settings
from riskwatch.storage.datasets import current_version, load_dataset
from riskwatch.storage.metadata import open_metadata
from riskwatch.storage.workspace import Workspace
from tests.conftest import drop
from tests.helpers import COURSE, run_cli


def _dataset(config: Path) -> pd.DataFrame:
    settings = load_settings(config)
    db = open_metadata(settings.metadata_url)
    try:
        version = current_version(db)
        assert version is not None
        return load_dataset(Workspace(settings.workspace_path), version)
    finally:
        db.close()


def test_practicedata_then_sourcedata_then_nothing(course_project: Path) -> None:
    drop(course_project, *sorted((COURSE / "practicedata").glob("*.csv")), sub="practicedata")
    out = run_cli("ingest", "--json", config=course_project)
    assert out.returncode == 0, out.stderr
    report = json.loads(out.stdout)
    assert sum(u["read"] for u in report["units"]) == 36
    assert sum(u["duplicate"] for u in report["units"]) == 10
    assert report["accepted"] == 26
    data = _dataset(course_project)
    assert len(data) == 26
    expected = pd.concat(
        [
            pd.read_csv(f, dtype={"corporation": str})
            for f in sorted((COURSE / "practicedata").glob("*.csv"))
        ]
    ).drop_duplicates()
    assert sorted(data["corporation"]) == sorted(expected["corporation"])

    drop(course_project, *sorted((COURSE / "sourcedata").glob("*.csv")), sub="sourcedata")
    check = run_cli("ingest", "--check", config=course_project)
    assert check.returncode == 0 and "new data" in check.stdout
    out = run_cli("ingest", "--json", config=course_project)
    report = json.loads(out.stdout)
    assert report["accepted"] == 26 and report["rows_total"] == 52
    assert len(_dataset(course_project)) == 52

    again = run_cli("ingest", "--check", config=course_project)
    assert again.returncode == 1 and "nothing new" in again.stdout
    out = run_cli("ingest", config=course_project)
    assert out.returncode == 0 and "nothing new" in out.stdout


def test_renamed_copy_is_not_new_but_edited_file_is(course_project: Path) -> None:
    drop(course_project, COURSE / "practicedata" / "dataset1.csv")
    assert run_cli("ingest", config=course_project).returncode == 0
    incoming = course_project.parent / "incoming"
    shutil.copy(incoming / "dataset1.csv", incoming / "renamed.csv")
    assert run_cli("ingest", "--check", config=course_project).returncode == 1
    with (incoming / "renamed.csv").open("a") as fh:
        fh.write("newco,1,2,3,0\n")
    assert run_cli("ingest", "--check", config=course_project).returncode == 0
    out = run_cli("ingest", "--json", config=course_project)
    report = json.loads(out.stdout)
    assert report["accepted"] == 1
    assert report["units"][0]["duplicate"] == 17


def test_ignored_files(course_project: Path) -> None:
    incoming = course_project.parent / "incoming"
    drop(course_project, COURSE / "practicedata" / "dataset1.csv")
    (incoming / "Icon\r").write_bytes(b"")
    (incoming / ".DS_Store").write_bytes(b"\x00\x01binary")
    (incoming / "upload.csv.part").write_text("corporation,x\n")
    (incoming / "upload.csv.tmp").write_text("garbage")
    (incoming / "notes.txt").write_text("hello")
    out = run_cli("ingest", "--json", config=course_project)
    assert out.returncode == 0, out.stderr
    units = json.loads(out.stdout)["units"]
    assert [u["unit"] for u in units] == ["dataset1.csv"]


def test_ids_stay_text(course_project: Path) -> None:
    incoming = course_project.parent / "incoming"
    (incoming / "ids.csv").write_text(
        "corporation,lastmonth_activity,lastyear_activity,number_of_employees,exited\n"
        "NA,1,2,3,0\nnull,4,5,6,1\n007,7,8,9,0\n"
    )
    assert run_cli("ingest", config=course_project).returncode == 0
    data = _dataset(course_project)
    assert sorted(data["corporation"]) == ["007", "NA", "null"]


def test_ingestion_log_is_recorded(course_project: Path) -> None:
    drop(course_project, *sorted((COURSE / "practicedata").glob("*.csv")))
    run_cli("ingest", config=course_project)
    settings = load_settings(course_project)
    db = open_metadata(settings.metadata_url)
    rows = db.execute(
        "SELECT unit, rows_read, rows_accepted, rows_quarantined, rows_duplicate, status,"
        " started_at, finished_at, duration_s FROM ingestions ORDER BY unit"
    )
    db.close()
    assert [(r[0], r[1], r[2], r[3], r[4], r[5]) for r in rows] == [
        ("dataset1.csv", 17, 17, 0, 0, "ingested"),
        ("dataset2.csv", 19, 9, 0, 10, "ingested"),
    ]
    assert all(r[6] <= r[7] and r[8] >= 0 for r in rows)
