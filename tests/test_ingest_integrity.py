"""No file silently missed, no bad unit blocking the others: the drop folder as a careless
operator and an attacker meet it, through the real CLI."""

from __future__ import annotations

import csv
import json
import os
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from tests.helpers import COURSE, course_contract, open_context, run_cli, write_config

HEADER = "corporation,lastmonth_activity,lastyear_activity,number_of_employees,exited\n"


def _project(root: Path, **source: Any) -> Path:
    (root / "incoming").mkdir(parents=True, exist_ok=True)
    settings = {"kind": "folder", "path": "incoming", "settle_seconds": 0, **source}
    return write_config(
        root,
        {
            "workspace": {"path": "ws"},
            "contract": course_contract(),
            "sources": {"drop": settings},
        },
    )


def _rows(config: Path) -> pd.DataFrame:
    ws = config.parent / "ws"
    with sqlite3.connect(ws / "metadata.db") as db:
        row = db.execute(
            "SELECT parts FROM dataset_versions ORDER BY version DESC LIMIT 1"
        ).fetchone()
    if row is None:
        return pd.DataFrame(columns=["corporation"])
    parts = json.loads(row[0])
    return pd.concat(
        [pd.read_parquet(ws / "datasets" / p["name"]) for p in parts], ignore_index=True
    )


def _records(config: Path) -> list[dict[str, Any]]:
    with sqlite3.connect(config.parent / "ws" / "metadata.db") as db:
        db.row_factory = sqlite3.Row
        return [dict(r) for r in db.execute("SELECT * FROM ingestions ORDER BY id")]


def _one_line_about(done: subprocess.CompletedProcess[str], name: str) -> str:
    lines = [line for line in done.stdout.splitlines() if name in line]
    assert len(lines) == 1, (name, done.stdout)
    assert "Traceback" not in done.stderr
    return lines[0]


def _good(path: Path, n: int, prefix: str = "g") -> None:
    path.write_text(HEADER + "".join(f"{prefix}{i},{i},{i * 2},3,{i % 2}\n" for i in range(n)))


# --- one bad unit never blocks the others ---------------------------------------------------


def test_encoding_break_after_200k_rows_rejects_that_file_alone(tmp_path: Path) -> None:
    config = _project(tmp_path)
    incoming = tmp_path / "incoming"
    with (incoming / "a-broken.csv").open("wb") as fh:
        fh.write(HEADER.encode())
        fh.write("".join(f"b{i},{i},{i},3,{i % 2}\n" for i in range(200_000)).encode())
        fh.write("caf\xe9,1,2,3,0\n".encode("latin-1"))  # a Latin-1 byte after 200k good rows
    _good(incoming / "b-good.csv", 50)
    done = run_cli("ingest", config=config)
    assert done.returncode == 3, done.stderr
    line = _one_line_about(done, "a-broken.csv")
    assert "REJECTED" in line and "UTF-8" in line
    assert "b-good.csv: 50 read, 50 accepted" in done.stdout
    data = _rows(config)
    assert len(data) == 50 and data.corporation.str.startswith("g").all()  # nothing of the bad one
    assert not [p for p in (tmp_path / "ws" / "datasets").iterdir() if p.name.startswith(".")]
    assert len(list((tmp_path / "ws" / "datasets").glob("part-*"))) == 1  # its parts were removed
    # the rejection is recorded once; unchanged, the file is not read again; a run goes on
    assert run_cli("ingest", "--check", config=config).returncode == 1
    _good(incoming / "c-more.csv", 5, prefix="m")
    ran = run_cli(
        "run", "--json", config=config, env={"RISKWATCH_PACKAGE_INDEX": "http://127.0.0.1:9"}
    )
    assert "Traceback" not in ran.stderr
    assert len(_rows(config)) == 55
    assert [r["status"] for r in _records(config) if r["unit"] == "a-broken.csv"] == ["rejected"]


