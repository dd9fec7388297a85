"""The bad-input corpus: every case gives a one-line error or a quarantine with reasons,
and no accepted row is ever lost."""

from __future__ import annotations

import csv
import sqlite3
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest

from tests.conftest import drop
from tests.helpers import COURSE, course_contract, run_cli, write_config

HEADER = "corporation,lastmonth_activity,lastyear_activity,number_of_employees,exited\n"
ROW = "zz01,10,200,5,0\n"


def _ingested(config: Path) -> pd.DataFrame:
    ws = config.parent / "ws"
    with sqlite3.connect(ws / "metadata.db") as db:
        version = db.execute(
            "SELECT parts FROM dataset_versions ORDER BY version DESC LIMIT 1"
        ).fetchone()
    import json

    return pd.concat([pd.read_parquet(ws / "datasets" / p["name"]) for p in json.loads(version[0])])


@pytest.fixture
def project(course_project: Path) -> Path:
    drop(course_project, *sorted((COURSE / "practicedata").glob("*.csv")))
    assert run_cli("ingest", config=course_project).returncode == 0
    return course_project


def _write(name: str, content: bytes | str) -> Callable[[Path], Path]:
    def make(folder: Path) -> Path:
        path = folder / name
        path.write_bytes(content if isinstance(content, bytes) else content.encode())
        return path

    return make


def _parquet(frame: pd.DataFrame) -> Callable[[Path], Path]:
    def make(folder: Path) -> Path:
        path = folder / "bad.parquet"
        frame.to_parquet(path)
        return path

    return make


REJECTED = [  # whole file refused, one line naming the file and what is wrong
    (
        "missing column",
        _write("a.csv", "corporation,lastmonth_activity,lastyear_activity,exited\nq,1,2,0\n"),
        "number_of_employees",
    ),
    ("extra column", _write("b.csv", HEADER.strip() + ",bonus\nq,1,2,3,0,9\n"), "bonus"),
    (
        "misnamed column",
        _write("c.csv", HEADER.replace("lastmonth_activity", "lastmonth_activty") + ROW),
        "lastmonth_activty",
    ),
    ("header only", _write("d.csv", HEADER), "d.csv"),
    ("empty file", _write("e.csv", ""), "empty"),
    ("not UTF-8", _write("f.csv", (HEADER + "caf\xe9,1,2,3,0\n").encode("latin-1")), "UTF-8"),
    ("wrong delimiter", _write("g.csv", HEADER.replace(",", ";") + ROW.replace(",", ";")), "g.csv"),
    (
        "duplicate columns",
        _write(
            "h.csv",
            "corporation,corporation,lastyear_activity,number_of_employees,exited\nq,1,2,3,0\n",
        ),
        "h.csv",
    ),
    (
        "parquet wrong schema",
        _parquet(pd.DataFrame({"client": ["a"], "value": [1.0]})),
        "bad.parquet",
    ),
    ("corrupt parquet", _write("i.parquet", b"PAR1 this is not parquet at all"), "i.parquet"),
    ("binary junk as csv", _write("j.csv", bytes(range(256)) * 4), "j.csv"),
    ("UTF-16 text", _write("k.csv", (HEADER + ROW).encode("utf-16")), "UTF-8"),
    (
        "gzip named .csv",
        _write("l.csv", __import__("gzip").compress((HEADER + ROW).encode())),
        "l.csv",
    ),
    (
        "reserved column name",
        _write("m.csv", HEADER.strip() + ",_rw_row\nq,1,2,3,0,1\n"),
        "reserved",
    ),
    ("NUL bytes in the header", _write("n.csv", "corpo\0ration,x\n1,2\n"), "n.csv"),
    (
        "Latin-1 after many good rows",
        _write(
            "o.csv",
            (HEADER + "".join(f"o{i},1,2,3,0\n" for i in range(60_000))).encode()
            + "caf\xe9,1,2,3,0\n".encode("latin-1"),
        ),
        "UTF-8",
    ),
    (
        "10,000 columns",
        _write("p.csv", ",".join(f"c{i}" for i in range(10_000)) + "\n" + "1," * 9_999 + "1\n"),
        "and 99",
    ),
]

