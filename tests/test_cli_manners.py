"""The CLI's manners: one line per user error with a documented exit code, --version, help that
is not cut off, refusals that exit non-zero, and files created with the user's umask."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import drop
from tests.helpers import COURSE, run_cli

COMMANDS = [
    ["init"],
    ["demo"],
    ["ingest"],
    ["run"],
    ["runs"],
    ["status"],
    ["train"],
    ["score"],
    ["deploy"],
    ["rollback", "--reason", "x"],
    ["models"],
    ["predict", "-i", "a.csv", "-o", "b.csv"],
    ["serve"],
    ["api-report"],
    ["drift"],
    ["diagnose"],
    ["report"],
    ["schedule", "show"],
    ["schedule", "install"],
    ["schedule", "remove"],
    ["schedule", "print"],
]


def _one_line(done: subprocess.CompletedProcess[str]) -> str:
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert "Traceback" not in done.stderr
    return lines[0]


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: " ".join(c[:2]))
def test_a_bad_flag_is_one_line_naming_the_command(
    course_project: Path, command: list[str]
) -> None:
    done = run_cli(*command, "--no-such-flag", config=course_project)
    assert done.returncode == 2
    line = _one_line(done)
    assert f"riskwatch {command[0]}" in line and "--no-such-flag" in line


@pytest.mark.parametrize(
    "command", [c for c in COMMANDS if c[0] != "init"], ids=lambda c: " ".join(c[:2])
)  # init writes the config
def test_a_missing_config_file_is_one_line(tmp_path: Path, command: list[str]) -> None:
    missing = tmp_path / "nope.toml"
    done = run_cli("--config", str(missing), *command)
    assert done.returncode == 2, done.stderr
    assert "nope.toml" in _one_line(done)


@pytest.mark.parametrize(
    ("args", "code", "needle"),
    [
        (["runs", "--limit", "zero"], 2, "--limit"),
        (["runs", "--limit", "0"], 2, "--limit"),
        (["score", "--model-version", "-3"], 2, "--model-version"),
        (["score", "--model-version", "99"], 6, "99"),
        (["deploy", "-m", "abc"], 2, "-m"),
        (["schedule", "print", "--every", "7m"], 2, "7m"),
        (["demo", "--clients", "3"], 2, "--clients"),
        (["rollback"], 2, "--reason"),
        (["rollback", "--reason", "  "], 2, "reason"),
        (["predict", "-i", "missing.csv", "-o", "out.csv"], 6, "missing.csv"),
        (["drift", "-i", "missing.csv"], 6, "missing.csv"),
        (["init", "--from", "missing.csv", "new.toml"], 6, "missing.csv"),
    ],
)
def test_bad_values_and_missing_files_are_one_line(
    course_project: Path, args: list[str], code: int, needle: str
) -> None:
    drop(course_project, COURSE / "practicedata" / "dataset1.csv")
    assert run_cli("run", config=course_project).returncode == 0
    done = subprocess.run(
        [sys.executable, "-m", "riskwatch", "--config", str(course_project), *args],
        capture_output=True,
        text=True,
        cwd=course_project.parent,
        check=False,
    )
    assert done.returncode == code, (done.returncode, done.stderr)
    assert needle in _one_line(done)


def test_version_and_verbose() -> None:
    from riskwatch import __version__

    done = run_cli("--version")
    assert done.returncode == 0 and done.stdout.strip() == f"riskwatch {__version__}"
    assert run_cli("-v", "--version").stdout.strip() == f"riskwatch {__version__}"
    helped = run_cli("-h", env={"COLUMNS": "120"})
    assert helped.returncode == 0 and "-v, --verbose" in helped.stdout
    for line in helped.stdout.split("Commands:")[1].splitlines():
        assert not line.rstrip().endswith("..."), line  # no command summary cut off


def test_a_refused_deploy_and_a_failed_api_report_exit_non_zero(course_project: Path) -> None:
    drop(course_project, COURSE / "practicedata" / "dataset1.csv")
    assert run_cli("run", config=course_project).returncode == 0
    again = run_cli("deploy", "-m", "1", config=course_project)  # already the champion
    assert again.returncode == 1 and "not promoted" in again.stdout
    nobody = run_cli("api-report", "--url", "http://127.0.0.1:9", config=course_project)
    assert nobody.returncode == 4 and "127.0.0.1:9" in _one_line(nobody)


def test_files_are_created_with_the_users_umask(tmp_path: Path) -> None:
    env = {**os.environ}
    code = (
        "import os; os.umask(0o022); from riskwatch.cli import main; "
        f"main(['init', {str(tmp_path / 'a.toml')!r}])"
    )
    subprocess.run([sys.executable, "-c", code], env=env, check=False, capture_output=True)
    mode = stat.S_IMODE((tmp_path / "a.toml").stat().st_mode)
    assert mode == 0o644, oct(mode)