@pytest.mark.parametrize(
    ("case", "content"),
    [
        (
            "type change then bad UTF-8",
            HEADER + "x1,1,2,3,0\n" * 3 + "x2,lots,2,3,0\n" + "x3,\xff,2,3,0\n",
        ),
        ("NUL bytes in the header", "corporation\0,a\n1,2\n"),
        ("unclosed quote", HEADER + 'q1,"1,2,3,0\n' + "q2,1,2,3,0\n"),
    ],
)
def test_a_bad_file_among_good_ones(tmp_path: Path, case: str, content: str) -> None:
    config = _project(tmp_path)
    _good(tmp_path / "incoming" / "a.csv", 10)
    (tmp_path / "incoming" / "b.csv").write_bytes(content.encode("latin-1"))
    _good(tmp_path / "incoming" / "c.csv", 10, prefix="c")
    done = run_cli("ingest", "--json", config=config)
    assert "Traceback" not in done.stderr, (case, done.stderr)
    report = json.loads(done.stdout)
    by_unit = {u["unit"]: u for u in report["units"]}
    assert by_unit["a.csv"]["accepted"] == 10 and by_unit["c.csv"]["accepted"] == 10, case
    b = by_unit["b.csv"]
    assert (
        b["status"] == "rejected" or b["read"] == b["accepted"] + b["quarantined"] + b["duplicate"]
    )
    assert "\n" not in b["message"] and len(b["message"]) < 300, b["message"]


# --- edits that keep size and mtime ------------------------------------------------------------


def test_an_edit_keeping_size_and_mtime_is_ingested(tmp_path: Path) -> None:
    config = _project(tmp_path)
    path = tmp_path / "incoming" / "clients.csv"
    path.write_text(HEADER + "e1,10,20,3,0\n")
    assert run_cli("ingest", config=config).returncode == 0
    before = os.stat(path)
    # cp -p: same inode, same size, the old mtime restored
    path.write_text(HEADER + "e2,10,20,3,1\n")
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert os.stat(path).st_size == before.st_size
    assert run_cli("ingest", "--check", config=config).returncode == 0
    assert run_cli("ingest", config=config).returncode == 0
    # rsync -t: a new file renamed over the old one, same size and mtime
    tmp = tmp_path / "incoming" / ".clients.csv.XyZ"
    tmp.write_text(HEADER + "e3,10,20,3,1\n")
    os.utime(tmp, ns=(before.st_atime_ns, before.st_mtime_ns))
    os.replace(tmp, path)
    assert run_cli("ingest", config=config).returncode == 0
    assert sorted(_rows(config).corporation) == ["e1", "e2", "e3"]
    assert run_cli("ingest", "--check", config=config).returncode == 1


def test_an_unchanged_file_is_not_hashed_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from riskwatch.ingest.sources import folder, pending_units

    config = _project(tmp_path)
    _good(tmp_path / "incoming" / "a.csv", 20)
    assert run_cli("ingest", config=config).returncode == 0
    hashed: list[Path] = []
    real = folder.file_sha256
    monkeypatch.setattr(folder, "file_sha256", lambda p: hashed.append(p) or real(p))
    monkeypatch.setattr(folder, "TRUST_AFTER_NS", 0)  # the file is fresh: trust its stamp now
    ctx = open_context(config)
    assert pending_units(ctx.settings, ctx.db, wait=False) == [] and len(hashed) == 1
    assert pending_units(ctx.settings, ctx.db, wait=False) == [] and len(hashed) == 1  # cached
    path = tmp_path / "incoming" / "a.csv"
    st = os.stat(path)
    path.write_text(path.read_text().replace("g1,", "h1,"))
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))
    units = pending_units(ctx.settings, ctx.db, wait=False)
    assert [u.name for u in units] == ["a.csv"] and len(hashed) == 2


# --- half-written files ----------------------------------------------------------------------

