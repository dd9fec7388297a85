"""Test helpers: write configs, run the CLI in-process or as a real subprocess."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from riskwatch.context import RunContext
    from riskwatch.schema import DataSchema

FIXTURES = Path(__file__).parent / "fixtures"
COURSE = FIXTURES / "course"
PG_URL = "postgresql://postgres@127.0.0.1:5432/test"


def toml_value(value: Any) -> str:
    """A TOML literal for a scalar or a list of scalars."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    return json.dumps(str(value))


def write_config(
    folder: Path, sections: dict[str, dict[str, Any]], name: str = "riskwatch.toml"
) -> Path:
    """Write a TOML config; nested dicts become sub-tables (``sources.x``).

    Reports are written inline unless the sections say otherwise: tests read them right after
    the run (tests/test_report_background.py covers the background default).
    """
    sections = {"report": {"background": False}, **sections}
    lines: list[str] = []

    def emit(prefix: str, table: dict[str, Any]) -> None:
        scalars = {k: v for k, v in table.items() if not isinstance(v, dict)}
        lines.append(f"[{prefix}]")
        lines.extend(f"{k} = {toml_value(v)}" for k, v in scalars.items() if v is not None)
        for k, v in table.items():
            if isinstance(v, dict):
                emit(f"{prefix}.{k}", v)

    for section, table in sections.items():
        emit(section, table)
    path = folder / name
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def demo_config(root: Path, name: str = "riskwatch.toml", **sections: dict[str, Any]) -> Path:
    """A config for demo files in ``root/incoming`` (logistic model; ``sections`` override)."""
    return write_config(
        root,
        {
            "workspace": {"path": "ws"},
            "contract": demo_contract(),
            "sources": {"drop": {"kind": "folder", "path": "incoming"}},
            "training": {"model": "logistic"},
            **sections,
        },
        name=name,
    )


def small_schema() -> DataSchema:
    """Two numbers and one category: id ``id``, label ``y`` (1 positive)."""
    from riskwatch.schema import DataSchema

    return DataSchema(
        id_column="id",
        target_column="y",
        positive_label=1,
        negative_label=0,
        numeric=("a", "b"),
        categorical=("k",),
    )


def course_contract(**extra: Any) -> dict[str, Any]:
    """The course data contract."""
    return {
        "id_column": "corporation",
        "target_column": "exited",
        "positive_label": 1,
        "dedupe": "identical",
        **extra,
    }


def open_context(config: Path) -> RunContext:
    """A run context on a config's workspace and metadata database (in this process)."""
    from riskwatch.config import load_settings
    from riskwatch.context import RunContext
    from riskwatch.storage.metadata import open_metadata
    from riskwatch.storage.workspace import Workspace

    settings = load_settings(config)
    ws = Workspace(settings.workspace_path).ensure()
    return RunContext(settings, open_metadata(settings.metadata_url), ws)


def run_cli(
    *args: str, config: Path | None = None, env: dict[str, str] | None = None, timeout: float = 300
) -> subprocess.CompletedProcess[str]:
    """Run ``riskwatch`` as a real subprocess (the installed console script's module)."""
    full_env = {**os.environ, **(env or {})}
    if config is not None:
        full_env["RISKWATCH_CONFIG"] = str(config)
    return subprocess.run(
        [sys.executable, "-m", "riskwatch", *args],
        capture_output=True,
        text=True,
        env=full_env,
        timeout=timeout,
        check=False,
    )


def demo_contract() -> dict[str, Any]:
    """The demo population's data contract (snapshots, value at risk, latest record wins)."""
    return {
        "id_column": "corporation",
        "target_column": "exited",
        "positive_label": 1,
        "snapshot_column": "snapshot_date",
        "value_column": "contract_value",
        "dedupe": "latest",
    }


def course_sections(incoming: str = "incoming") -> dict[str, dict[str, Any]]:
    """The course's setup: drop folder, separate testdata, the course model, F1."""
    return {
        "workspace": {"path": "ws"},
        "contract": course_contract(),
        "sources": {"drop": {"kind": "folder", "path": incoming, "settle_seconds": 0}},
        "evaluation": {"path": str(COURSE / "testdata")},
        "training": {"model": "course", "calibration": "none"},
        "scoring": {"primary_metric": "f1"},
    }


HEAVY_MODULES = frozenset({"pandas", "sklearn", "scipy", "matplotlib", "pyarrow", "sqlalchemy"})


def imported_modules(
    config: Path, *args: str, full: bool = False
) -> tuple[subprocess.CompletedProcess[str], set[str]]:
    """Run the CLI in a subprocess; return its result and the modules it imported (top-level
    names, or full dotted names with ``full``)."""
    names = "sys.modules" if full else "{m.split('.')[0] for m in sys.modules}"
    code = (
        "import sys, runpy\n"
        "sys.argv = ['riskwatch', *sys.argv[1:]]\n"
        "try:\n    runpy.run_module('riskwatch', run_name='__main__')\n"
        f"finally:\n    print('MODULES=' + ','.join(sorted({names})), file=sys.stderr)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, "--config", str(config), *args],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    line = next(x for x in done.stderr.splitlines() if x.startswith("MODULES="))
    return done, set(line.removeprefix("MODULES=").split(","))


@contextmanager
def hold_lock(workspace: Path) -> Iterator[int]:
    """Hold the workspace lock in another process for the block; yields that process's pid."""
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import time\nfrom pathlib import Path\nfrom riskwatch.storage.workspace import Workspace\n"
            f"with Workspace(Path({str(workspace)!r})).lock():\n    print('locked', flush=True)\n    time.sleep(60)\n",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
        yield holder.pid
    finally:
        holder.kill()
        holder.wait()