QUARANTINED = [  # bad rows set aside with a reason, good rows of the same file accepted
    ("text in a numeric column", HEADER + "q1,lots,2,3,0\n" + ROW, "lastmonth_activity"),
    ("label 2", HEADER + "q2,1,2,3,2\n" + ROW, "exited"),
    ("label maybe", HEADER + "q3,1,2,3,maybe\n" + ROW, "exited"),
    ("blank id", HEADER + ",1,2,3,0\n" + ROW, "corporation"),
    ("duplicate ids with different values", HEADER + "q4,1,2,3,0\nq4,9,9,9,1\n" + ROW, "q4"),
    ("infinite number", HEADER + "q5,inf,2,3,0\n" + ROW, "lastmonth_activity"),
    ("ragged row", HEADER + "q6,1,2,3,0,extra\n" + ROW, "wrong number of fields"),
    ("too few fields", HEADER + "q7,1,2\n" + ROW, "wrong number of fields"),
    ("overflowing number", HEADER + "q8,1e400,2,3,0\n" + ROW, "1e400"),
    ("value too long", HEADER + "q9," + "9" * 20_000 + ",2,3,0\n" + ROW, "too long"),
    ("header repeated mid-file", HEADER + ROW + HEADER + "q10,1,2,3,0\n", "lastmonth_activity"),
    ("id too long", HEADER + "x" * 20_000 + ",1,2,3,0\n" + ROW, "too long"),
    ("NUL byte in a number", HEADER + "q11,1\x002,2,3,0\n" + ROW, "lastmonth_activity"),
]


@pytest.mark.parametrize(("case", "make", "named"), REJECTED, ids=[c[0] for c in REJECTED])
def test_rejected_file_gives_one_line_and_loses_nothing(
    project: Path, case: str, make: Callable[[Path], Path], named: str
) -> None:
    before = _ingested(project)
    path = make(project.parent / "incoming")
    done = run_cli("ingest", config=project)
    assert done.returncode == 3, (case, done.stdout, done.stderr)
    lines = [line for line in (done.stdout + done.stderr).splitlines() if path.name in line]
    assert lines and named in " ".join(lines), (case, done.stdout, done.stderr)
    assert "Traceback" not in done.stderr
    after = _ingested(project)
    assert len(after) == len(before) == 26
    # not marked as ingested: it is not retried while unchanged, and is once fixed
    assert run_cli("ingest", "--check", config=project).returncode == 1
    if path.suffix == ".parquet":
        pd.DataFrame(
            {
                "corporation": ["fixed1"],
                "lastmonth_activity": [1.0],
                "lastyear_activity": [2.0],
                "number_of_employees": [3.0],
                "exited": [0],
            }
        ).to_parquet(path)
    else:
        path.write_text(HEADER + "fixed1,1,2,3,0\n")
    check = run_cli("ingest", "--check", config=project)
    assert check.returncode == 0 and path.name in check.stdout
    assert run_cli("ingest", config=project).returncode == 0
    assert "fixed1" in set(_ingested(project).corporation) and len(_ingested(project)) == 27