WRITER = """
import sys, time
path, n = sys.argv[1], int(sys.argv[2])
with open(path, "w") as fh:
    fh.write("corporation,lastmonth_activity,lastyear_activity,number_of_employees,exited\\n")
    for i in range(n):
        fh.write(f"w{i},{i},{i},3,")
        fh.flush()
        time.sleep(0.01)
        fh.write(f"{i % 2}\\n")
        fh.flush()
"""


def test_a_file_being_written_is_read_once_complete(tmp_path: Path) -> None:
    config = _project(tmp_path, settle_seconds=1)
    path = tmp_path / "incoming" / "slow.csv"
    writer = subprocess.Popen([sys.executable, "-c", WRITER, str(path), "150"])
    try:
        time.sleep(0.3)
        check = run_cli("ingest", "--check", config=config)
        assert check.returncode == 0 and "still changing" in check.stdout
        first = run_cli("ingest", "--json", config=config)
        assert first.returncode == 0, first.stderr
    finally:
        writer.wait(timeout=60)
    report = json.loads(first.stdout)
    assert all(u["status"] in ("waiting", "ingested") for u in report["units"])
    done = run_cli("ingest", "--json", config=config)
    assert done.returncode == 0, done.stderr
    data = _rows(config)
    assert len(data) == 150 and data.corporation.is_unique  # each client once, none half-read
    assert data.exited.notna().all()


@pytest.mark.parametrize(
    "name",
    [
        "clients.csv.tmp",
        "clients.csv.part",
        "clients.csv.partial",
        "clients.csv.crdownload",
        "clients.csv.filepart",
        ".clients.csv",
        "~clients.csv",
        "_temporary/clients.csv",
        ".staging/clients.csv",
    ],
)
def test_temp_names_are_never_read(tmp_path: Path, name: str) -> None:
    config = _project(tmp_path)
    path = tmp_path / "incoming" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(HEADER + "t1,1,2,")  # incomplete, as a writer leaves it
    assert run_cli("ingest", "--check", config=config).returncode == 1
    assert run_cli("ingest", config=config).stdout.strip() == "nothing new"


def test_settle_time_waits_for_a_fresh_file_then_reads_it(tmp_path: Path) -> None:
    config = _project(tmp_path, settle_seconds=1.5)
    _good(tmp_path / "incoming" / "fresh.csv", 7)
    check = run_cli("ingest", "--check", config=config)
    assert check.returncode == 0 and "still changing" in check.stdout
    started = time.monotonic()
    done = run_cli("ingest", config=config)
    assert done.returncode == 0 and "7 accepted" in done.stdout, done.stdout
    assert time.monotonic() - started >= 0.5  # it waited rather than reading a fresh file


# --- links, special files and names -------------------------------------------------------------


def test_links_leaving_the_folder_are_refused_and_not_followed(tmp_path: Path) -> None:
    config = _project(tmp_path)
    incoming = tmp_path / "incoming"
    outside = tmp_path / "outside"
    outside.mkdir()
    secret = outside / "secret.csv"
    secret.write_text("root:x:0:0:root:/root:/bin/bash\n" + HEADER + "s1,1,2,3,0\n")
    os.symlink(secret, incoming / "secret.csv")
    os.symlink("/etc/passwd", incoming / "passwd.csv")
    os.symlink(outside, incoming / "linked-folder")
    os.symlink(incoming / "missing.csv", incoming / "broken.csv")
    _good(incoming / "real.csv", 4)
    os.symlink(incoming / "real.csv", incoming / "alias.csv")  # inside: harmless
    done = run_cli("ingest", config=config)
    assert done.returncode == 3
    for name in ("secret.csv", "passwd.csv", "linked-folder", "broken.csv"):
        line = _one_line_about(done, name)
        assert "REJECTED" in line and "root:x" not in line
    assert "not followed" in _one_line_about(done, "passwd.csv")
    messages = " ".join(r["message"] or "" for r in _records(config))
    assert "root:" not in messages and "/bin/bash" not in messages
    assert sorted(_rows(config).corporation) == [f"g{i}" for i in range(4)]
    assert run_cli("ingest", "--check", config=config).returncode == 1  # reported once


