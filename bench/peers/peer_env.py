"""The two peers for bench/peers.py: found as fetched git snapshots, unpacked at run time, run as-is.

Nothing of the peers is stored in this repository. At run time their sources come out of a bare
git directory (``git archive HEAD | tar -x``) into bench/.work; each benchmark case gets a fresh
folder with their ``*.py`` files and their own ``config.json`` with only its paths changed (to the
generated data). They run unchanged in a separate virtualenv (bench/.work/peers-venv) built from
bench/peers/requirements.txt.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

MIRRORS = Path("/work/.mirror")
PEER_REPOS = {
    "P1": "ChristopherCochet/dynamic_customer_churn_risk_assessment_pipeline",
    "P2": "Udacity-ML-DevOps-Engineer/Build-Dynamic-Churn-Risk-Assessment-System",
}
REQUIREMENTS = Path(__file__).with_name("requirements.txt")
# where each peer's scripts read their input folder and test data (their config.json keys)
INPUT_KEY, TEST_KEY = "input_folder_path", "test_data_path"


def how_to_fetch(name: str) -> str:
    repo = PEER_REPOS[name]
    return (
        f"{name} ({repo}) not found: fetch the public repository as a bare git directory "
        f"(the search tool's `fetch github:{repo}`, or `git clone --bare` of it) and pass it "
        f"with --{name.lower()} PATH, or put it at {MIRRORS}/{repo.replace('/', '+')}/repo"
    )


def find_mirror(name: str, explicit: Path | None) -> Path | None:
    """The bare git directory of peer ``name``: ``explicit``, else the fetch tool's location."""
    repo = PEER_REPOS[name]
    base = MIRRORS / repo.replace("/", "+")
    for candidate in [explicit] if explicit else [base / "repo", base]:
        if not candidate.exists():
            continue
        ok = subprocess.run(
            ["git", f"--git-dir={candidate}", "rev-parse", "--verify", "HEAD"],
            capture_output=True,
        )
        if ok.returncode == 0:
            return candidate
    return None


@dataclass
class Peer:
    """One peer's unpacked sources and what the report says about them."""

    name: str
    repo: str
    src: Path
    commit: str
    licence: str
    slash_paths: bool  # P1 joins os.getcwd() + "/folder/"; P2 uses plain relative names

    def describe(self) -> str:
        return f"{self.name} = {self.repo} @ {self.commit[:10]} ({self.licence})"


