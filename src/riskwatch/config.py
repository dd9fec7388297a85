"""Typed settings from ``riskwatch.toml`` plus ``RISKWATCH_*`` environment overrides.

Nothing happens at import time: call :func:`load_settings`. Every problem is a
:class:`~riskwatch.errors.ConfigError` naming the file, the key and what was expected.
"""

from __future__ import annotations

import os
import re
import tomllib
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from riskwatch.errors import ConfigError

CONFIG_ENV = "RISKWATCH_CONFIG"
DEFAULT_CONFIG_NAME = "riskwatch.toml"
Label = int | str


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class WorkspaceSettings(_Section):
    """Where riskwatch keeps its state."""

    path: Path = Path("workspace")
    metadata_url: str | None = None


class ContractSettings(_Section):
    """The data contract: which column means what. Never hard-coded."""

    id_column: str
    target_column: str
    positive_label: Label = 1
    negative_label: Label | None = None
    features: list[str] | None = None
    exclude: list[str] = Field(default_factory=list)
    categorical: list[str] | None = None
    snapshot_column: str | None = None
    value_column: str | None = None
    dedupe: Literal["identical", "latest"] = "identical"

    @model_validator(mode="after")
    def _labels_differ(self) -> ContractSettings:
        if self.negative_label is not None and str(self.negative_label) == str(self.positive_label):
            raise ValueError("negative_label must differ from positive_label")
        return self


class SourceSettings(_Section):
    """One place new data arrives: a drop folder or a SQL table."""

    kind: Literal["folder", "sql"]
    path: Path | None = None
    url: str | None = None
    table: str | None = None
    watermark: str | None = None
    chunk_rows: Annotated[int, Field(gt=0)] = 100_000

    @model_validator(mode="after")
    def _kind_fields(self) -> SourceSettings:
        if self.kind == "folder" and self.path is None:
            raise ValueError("a folder source needs 'path'")
        if self.kind == "sql":
            missing = [k for k in ("url", "table", "watermark") if getattr(self, k) is None]
            if missing:
                raise ValueError(f"a sql source needs {', '.join(repr(m) for m in missing)}")
        return self


class EvaluationSettings(_Section):
    """Evaluation data: a file or folder of labelled clients, else a recorded hold-out."""

    path: Path | None = None
    holdout_fraction: Annotated[float, Field(gt=0, lt=1)] = 0.2


class TrainingSettings(_Section):
    """How models are chosen and fitted."""

    model: Literal["auto", "logistic", "gradient_boosting", "course"] = "auto"
    calibration: Literal["auto", "sigmoid", "isotonic", "none"] = "auto"
    seed: int = 0
    cv_folds: Annotated[int, Field(ge=2)] = 5
    time_budget_seconds: Annotated[float, Field(gt=0)] = 30.0
    selection_metric: Literal["roc_auc", "average_precision"] = "roc_auc"
    recency: Literal["auto", "none"] = "auto"
    search_every_days: Annotated[float, Field(ge=0)] = 30.0


class ScoringSettings(_Section):
    """Metrics the team cares about, and the cut at which a client counts as at risk."""

    threshold: float | str = "capacity"
    top_k_fraction: Annotated[float, Field(gt=0, le=1)] = 0.1
    top_k_count: Annotated[int, Field(gt=0)] = 100
    primary_metric: str = "roc_auc"

    @field_validator("threshold", mode="before")
    @classmethod
    def _threshold(cls, value: Any) -> float | str:
        if isinstance(value, str) and value in ("f1", "capacity"):
            return value
        if isinstance(value, int | float) and not isinstance(value, bool) and 0 < value < 1:
            return float(value)
        raise ValueError('a number between 0 and 1 (exclusive), "f1" or "capacity"')


class DeploySettings(_Section):
    """The champion/challenger gate."""

    tolerance: Annotated[float, Field(ge=0)] = 0.0
    max_model_age_days: Annotated[int, Field(gt=0)] | None = None