def test_a_fifo_is_refused_without_blocking(tmp_path: Path) -> None:
    config = _project(tmp_path)
    os.mkfifo(tmp_path / "incoming" / "pipe.csv")
    _good(tmp_path / "incoming" / "ok.csv", 3)
    done = run_cli("ingest", config=config, timeout=60)
    assert done.returncode == 3
    assert "not a regular file" in _one_line_about(done, "pipe.csv")
    assert len(_rows(config)) == 3


def test_names_with_control_characters_are_printed_escaped(tmp_path: Path) -> None:
    config = _project(tmp_path)
    incoming = tmp_path / "incoming"
    _good(incoming / "new\nline.csv", 2, prefix="n")
    _good(incoming / "\x1b[31mred.csv", 2, prefix="r")
    (incoming / "bad\rname.csv").write_text("nope\n1\n")
    os.close(os.open(os.fsencode(incoming) + b"/caf\xe9.csv", os.O_CREAT | os.O_WRONLY))
    (Path(os.fsdecode(os.fsencode(incoming) + b"/caf\xe9.csv"))).write_text(HEADER + "z1,1,2,3,0\n")
    done = run_cli("ingest", config=config)
    assert done.returncode == 3 and "Traceback" not in done.stderr, done.stderr
    out = done.stdout
    assert "\x1b" not in out and "\r" not in out
    assert "new\\nline.csv: 2 read" in out and "\\x1b[31mred.csv: 2 read" in out
    assert "caf\\xe9.csv: 1 read" in out
    assert "REJECTED drop: bad\\rname.csv" in out
    assert len(out.splitlines()) == 5  # one line per file plus the summary
    status = run_cli("status", "--json", config=config)
    assert status.returncode == 0 and "Traceback" not in status.stderr


# --- ids, labels, limits ---------------------------------------------------------------------


def test_a_parquet_float_id_and_a_csv_id_are_one_client(tmp_path: Path) -> None:
    config = _project(tmp_path)
    pd.DataFrame(
        {
            "corporation": [1001.0, 1002.0],
            "lastmonth_activity": [10.0, 11.0],
            "lastyear_activity": [200.0, 201.0],
            "number_of_employees": [5.0, 6.0],
            "exited": [0, 1],
        }
    ).to_parquet(tmp_path / "incoming" / "a.parquet")
    (tmp_path / "incoming" / "b.csv").write_text(HEADER + "1001,10,200,5,0\n1002.0,11,201,6,1\n")
    done = run_cli("ingest", "--json", config=config)
    assert done.returncode == 0, done.stderr
    units = {u["unit"]: u for u in json.loads(done.stdout)["units"]}
    assert units["b.csv"]["duplicate"] == 2 and units["b.csv"]["accepted"] == 0
    assert sorted(_rows(config).corporation) == ["1001", "1002"]


@pytest.mark.parametrize(("positive", "negative"), [(1, 0), ("true", "false"), ("True", "False")])
def test_parquet_boolean_labels_are_mapped(tmp_path: Path, positive: Any, negative: Any) -> None:
    (tmp_path / "incoming").mkdir()
    config = write_config(
        tmp_path,
        {
            "workspace": {"path": "ws"},
            "contract": course_contract(positive_label=positive, negative_label=negative),
            "sources": {"drop": {"kind": "folder", "path": "incoming", "settle_seconds": 0}},
        },
    )
    pd.DataFrame(
        {
            "corporation": ["a", "b", "c"],
            "lastmonth_activity": [1.0, 2.0, 3.0],
            "lastyear_activity": [1.0, 2.0, 3.0],
            "number_of_employees": [1.0, 2.0, 3.0],
            "exited": [True, False, None],
        }
    ).to_parquet(tmp_path / "incoming" / "labels.parquet")
    done = run_cli("ingest", "--json", config=config)
    assert done.returncode == 0, done.stderr
    unit = json.loads(done.stdout)["units"][0]
    assert (unit["accepted"], unit["quarantined"]) == (3, 0)
    data = _rows(config).set_index("corporation")
    assert data.loc["a", "exited"] == 1 and data.loc["b", "exited"] == 0
    assert pd.isna(data.loc["c", "exited"])


