"""Scheduling: the cron entry, installed for real with crontab and run the way cron runs it."""

from __future__ import annotations

import sqlite3
import subprocess
import time
from pathlib import Path

import pytest

from riskwatch.errors import ConfigError
from riskwatch.pipeline.schedule import next_run, to_schedule
from tests.helpers import run_cli

CRON_ENV = {"HOME": "/root", "LOGNAME": "root", "PATH": "/usr/bin:/bin", "SHELL": "/bin/sh"}


def _crontab_lines(binary: str) -> list[str]:
    out = subprocess.run([binary, "-l"], capture_output=True, text=True, check=False).stdout
    return [line for line in out.splitlines() if line.strip() and not line.startswith("#")]


@pytest.mark.parametrize(
    ("every", "expected"),
    [
        ("10m", "*/10 * * * *"),
        ("1m", "* * * * *"),
        ("2h", "0 */2 * * *"),
        ("1d", "0 2 * * *"),
        ("15 3 * * 1-5", "15 3 * * 1-5"),
    ],
)
def test_schedule_expressions(every: str, expected: str) -> None:
    assert to_schedule(every) == expected


@pytest.mark.parametrize("bad", ["7m", "3d", "often", "61 * * * *", "* * *"])
def test_bad_schedule_is_a_config_error(bad: str) -> None:
    with pytest.raises(ConfigError, match="schedule"):
        to_schedule(bad)


def test_next_run_is_in_the_future() -> None:
    from datetime import datetime

    start = datetime(2026, 1, 1, 10, 3)
    assert next_run("*/10 * * * *", after=start) == datetime(2026, 1, 1, 10, 10)


def test_print_uses_absolute_paths(course_project: Path) -> None:
    result = run_cli("schedule", "print", "--every", "10m", config=course_project)
    assert result.returncode == 0, result.stderr
    line = result.stdout.strip()
    assert line.startswith("*/10 * * * * ")
    assert str(course_project.resolve()) in line
    assert " run --cron >> " in line and "cron-output.log" in line
    python = line.split("&&", 1)[1].split()[0]
    assert Path(python).is_absolute() and Path(python).exists()


def test_install_is_idempotent_show_and_remove(course_project: Path, crontab: str) -> None:
    for _ in range(2):
        result = run_cli("schedule", "install", "--every", "10m", config=course_project)
        assert result.returncode == 0, result.stderr
    mine = [line for line in _crontab_lines(crontab) if str(course_project.resolve()) in line]
    assert len(mine) == 1 and mine[0].startswith("*/10 * * * *")
    shown = run_cli("schedule", "show", config=course_project)
    assert shown.returncode == 0 and "next run:" in shown.stdout
    status = run_cli("status", "--json", config=course_project)
    assert '"schedule": "*/10 * * * *"' in status.stdout
    # a second config gets its own entry; removing one leaves the other
    other = course_project.parent / "other.toml"
    other.write_text(course_project.read_text())
    assert run_cli("schedule", "install", "--every", "1h", config=other).returncode == 0
    assert run_cli("schedule", "remove", config=course_project).returncode == 0
    left = _crontab_lines(crontab)
    assert not any(str(course_project.resolve()) in line for line in left)
    assert any(str(other.resolve()) in line for line in left)
    assert run_cli("schedule", "remove", config=other).returncode == 0
    assert run_cli("schedule", "show", config=course_project).returncode == 1


def test_installed_line_runs_under_cron_environment(course_project: Path, crontab: str) -> None:
    """Run the installed command exactly as cron would: ``sh -c`` with cron's minimal environment."""
    assert run_cli("schedule", "install", "--every", "10m", config=course_project).returncode == 0
    line = next(x for x in _crontab_lines(crontab) if str(course_project.resolve()) in x)
    command = line.split(None, 5)[5].rsplit(" # riskwatch:", 1)[0]
    done = subprocess.run(
        ["/bin/sh", "-c", command], env=CRON_ENV, cwd="/", timeout=120, check=False
    )
    assert done.returncode == 0
    ws = course_project.parent / "ws"
    with sqlite3.connect(ws / "metadata.db") as db:
        rows = db.execute("SELECT trigger, status FROM runs").fetchall()
    assert rows == [("cron", "nothing_new")]
    assert (ws / "logs" / "riskwatch.log").read_text().count("no new data") == 1
    assert (ws / "logs" / "cron-output.log").exists()


@pytest.mark.slow
def test_cron_daemon_fires_the_entry(course_project: Path, crontab: str) -> None:
    """The real cron daemon runs the entry (every minute) within about a minute."""
    daemon = subprocess.run(["pgrep", "-x", "cron"], capture_output=True, check=False)
    if daemon.returncode != 0:
        pytest.skip("the cron daemon is not running (.ci/run starts it)")
    assert run_cli("schedule", "install", "--every", "1m", config=course_project).returncode == 0
    db_path = course_project.parent / "ws" / "metadata.db"
    deadline = time.monotonic() + 130
    rows: list[tuple[str, str]] = []
    while time.monotonic() < deadline and not rows:
        time.sleep(3)
        if db_path.exists():
            with sqlite3.connect(db_path) as db:
                try:
                    rows = db.execute("SELECT trigger, status FROM runs").fetchall()
                except sqlite3.OperationalError:
                    rows = []
    assert rows and rows[0] == ("cron", "nothing_new")
