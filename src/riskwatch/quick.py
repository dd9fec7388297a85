"""The cron fast path: ``riskwatch run`` with nothing new, without importing pydantic or typer.

A cron tick usually finds nothing new, so it should cost little more than starting Python. When
the full CLI has validated a config, it stores the validated settings in the workspace cache,
keyed by the config file's content and the ``RISKWATCH_*`` environment. A later ``run`` whose
config and environment hash to the same key reads those settings (JSON, stdlib only), checks the
sources, records "no new data" and exits. Anything else — other arguments, a changed config, work
to do, any surprise — returns None and the full CLI takes over (and reports errors properly).
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

STAMP = "settings.json"
PROPERTIES = "__properties__"  # a section's simple property values, beside its fields
_FLAGS = {"--cron", "--json"}


class Namespace:
    """Read-only attribute access to validated settings as dumped to JSON (paths as Path).

    ``model_dump(mode="json")`` gives back the dump, so code that fingerprints a section sees
    the same text as with the pydantic settings.
    """

    def __init__(self, data: dict[str, Any]) -> None:
        self._raw = {k: v for k, v in data.items() if k != PROPERTIES}
        for key, value in {**data, **data.get(PROPERTIES, {})}.items():
            if key == PROPERTIES:
                continue
            if isinstance(value, dict) and key != "sources":
                value = Namespace(value)
            elif key == "sources" and isinstance(value, dict):
                value = {name: Namespace(src) for name, src in value.items()}
            elif (key.endswith("path") or key == "config_file") and isinstance(value, str):
                value = Path(value)
            setattr(self, key, value)

    def model_dump(self, *, mode: str = "json") -> dict[str, Any]:
        """The section as the full CLI dumped it (``mode="json"`` only)."""
        if mode != "json":
            raise ValueError("stamped settings only hold their JSON form")
        return json.loads(json.dumps(self._raw))


class StampedSettings(Namespace):
    """The validated settings of the stamp (their simple properties, such as ``workspace_path``
    and ``metadata_url``, were stored with them)."""

    workspace_path: Path
    metadata_url: str
    config_file: Path


def stamp_key(config: Path, environ: dict[str, str] | os._Environ[str]) -> str:
    """The identity of a config as validated: its bytes and the RISKWATCH_* overrides (the
    variable that only names the file is not one)."""
    import importlib.util

    import riskwatch

    digest = hashlib.sha256(config.read_bytes())
    digest.update(riskwatch.__version__.encode())
    for module in ("riskwatch.config", "riskwatch.quick"):  # new settings code, new stamp
        spec = importlib.util.find_spec(module)
        code = Path(spec.origin).stat() if spec and spec.origin else None
        digest.update(f"{module}:{code and (code.st_size, code.st_mtime_ns)}".encode())
    for name in sorted(
        k for k in environ if k.startswith("RISKWATCH_") and k != "RISKWATCH_CONFIG"
    ):
        digest.update(f"\0{name}={environ[name]}".encode())
    return digest.hexdigest()


def write_stamp(settings: Any) -> None:
    """Remember validated settings for the fast path (called by the full CLI; best effort)."""
    from riskwatch.storage.workspace import Workspace, read_cache, write_cache

    try:
        key = stamp_key(settings.config_file, os.environ)
        ws = Workspace(settings.workspace_path)
        if (read_cache(ws, STAMP) or {}).get("key") == key:
            return
        write_cache(ws, STAMP, {"key": key, "settings": _dump(settings)})
    except Exception:  # a missing workspace or a read-only disk: the full path still works
        return


def _dump(model: Any) -> dict[str, Any]:
    """A settings model as JSON, with the simple values of its properties (``enabled``...)."""
    out: dict[str, Any] = model.model_dump(mode="json")
    for name in type(model).model_fields:
        value = getattr(model, name)
        if hasattr(value, "model_dump"):
            out[name] = _dump(value)
    props: dict[str, Any] = {}
    for name, attr in vars(type(model)).items():
        if isinstance(attr, property) and name not in out:
            try:
                value = getattr(model, name)
            except Exception:  # a property that needs more than the settings: leave it out
                continue
            if isinstance(value, Path):
                value = str(value)
            if value is None or isinstance(value, bool | int | float | str):
                props[name] = value
    if props:
        out[PROPERTIES] = props
    return out


def _parse(argv: Sequence[str]) -> tuple[Path | None, set[str]] | None:
    """``[--config PATH|-c PATH] run [--cron] [--json]`` -> (config, flags); else None."""
    args, config, flags, seen_run = list(argv), None, set(), False
    while args:
        arg = args.pop(0)
        if arg in ("--config", "-c") and args and not seen_run:
            config = Path(args.pop(0))
        elif arg.startswith("--config=") and not seen_run:
            config = Path(arg.split("=", 1)[1])
        elif arg == "run" and not seen_run:
            seen_run = True
        elif seen_run and arg in _FLAGS:
            flags.add(arg)
        else:
            return None
    return (config, flags) if seen_run else None


def try_nothing_new(argv: Sequence[str]) -> int | None:
    """Run the nothing-new tick without the full CLI; None: let the full CLI run."""
    parsed = _parse(argv)
    if parsed is None:
        return None
    explicit, flags = parsed
    env_config = os.environ.get("RISKWATCH_CONFIG")
    config = explicit or (Path(env_config) if env_config else Path("riskwatch.toml"))
    try:
        settings = _stamped(config)
    except Exception:
        return None
    if settings is None:
        return None
    return _tick(settings, cron="--cron" in flags, as_json="--json" in flags)


def _stamped(config: Path) -> StampedSettings | None:
    # the stamp lives in the workspace the config names; read the config's [workspace] path
    import tomllib

    from riskwatch.storage.workspace import Workspace, read_cache

    raw = tomllib.loads(config.read_text(encoding="utf-8"))
    base = config.resolve().parent
    ws_path = os.environ.get("RISKWATCH_WORKSPACE") or (raw.get("workspace") or {}).get(
        "path", "workspace"
    )
    root = Path(ws_path) if Path(ws_path).is_absolute() else (base / ws_path).resolve()
    stamp = read_cache(Workspace(root), STAMP)
    if not stamp or stamp.get("key") != stamp_key(config, os.environ):
        return None
    settings = StampedSettings(stamp["settings"])
    # a copied or moved project carries the stamp of its old place: its absolute paths are stale
    if settings.workspace_path != root or settings.config_file != config.resolve():
        return None
    return settings


def _alert_due(ctx: Any, settings: StampedSettings) -> bool:
    """With alerts configured: would the verdict notify anything now? (a few SQL queries)"""
    alerts = settings.alerts  # type: ignore[attr-defined]
    if not (alerts.channels or alerts.webhook is not None):
        return False
    from datetime import UTC, datetime

    from riskwatch.answers.health import health
    from riskwatch.pipeline.alerting import changed
    from riskwatch.storage.alerts import live_conditions

    now = datetime.now(UTC)
    return changed(health(ctx, now=now)["reasons"], live_conditions(ctx.db), now)


def _tick(settings: StampedSettings, *, cron: bool, as_json: bool) -> int | None:
    from riskwatch.context import RunContext
    from riskwatch.errors import RiskwatchError
    from riskwatch.logs import cron_logging, log
    from riskwatch.pipeline.run import find_pending, run
    from riskwatch.storage.metadata import open_metadata
    from riskwatch.storage.workspace import Workspace

    ws = Workspace(settings.workspace_path)
    if cron:
        cron_logging(ws.logs)
    try:
        db = open_metadata(settings.metadata_url)
    except RiskwatchError:
        return None
    try:
        with ws.lock():
            try:
                if find_pending(settings, db).any:  # type: ignore[arg-type]
                    return None  # work to do: the full path (it takes the lock again)
            except Exception:  # a surprise (or an unreachable source): the full path reports it
                return None
            ctx = RunContext(settings, db, ws)  # type: ignore[arg-type]
            try:
                if _alert_due(ctx, settings):
                    return None  # a condition changed or a repeat is due: the full path notifies
            except Exception:  # anything unexpected: the full path decides (nothing recorded yet)
                return None
            result = run(ctx, trigger="cron" if cron else "cli", alert=False)
    except RiskwatchError:
        return None  # the full path reports it with its exit code
    finally:
        db.close()
    log.info("run %s: %s: %s", result.run_id, result.status, result.outcome)
    if as_json:
        print(json.dumps(result.to_dict(), indent=2, default=str))
    elif not cron:
        from riskwatch.pipeline.summary import render

        print(render(result))
    sys.stdout.flush()
    return 0