def test_a_50_mb_id_is_not_accepted(tmp_path: Path) -> None:
    config = _project(tmp_path)
    path = tmp_path / "incoming" / "huge.csv"
    with path.open("w") as fh:
        fh.write(HEADER + "ok1,1,2,3,0\n")
        fh.write("x" * (50 << 20) + ",1,2,3,0\n")
        fh.write("ok2,1,2,3,1\n")
    done = run_cli("ingest", "--json", config=config)
    assert "Traceback" not in done.stderr
    unit = json.loads(done.stdout)["units"][0]
    assert len(unit["message"]) < 300
    data = _rows(config)
    assert data.corporation.str.len().max() < 100 if len(data) else True
    if unit["status"] == "ingested":
        assert (unit["accepted"], unit["quarantined"]) == (2, 1)
        qfile = tmp_path / "ws" / unit["quarantine_path"]
        csv.field_size_limit(sys.maxsize)
        with qfile.open(newline="") as fh:
            row = next(csv.DictReader(fh))
        assert "too long" in row["_rw_reason"] and len(row["_rw_reason"]) < 200


def test_a_10k_column_file_gives_a_short_message(tmp_path: Path) -> None:
    config = _project(tmp_path)
    _good(tmp_path / "incoming" / "a.csv", 3)
    names = [f"column_with_a_long_name_{i}" for i in range(10_000)]
    (tmp_path / "incoming" / "wide.csv").write_text(
        ",".join(names) + "\n" + ",".join("1" * 10_000) + "\n"
    )
    done = run_cli("ingest", config=config)
    assert done.returncode == 3
    line = _one_line_about(done, "wide.csv")
    assert len(line) < 600 and "more" in line, line
    with sqlite3.connect(tmp_path / "ws" / "metadata.db") as db:
        stored = db.execute("SELECT message FROM ingestions WHERE unit = 'wide.csv'").fetchone()[0]
    assert len(stored) < 600