class MonitoringSettings(_Section):
    """Drift tests and thresholds (defaults follow Evidently's choices)."""

    small_sample_rows: Annotated[int, Field(gt=0)] = 1000
    p_value: Annotated[float, Field(gt=0, lt=1)] = 0.05
    distance_threshold: Annotated[float, Field(gt=0)] = 0.1
    psi_bins: Annotated[int, Field(ge=2)] = 10
    drift_share: Annotated[float, Field(gt=0, le=1)] = 0.5
    low_cardinality: Annotated[int, Field(ge=2)] = 10
    performance_test: Literal["raw", "parametric", "nonparametric"] = "raw"
    performance_tolerance: Annotated[float, Field(ge=0)] = 0.02
    performance_metric: str | None = None
    data_drift_triggers_retrain: bool = False
    max_quarantine_share: Annotated[float, Field(ge=0, le=1)] = 0.05
    performance_significance: bool = True
    calibration_tolerance: Annotated[float, Field(ge=0)] = 0.25


class ApiSettings(_Section):
    """The REST API and dashboard."""

    host: str = "127.0.0.1"
    port: Annotated[int, Field(gt=0, lt=65536)] = 8000
    api_key: str | None = None
    max_body_bytes: Annotated[int, Field(gt=0)] = 5_000_000
    max_rows_per_request: Annotated[int, Field(gt=0)] = 10_000
    public_docs: bool = False  # true: /docs, /redoc and /openapi.json without the key


class RuntimeSettings(_Section):
    """How much of the machine riskwatch uses."""

    threads: Annotated[int, Field(gt=0)] | None = None  # default: every core this process may use


class ScheduleSettings(_Section):
    """The cron schedule of ``riskwatch run``."""

    every: str = "1d"


class Settings(_Section):
    """All riskwatch settings, validated."""

    contract: ContractSettings
    workspace: WorkspaceSettings = WorkspaceSettings()
    sources: dict[str, SourceSettings] = Field(default_factory=dict)
    evaluation: EvaluationSettings = EvaluationSettings()
    training: TrainingSettings = TrainingSettings()
    scoring: ScoringSettings = ScoringSettings()
    deploy: DeploySettings = DeploySettings()
    monitoring: MonitoringSettings = MonitoringSettings()
    api: ApiSettings = ApiSettings()
    schedule: ScheduleSettings = ScheduleSettings()
    runtime: RuntimeSettings = RuntimeSettings()
    config_path: Path | None = None

    @property
    def config_file(self) -> Path:
        """The config file these settings came from (schedules need it)."""
        if self.config_path is None:
            raise ConfigError("these settings were not loaded from a file; pass --config")
        return self.config_path

    @property
    def workspace_path(self) -> Path:
        """The absolute workspace folder."""
        return self.workspace.path

    @property
    def metadata_url(self) -> str:
        """The metadata database URL (SQLite in the workspace unless configured)."""
        if self.workspace.metadata_url:
            return self.workspace.metadata_url
        return f"sqlite:///{self.workspace.path / 'metadata.db'}"


def find_config(explicit: Path | None = None) -> Path:
    """Return the config path from the argument, ``RISKWATCH_CONFIG`` or the current folder."""
    if explicit is not None:
        return explicit
    env = os.environ.get(CONFIG_ENV)
    if env:
        return Path(env)
    return Path(DEFAULT_CONFIG_NAME)