def unpack(name: str, mirror: Path, into: Path) -> Peer:
    """``git archive HEAD`` of ``mirror`` extracted into ``into``/src (replaced if present)."""
    src = into / "src"
    shutil.rmtree(src, ignore_errors=True)
    src.mkdir(parents=True)
    commit = subprocess.run(
        ["git", f"--git-dir={mirror}", "rev-parse", "HEAD"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    archive = subprocess.Popen(
        ["git", f"--git-dir={mirror}", "archive", "HEAD"], stdout=subprocess.PIPE
    )
    subprocess.run(["tar", "-x", "-C", str(src)], stdin=archive.stdout, check=True)
    if archive.stdout:
        archive.stdout.close()
    if archive.wait() != 0:
        raise RuntimeError(f"git archive failed for {mirror}")
    licence = "no licence file in the repository"
    for cand in ("LICENSE", "LICENSE.md", "LICENSE.txt", "COPYING"):
        if (src / cand).exists():
            first = (src / cand).read_text(errors="replace").strip().splitlines()[0]
            licence = f"{first.strip()}, {cand}"
            break
    config = json.loads((src / "config.json").read_text())
    slash = str(config.get(INPUT_KEY, "")).startswith("/")
    return Peer(name, PEER_REPOS[name], src, commit, licence, slash)


def peer_dir(peer: Peer, dest: Path) -> Path:
    """A fresh working folder: the peer's code, its config.json with our paths, empty folders.

    Every ``*_path`` key keeps its folder name except the input folder (``in``) and the test data
    (``testdata``); the path style (P1's ``/name/`` joined to the cwd) is kept.
    """
    shutil.rmtree(dest, ignore_errors=True)
    dest.mkdir(parents=True)
    for f in peer.src.iterdir():
        if f.is_file() and f.suffix in (".py", ".txt", ".cfg") and f.name != "cronjob.txt":
            shutil.copy2(f, dest / f.name)
    config = json.loads((peer.src / "config.json").read_text())
    for key, value in list(config.items()):
        if not key.endswith("_path") or not isinstance(value, str):
            continue
        folder = {INPUT_KEY: "in", TEST_KEY: "testdata"}.get(key, value.strip("/"))
        config[key] = f"/{folder}/" if peer.slash_paths else folder
        (dest / folder).mkdir(parents=True, exist_ok=True)
    (dest / "config.json").write_text(json.dumps(config, indent=2))
    return dest


def link(src: Path, dest: Path) -> None:
    """Hard-link (or copy) a data file into a peer or riskwatch folder."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    if dest.exists():
        dest.unlink()
    try:
        os.link(src, dest)
    except OSError:
        shutil.copy2(src, dest)


def ensure_venv(venv: Path, say: object = print) -> Path:
    """bench/.work/peers-venv with bench/peers/requirements.txt installed; returns its python."""
    python = venv / "bin" / "python"
    wanted = hashlib.sha256(REQUIREMENTS.read_bytes()).hexdigest()
    marker = venv / ".bench-requirements"
    if python.exists() and marker.exists() and marker.read_text() == wanted:
        return python
    say(f"installing the peers' environment into {venv} (once; a minute or two)")  # type: ignore[operator]
    if not python.exists():
        base = getattr(sys, "_base_executable", sys.executable)
        subprocess.run([base, "-m", "venv", str(venv)], check=True)
    subprocess.run(
        [str(python), "-m", "pip", "install", "--quiet", "-r", str(REQUIREMENTS)],
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    marker.write_text(wanted)
    return python


def peer_env(venv: Path) -> dict[str, str]:
    """Environment for a peer process: its venv first on PATH (P1 shells out to python3 and pip)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("RISKWATCH_", "VIRTUAL_ENV"))}
    env["PATH"] = f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '/usr/bin:/bin')}"
    env["VIRTUAL_ENV"] = str(venv)
    env["MPLBACKEND"] = "Agg"
    env.pop("PYTHONPATH", None)
    return env


def file_digest(path: Path) -> str | None:
    return hashlib.sha256(path.read_bytes()).hexdigest() if path.exists() else None


def deployed_model(folder: Path) -> Path:
    """The pickle the peer's API and fullprocess use (its prod_deployment_path)."""
    config = json.loads((folder / "config.json").read_text())
    return folder / config["prod_deployment_path"].strip("/") / "trainedmodel.pkl"


def model_folder(folder: Path) -> Path:
    config = json.loads((folder / "config.json").read_text())
    return folder / config["output_model_path"].strip("/")


def ingested_csv(folder: Path) -> Path:
    config = json.loads((folder / "config.json").read_text())
    return folder / config["output_folder_path"].strip("/") / "finaldata.csv"


SETUP_STEPS = ("ingestion.py", "training.py", "scoring.py", "deployment.py")


def run_quiet(cmd: list[str], *, env: dict[str, str], cwd: Path, what: str) -> None:
    """An untimed set-up step; fails with the tail of its output."""
    done = subprocess.run(cmd, env=env, cwd=cwd, capture_output=True, text=True, timeout=3600)
    if done.returncode != 0:
        raise RuntimeError(f"{what}: exit {done.returncode}: {(done.stderr or done.stdout)[-400:]}")


def deploy_state(folder: Path, python: Path, env: dict[str, str]) -> None:
    """The peer's own scripts in course order: ingest, train, score, deploy (untimed set-up)."""
    for script in SETUP_STEPS:
        run_quiet([str(python), script], env=env, cwd=folder, what=f"{folder.name}: {script}")
    if not deployed_model(folder).exists():
        raise RuntimeError(f"{folder}: no deployed model after {', '.join(SETUP_STEPS)}")
