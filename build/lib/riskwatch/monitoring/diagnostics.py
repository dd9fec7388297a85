"""Diagnostics: summary statistics, missing data, step timings and dependency status.

Results are stored in the metadata database (``diagnostics``), so the API answers instantly.
The dependency check reads installed versions from this interpreter's metadata (never a ``pip``
on PATH) and asks the package index for the latest ones with a short overall deadline; with no
network it answers "unknown" at once and never blocks a run.
"""

from __future__ import annotations

import json
import os
import re
import time
from concurrent.futures import ThreadPoolExecutor, wait
from pathlib import Path
from typing import TYPE_CHECKING, Any

from riskwatch.storage.metadata import now
from riskwatch.storage.workspace import read_cache, write_cache

if TYPE_CHECKING:
    import pandas as pd

    from riskwatch.context import RunContext
    from riskwatch.schema import DataSchema
    from riskwatch.storage.workspace import Workspace

INDEX = "https://pypi.org/pypi"
DEADLINE_S = 2.0
CACHE_HOURS = 24  # the index is asked at most once a day
DEPENDENCY_CACHE = "dependencies.json"
_PIN = re.compile(r"^([A-Za-z0-9_.\-]+)(?:\[[^\]]*\])?==([^\s;\\]+)")


def summary_stats(frame: pd.DataFrame, schema: DataSchema) -> dict[str, Any]:
    """Per-feature statistics (numeric: mean, median, std, min, max, quartiles; categorical: counts)
    and the label rate, reported separately because the label is not a feature."""
    import pandas as pd

    numeric, categorical = {}, {}
    for col in schema.features:
        if col not in frame.columns:
            continue
        s = frame[col]
        if col in schema.categorical:
            counts = s.astype("string").value_counts(dropna=True)
            categorical[col] = {
                "count": int(s.notna().sum()),
                "unique": int(counts.size),
                "top": {str(k): int(v) for k, v in counts.head(5).items()},
            }
        else:
            x = pd.to_numeric(s, errors="coerce").astype("float64")
            q = x.quantile([0.05, 0.25, 0.75, 0.95]).to_numpy() if x.notna().any() else [None] * 4
            numeric[col] = {
                "count": int(x.notna().sum()),
                "mean": _f(x.mean()),
                "median": _f(x.median()),
                "std": _f(x.std()),
                "min": _f(x.min()),
                "max": _f(x.max()),
                "q05": _f(q[0]),
                "q25": _f(q[1]),
                "q75": _f(q[2]),
                "q95": _f(q[3]),
            }
    label = frame[schema.target_column] if schema.target_column in frame.columns else None
    labelled = int(label.notna().sum()) if label is not None else 0
    positives = int((label == 1).sum()) if label is not None else 0
    return {
        "rows": len(frame),
        "numeric": numeric,
        "categorical": categorical,
        "label": {
            "column": schema.target_column,
            "labelled": labelled,
            "positives": positives,
            "rate": positives / labelled if labelled else None,
        },
    }


def missing_data(frame: pd.DataFrame) -> dict[str, float]:
    """Share of missing values per column (every column)."""
    n = len(frame)
    return {str(c): (float(frame[c].isna().sum()) / n if n else 0.0) for c in frame.columns}


def _f(v: Any) -> float | None:
    try:
        out = float(v)
    except (TypeError, ValueError):
        return None
    return None if out != out else out


def timings(history: dict[str, list[tuple[str, float]]]) -> dict[str, Any]:
    """Latest duration per step, its history and trend (mean of the last 5 vs the 5 before).

    Args:
        history: step -> (started_at, seconds), newest first (see ``storage.records.step_timings``).
    """
    out: dict[str, Any] = {}
    for step, rows in history.items():
        values = [seconds for _, seconds in rows]
        recent, before = values[:5], values[5:10]
        trend = (
            (sum(recent) / len(recent)) / (sum(before) / len(before))
            if before and sum(before) > 0
            else None
        )
        out[step] = {
            "latest_s": values[0],
            "at": rows[0][0],
            "runs": len(values),
            "history": [{"at": at, "seconds": seconds} for at, seconds in reversed(rows)],
            "trend_ratio": trend,
        }
    return out


def lock_file() -> Path | None:
    """The project's requirements.lock, when running from a checkout."""
    import riskwatch

    path = Path(riskwatch.__file__).resolve().parents[2] / "requirements.lock"
    return path if path.is_file() else None