def load_settings(path: Path | str | None = None, env: dict[str, str] | None = None) -> Settings:
    """Read, override from the environment and validate the configuration.

    Args:
        path: the TOML file; default from ``RISKWATCH_CONFIG`` or ``./riskwatch.toml``.
        env: environment to read overrides from (default ``os.environ``).

    Raises:
        ConfigError: the file is missing, not TOML, or does not validate.
    """
    cfg = find_config(Path(path) if path is not None else None)
    if not cfg.is_file():
        raise ConfigError(f"{cfg}: config file not found (run 'riskwatch init' to write one)")
    try:
        raw = tomllib.loads(cfg.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{cfg}: not valid TOML: {exc}") from None
    return settings_from_dict(raw, origin=cfg, env=os.environ if env is None else env)


def settings_from_dict(
    raw: dict[str, Any], *, origin: Path, env: dict[str, str] | os._Environ[str] | None = None
) -> Settings:
    """Validate a raw mapping into :class:`Settings`, resolving paths against ``origin``'s folder."""
    data = _apply_env(raw, env or {}, origin)
    try:
        settings = Settings.model_validate({**data, "config_path": origin.resolve()})
    except ValidationError as exc:
        raise ConfigError(f"{origin}: {_describe(exc)}") from None
    return _resolve_paths(settings, origin.resolve().parent)


_SIMPLE_ENV = {
    "RISKWATCH_WORKSPACE": ("workspace", "path"),
    "RISKWATCH_METADATA_URL": ("workspace", "metadata_url"),
    "RISKWATCH_API_KEY": ("api", "api_key"),
    "RISKWATCH_API_HOST": ("api", "host"),
    "RISKWATCH_API_PORT": ("api", "port"),
}
_SOURCE_ENV = re.compile(r"^RISKWATCH_SOURCE_(?P<name>[A-Z0-9_]+?)_(?P<key>URL|PATH|TABLE)$")


def _apply_env(raw: dict[str, Any], env: Any, origin: Path) -> dict[str, Any]:
    data = {k: (dict(v) if isinstance(v, dict) else v) for k, v in raw.items()}
    for var, (section, key) in _SIMPLE_ENV.items():
        if env.get(var):
            data.setdefault(section, {})
            if not isinstance(data[section], dict):
                raise ConfigError(f"{origin}: key '{section}' must be a table")
            data[section][key] = env[var]
    sources = data.get("sources")
    for var, value in env.items():
        match = _SOURCE_ENV.match(var)
        if not match or not value:
            continue
        if not isinstance(sources, dict):
            raise ConfigError(f"{var}: no [sources] table in {origin} to override")
        wanted = match["name"].lower()
        names = [n for n in sources if re.sub(r"[^a-z0-9]", "_", n.lower()) == wanted]
        if not names:
            raise ConfigError(f"{var}: no source named '{wanted}' in {origin}")
        sources[names[0]] = {**sources[names[0]], match["key"].lower(): value}
    return data


def _describe(exc: ValidationError) -> str:
    err = exc.errors()[0]
    loc = ".".join(str(p) for p in err["loc"] if not str(p).startswith("function-after"))
    kind = err["type"]
    if kind == "extra_forbidden":
        return f"key '{loc}' is not a known setting"
    if kind == "missing":
        return f"key '{loc}' is required but missing"
    got = err.get("input")
    shown = f", got {got!r}" if not isinstance(got, dict) and got is not None else ""
    where = f"key '{loc}'" if loc else "value"
    return f"{where}: {err['msg'].removeprefix('Value error, ')}{shown}"


def _resolve_paths(settings: Settings, base: Path) -> Settings:
    def absolute(p: Path) -> Path:
        return p if p.is_absolute() else (base / p).resolve()

    workspace = settings.workspace.model_copy(update={"path": absolute(settings.workspace.path)})
    if workspace.metadata_url:
        workspace = workspace.model_copy(
            update={"metadata_url": _resolve_sqlite(workspace.metadata_url, base)}
        )
    sources = {}
    for name, src in settings.sources.items():
        update: dict[str, Any] = {}
        if src.path is not None:
            update["path"] = absolute(src.path)
        if src.url is not None:
            update["url"] = _resolve_sqlite(src.url, base)
        sources[name] = src.model_copy(update=update)
    evaluation = settings.evaluation
    if evaluation.path is not None:
        evaluation = evaluation.model_copy(update={"path": absolute(evaluation.path)})
    return settings.model_copy(
        update={"workspace": workspace, "sources": sources, "evaluation": evaluation}
    )


def _resolve_sqlite(url: str, base: Path) -> str:
    prefix = "sqlite:///"
    if url.startswith(prefix) and not url.startswith(prefix + "/") and ":memory:" not in url:
        return prefix + str((base / url[len(prefix) :]).resolve())
    return url