@pytest.mark.parametrize(
    ("case", "content", "reason"), QUARANTINED, ids=[c[0] for c in QUARANTINED]
)
def test_bad_rows_are_quarantined_with_reasons(
    project: Path, case: str, content: str, reason: str
) -> None:
    (project.parent / "incoming" / "batch.csv").write_text(content)
    done = run_cli("ingest", "--json", config=project)
    import json

    report = json.loads(done.stdout)
    unit = next(u for u in report["units"] if u["unit"] == "batch.csv")
    assert unit["quarantined"] >= 1 and unit["accepted"] >= 1, (case, unit)
    assert unit["read"] == unit["accepted"] + unit["quarantined"] + unit["duplicate"]
    qpath = Path(unit["quarantine_path"])
    with open(qpath if qpath.is_absolute() else project.parent / "ws" / qpath, newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert rows and all(r["_rw_reason"] for r in rows)
    assert reason in " ".join(r["_rw_reason"] + " " + (r.get("corporation") or "") for r in rows)
    assert all(len(r["_rw_reason"]) < 250 for r in rows)  # a bad value is shown as an excerpt
    assert len(_ingested(project)) == 26 + unit["accepted"]


def test_nan_in_features_is_accepted_as_missing(project: Path) -> None:
    (project.parent / "incoming" / "gaps.csv").write_text(HEADER + "g1,,200,5,0\ng2,NaN,,5,1\n")
    assert run_cli("ingest", config=project).returncode == 0
    data = _ingested(project)
    assert len(data) == 28 and data.loc[data.corporation == "g2", "lastmonth_activity"].isna().all()


def test_bom_is_accepted(project: Path) -> None:
    (project.parent / "incoming" / "bom.csv").write_bytes(
        ("\ufeff" + HEADER + "b1,1,2,3,0\n").encode("utf-8")
    )
    assert run_cli("ingest", config=project).returncode == 0
    assert "b1" in set(_ingested(project).corporation)


def _sql_config(tmp_path: Path, **source: object) -> Path:
    return write_config(
        tmp_path,
        {
            "workspace": {"path": "ws"},
            "contract": course_contract(),
            "sources": {"db": {"kind": "sql", **source}},
        },
    )


@pytest.mark.parametrize(
    ("case", "source", "named"),
    [
        ("missing table", {"table": "nope", "watermark": "row_id"}, "nope"),
        (
            "unreachable database",
            {"url": "postgresql://postgres@127.0.0.1:1/test", "table": "t", "watermark": "row_id"},
            "127.0.0.1:1",
        ),
        ("watermark column missing", {"table": "clients", "watermark": "updated"}, "updated"),
        (
            "not a database url",
            {"url": "nosuchdialect://x", "table": "clients", "watermark": "row_id"},
            "nosuchdialect",
        ),
    ],
)
def test_sql_source_errors(
    tmp_path: Path, case: str, source: dict[str, object], named: str
) -> None:
    db = tmp_path / "src.db"
    with sqlite3.connect(db) as conn:
        conn.execute(
            "CREATE TABLE clients (row_id INTEGER, corporation TEXT, lastmonth_activity REAL, "
            "lastyear_activity REAL, number_of_employees REAL, exited INTEGER)"
        )
    config = _sql_config(tmp_path, **{"url": f"sqlite:///{db}", **source})
    for args in (("ingest",), ("ingest", "--check"), ("run",)):
        done = run_cli(*args, config=config)
        lines = done.stderr.strip().splitlines()
        assert done.returncode in (2, 4), (case, args, done.stderr)
        assert len(lines) == 1 and named in lines[0] and "Traceback" not in done.stderr, (
            case,
            done.stderr,
        )


@pytest.mark.parametrize(
    ("case", "text", "named"),
    [
        (
            "unknown key",
            "[workspace]\npath='ws'\nspeed=3\n[contract]\nid_column='a'\ntarget_column='b'\npositive_label=1\n",
            "workspace.speed",
        ),
        (
            "wrong type",
            "[contract]\nid_column='a'\ntarget_column='b'\npositive_label=1\n[scoring]\nthreshold='high'\n",
            "scoring.threshold",
        ),
        (
            "missing required",
            "[contract]\ntarget_column='b'\npositive_label=1\n",
            "contract.id_column",
        ),
        ("not toml", "[contract\nid_column=", "riskwatch.toml"),
        (
            "unknown section",
            "[contract]\nid_column='a'\ntarget_column='b'\npositive_label=1\n[trainning]\nseed=1\n",
            "trainning",
        ),
    ],
)
def test_config_errors(tmp_path: Path, case: str, text: str, named: str) -> None:
    config = tmp_path / "riskwatch.toml"
    config.write_text(text)
    done = run_cli("ingest", config=config)
    lines = done.stderr.strip().splitlines()
    assert (
        done.returncode == 2
        and len(lines) == 1
        and named in lines[0]
        and str(config.name) in lines[0]
    ), done.stderr