def required_packages() -> dict[str, str]:
    """Package -> required version (pinned in the lock file, else riskwatch's declared ranges)."""
    from importlib import metadata

    path = lock_file()
    if path is not None:
        pins = {}
        for line in path.read_text().splitlines():
            m = _PIN.match(line.strip())
            if m:
                pins[m[1].lower()] = m[2]
        return pins
    reqs = metadata.requires("riskwatch") or []
    return {
        re.split(r"[<>=!~\[ ;]", r, maxsplit=1)[0].lower(): r for r in reqs if "extra ==" not in r
    }


def dependencies(
    ws: Workspace, *, network: bool = True, deadline: float = DEADLINE_S
) -> list[dict[str, Any]]:
    """Required, installed and latest version of every locked package; cached in the workspace."""
    from importlib import metadata

    required = required_packages()
    latest: dict[str, str | None] = dict.fromkeys(required)
    note = "not checked (offline)"
    cached = _cached_latest(ws, required)
    if cached is not None:  # asked the index less than a day ago: every run need not ask again
        latest, note = cached, ""
    elif network:
        latest, note = _latest_versions(list(required), deadline)
    rows = []
    for name, req in sorted(required.items()):
        try:
            installed: str | None = metadata.version(name)
        except metadata.PackageNotFoundError:
            installed = None
        new = latest.get(name)
        rows.append(
            {
                "package": name,
                "required": req,
                "installed": installed,
                "latest": new or f"unknown ({note})",
                "outdated": bool(new and installed and new != installed),
            }
        )
    write_cache(
        ws,
        DEPENDENCY_CACHE,
        {"checked_at": now(), "complete": all(v for v in latest.values()), "packages": rows},
    )
    return rows


def _cached_latest(ws: Workspace, required: dict[str, str]) -> dict[str, str | None] | None:
    """Latest versions from a complete index answer cached less than CACHE_HOURS ago."""
    from datetime import UTC, datetime, timedelta

    cache = read_cache(ws, DEPENDENCY_CACHE)
    try:
        age = datetime.now(UTC) - datetime.fromisoformat(cache["checked_at"])
        latest = {r["package"]: r["latest"] for r in cache["packages"]}
    except (OSError, ValueError, KeyError, TypeError):
        return None
    fresh = age < timedelta(hours=CACHE_HOURS) and cache.get("complete")
    if not fresh or set(latest) != set(required):
        return None
    return dict(latest)


def _latest_versions(names: list[str], deadline: float) -> tuple[dict[str, str | None], str]:
    import urllib.request

    base = os.environ.get("RISKWATCH_PACKAGE_INDEX", INDEX).rstrip("/")
    out: dict[str, str | None] = dict.fromkeys(names)

    def one(name: str) -> None:
        with urllib.request.urlopen(f"{base}/{name}/json", timeout=deadline) as resp:
            out[name] = json.load(resp)["info"]["version"]

    pool = ThreadPoolExecutor(max_workers=16)
    futures = [pool.submit(one, n) for n in names]
    done, pending = wait(futures, timeout=deadline)
    pool.shutdown(wait=False, cancel_futures=True)
    failed = sum(1 for f in done if f.exception() is not None)
    if pending or failed:
        return out, "index unreachable" if len(pending) + failed == len(
            names
        ) else "index timed out"
    return out, ""


def run_diagnostics(ctx: RunContext, *, network: bool = True) -> dict[str, Any]:
    """Compute every diagnostic on the current dataset and store it."""
    from riskwatch.storage.records import record_diagnostics, step_timings

    t0 = time.perf_counter()
    version = ctx.version
    out: dict[str, Any] = {"dataset_version": version.version if version else None}
    if version is not None:
        frame = ctx.data().frame
        out["summary"] = summary_stats(frame, version.schema)
        out["missing"] = missing_data(frame)
    out["timings"] = timings(step_timings(ctx.db))
    out["dependencies"] = dependencies(ctx.ws, network=network)
    out["seconds"] = time.perf_counter() - t0
    kinds = ("summary", "missing", "timings", "dependencies")
    record_diagnostics(
        ctx.db, {k: out[k] for k in kinds if k in out}, dataset_version=out["dataset_version"]
    )
    return out