def test_quarantine_keeps_the_original_text_of_bad_values(tmp_path: Path) -> None:
    config = _project(tmp_path)
    _good(tmp_path / "incoming" / "a.csv", 5)
    bad_values = ["1e400", " 12abc ", "0x1A", "1,5", "-inf", "\u0661\u0662x"]
    lines = [f'q{i},"{v}",007,3,0' for i, v in enumerate(bad_values)]
    lines.append("q9,1,2,3,1.50")  # a label outside the classes, written as the file wrote it
    (tmp_path / "incoming" / "b.csv").write_text(HEADER + "\n".join(lines) + "\n")
    done = run_cli("ingest", "--json", config=config)
    assert done.returncode == 0, done.stderr
    unit = next(u for u in json.loads(done.stdout)["units"] if u["unit"] == "b.csv")
    assert unit["quarantined"] == len(bad_values) + 1
    with (tmp_path / "ws" / unit["quarantine_path"]).open(newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert [r["lastmonth_activity"] for r in rows[:-1]] == bad_values
    assert all(r["lastyear_activity"] == "007" for r in rows[:-1])  # the row's untouched text
    assert rows[-1]["exited"] == "1.50"


def test_rows_with_the_wrong_number_of_fields_are_quarantined_alone(tmp_path: Path) -> None:
    config = _project(tmp_path)
    content = HEADER + "r1,1,2,3,0\nr2,1,2,3,0,extra\nr3,1,2\nr4,1,2,3,1\n"
    (tmp_path / "incoming" / "ragged.csv").write_text(content)
    done = run_cli("ingest", "--json", config=config)
    assert done.returncode == 0, done.stderr
    unit = json.loads(done.stdout)["units"][0]
    assert (unit["read"], unit["accepted"], unit["quarantined"]) == (4, 2, 2)
    with (tmp_path / "ws" / unit["quarantine_path"]).open(newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert [(r["_rw_row"], r["_rw_text"]) for r in rows] == [
        ("2", "r2,1,2,3,0,extra"),
        ("3", "r3,1,2"),
    ]


@pytest.mark.parametrize("workspace", ["incoming/ws", "incoming"])
def test_a_workspace_inside_the_drop_folder_never_ingests_its_own_files(
    tmp_path: Path, workspace: str
) -> None:
    (tmp_path / "incoming").mkdir()
    config = write_config(
        tmp_path,
        {
            "workspace": {"path": workspace},
            "contract": course_contract(),
            "sources": {"drop": {"kind": "folder", "path": "incoming", "settle_seconds": 0}},
            "evaluation": {"path": "incoming/testdata"},
        },
    )
    (tmp_path / "incoming" / "testdata").mkdir()
    _good(tmp_path / "incoming" / "testdata" / "test.csv", 4, prefix="t")
    _good(tmp_path / "incoming" / "batch.csv", 20, prefix="a")
    with (tmp_path / "incoming" / "batch.csv").open("a") as fh:
        fh.write("a99,oops,2,3,1\n")
    first = run_cli("ingest", "--json", config=config)
    assert first.returncode == 0, first.stderr
    assert [u["unit"] for u in json.loads(first.stdout)["units"]] == ["batch.csv"]
    assert list((tmp_path / workspace / "quarantine").glob("*.csv"))  # a CSV in the folder
    assert run_cli("ingest", "--check", config=config).returncode == 1
    assert run_cli("ingest", config=config).stdout.strip() == "nothing new"


# --- rejected units and the contract -------------------------------------------------------------


def test_a_rejected_file_is_looked_at_again_when_the_contract_changes(tmp_path: Path) -> None:
    config = _project(tmp_path)
    incoming = tmp_path / "incoming"
    _good(incoming / "a.csv", 5)
    assert run_cli("ingest", config=config).returncode == 0
    (incoming / "b.csv").write_text(HEADER.strip() + ",bonus\nb1,1,2,3,0,9\n")
    assert run_cli("ingest", config=config).returncode == 3
    assert run_cli("ingest", "--check", config=config).returncode == 1  # same contract: settled
    # the contract now leaves 'bonus' out: the rejected file is pending again and accepted
    relaxed = _project(tmp_path, settle_seconds=0)
    text = relaxed.read_text().replace("[contract]\n", '[contract]\nexclude = ["bonus"]\n')
    relaxed.write_text(text)
    check = run_cli("ingest", "--check", config=relaxed)
    assert check.returncode == 0 and "b.csv" in check.stdout
    done = run_cli("ingest", "--json", config=relaxed)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["accepted"] == 1
    # nothing is ever ingested twice, even when asked to look at everything again
    again = run_cli("ingest", "--retry", "--json", config=relaxed)
    assert again.returncode == 0 and json.loads(again.stdout)["units"] == []
    assert sorted(_rows(config).corporation) == ["b1", *[f"g{i}" for i in range(5)]]


def test_retry_re_examines_every_rejected_file(tmp_path: Path) -> None:
    config = _project(tmp_path)
    incoming = tmp_path / "incoming"
    _good(incoming / "a.csv", 5)
    (incoming / "b.csv").write_text("corporation,exited\nq,1\n")
    assert run_cli("ingest", config=config).returncode == 3
    assert run_cli("ingest", "--check", config=config).returncode == 1
    check = run_cli("ingest", "--check", "--retry", config=config)
    assert check.returncode == 0 and "b.csv" in check.stdout and "a.csv" not in check.stdout
    retried = run_cli("ingest", "--retry", config=config)
    assert retried.returncode == 3 and "REJECTED drop: b.csv" in retried.stdout
    assert [r["status"] for r in _records(config) if r["unit"] == "b.csv"] == ["rejected"] * 2
    assert len(_rows(config)) == 5


# --- an older workspace -----------------------------------------------------------------------


OLD_SCHEMA = """
CREATE TABLE rw_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
INSERT INTO rw_meta VALUES ('schema', '1:0123456789abcdef');
CREATE TABLE ingestions (id {pk}, source TEXT NOT NULL,
    unit TEXT NOT NULL, content_hash TEXT, watermark_from TEXT, watermark_to TEXT,
    rows_read BIGINT NOT NULL DEFAULT 0, rows_accepted BIGINT NOT NULL DEFAULT 0,
    rows_quarantined BIGINT NOT NULL DEFAULT 0, rows_duplicate BIGINT NOT NULL DEFAULT 0,
    status TEXT NOT NULL, message TEXT, quarantine_path TEXT, dataset_version INTEGER,
    started_at TEXT NOT NULL, finished_at TEXT NOT NULL, duration_s REAL NOT NULL);
CREATE TABLE file_hashes (source TEXT NOT NULL, path TEXT NOT NULL, size BIGINT NOT NULL,
    mtime_ns BIGINT NOT NULL, content_hash TEXT NOT NULL, PRIMARY KEY (source, path));
CREATE TABLE watermarks (source TEXT PRIMARY KEY, value TEXT NOT NULL, kind TEXT NOT NULL,
    updated_at TEXT NOT NULL);
INSERT INTO file_hashes VALUES ('drop', 'a.csv', 1, 1, 'x');
INSERT INTO ingestions (source, unit, content_hash, status, started_at, finished_at, duration_s)
    VALUES ('drop', 'old.csv', 'abc', 'ingested', 't', 't', 0);
"""


@pytest.mark.parametrize(
    "backend", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def test_a_workspace_from_schema_version_1_is_migrated(
    tmp_path: Path, backend: str, request: pytest.FixtureRequest
) -> None:
    from riskwatch.storage import metadata

    url = request.getfixturevalue("pg_url") if backend == "postgres" else None
    config = _project(tmp_path)
    if url:
        config.write_text(
            config.read_text().replace("[workspace]\n", f'[workspace]\nmetadata_url = "{url}"\n')
        )
        import psycopg

        with psycopg.connect(url, autocommit=True) as conn:
            for statement in OLD_SCHEMA.format(pk="BIGSERIAL PRIMARY KEY").split(";"):
                if statement.strip():
                    conn.execute(statement)
    else:
        (tmp_path / "ws").mkdir()
        with sqlite3.connect(tmp_path / "ws" / "metadata.db") as old:
            old.executescript(OLD_SCHEMA.format(pk="INTEGER PRIMARY KEY AUTOINCREMENT"))
    _good(tmp_path / "incoming" / "a.csv", 3)
    for _ in range(2):  # the second open finds the columns there already
        done = run_cli("ingest", config=config)
        assert done.returncode == 0 and "Traceback" not in done.stderr, done.stderr
    ctx = open_context(config)
    for table, column, _ in metadata.ADDED_COLUMNS:
        ctx.db.execute(f"SELECT {column} FROM {table} LIMIT 1")  # the column exists
    kept = ctx.db.execute("SELECT unit, rows_late FROM ingestions ORDER BY id")
    assert kept[0] == ("old.csv", 0) and [u for u, _ in kept] == ["old.csv", "a.csv"]
    assert ctx.db.scalar("SELECT value FROM rw_meta WHERE key = 'schema'").startswith("2:")
    ctx.db.close()
    assert run_cli("ingest", "--check", config=config).returncode == 1


def test_course_files_still_ingest_as_before(course_project: Path) -> None:
    from tests.conftest import drop

    drop(course_project, *sorted((COURSE / "practicedata").glob("*.csv")))
    done = run_cli("ingest", "--json", config=course_project)
    assert done.returncode == 0 and json.loads(done.stdout)["accepted"] == 26
