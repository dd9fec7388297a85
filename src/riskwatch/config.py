"""Typed settings from ``riskwatch.toml`` plus ``RISKWATCH_*`` environment overrides.

Nothing happens at import time: call :func:`load_settings`. Every problem is a
:class:`~riskwatch.errors.ConfigError` naming the file, the key and what was expected.
"""

from __future__ import annotations

import os
import re
import tomllib
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any, Literal, NamedTuple

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

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
    sensitive: list[str] = Field(default_factory=list)  # protected attributes: not features...
    use_sensitive: bool = False  # ... unless this says so; group metrics are reported either way
    categorical: list[str] | None = None
    snapshot_column: str | None = None
    value_column: str | None = None
    dedupe: Literal["identical", "latest"] = "identical"

    @model_validator(mode="after")
    def _labels_differ(self) -> ContractSettings:
        if self.negative_label is not None and str(self.negative_label) == str(self.positive_label):
            raise ValueError("negative_label must differ from positive_label")
        return self


_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|m|h|d)?\s*$")
_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def duration_seconds(text: str) -> float:
    """Seconds in a duration such as ``"90s"``, ``"5m"``, ``"2h"`` or ``"1d"`` (bare = seconds).

    Raises:
        ValueError: not such a duration.
    """
    match = _DURATION.match(text)
    if not match:
        raise ValueError("expected a duration such as '30s', '5m', '2h' or '1d'")
    return float(match[1]) * _SECONDS[match[2] or "s"]


class SourceSettings(_Section):
    """One place new data arrives: a drop folder or a SQL table."""

    kind: Literal["folder", "sql"]
    path: Path | None = None
    url: str | None = None
    table: str | None = None
    watermark: str | None = None
    chunk_rows: Annotated[int, Field(gt=0)] = 100_000
    # folder: a file is read once unchanged for this long (temp names are never read)
    settle_seconds: Annotated[float, Field(ge=0)] = 3.0
    # sql: rows re-read below the last watermark (a time for timestamps, a count for numbers)
    lookback: str = "5m"
    lookback_rows: Annotated[int, Field(ge=0)] = 1000
    # both: a longer value quarantines its row
    max_field_chars: Annotated[int, Field(gt=0)] = 10_000

    @property
    def lookback_seconds(self) -> float:
        """The look-back window of a timestamp watermark, in seconds."""
        return duration_seconds(self.lookback)

    @model_validator(mode="after")
    def _kind_fields(self) -> SourceSettings:
        if self.kind == "folder" and self.path is None:
            raise ValueError("a folder source needs 'path'")
        if self.kind == "sql":
            missing = [k for k in ("url", "table", "watermark") if getattr(self, k) is None]
            if missing:
                raise ValueError(f"a sql source needs {', '.join(repr(m) for m in missing)}")
        return self

    @field_validator("lookback")
    @classmethod
    def _duration(cls, value: str) -> str:
        duration_seconds(value)
        return value


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
    # fit on at most this many labelled rows (a stratified sample, recorded in the model card);
    # None: all of them
    max_rows: Annotated[int, Field(ge=100)] | None = None


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


class EngineSettings(_Section):
    """Where batch scoring runs: in this process (``local``) or on a Dask cluster (``dask``)."""

    kind: Literal["local", "dask"] = "local"
    address: str | None = None  # tcp://host:8786 of the scheduler
    scheduler_file: Path | None = None  # or the file `dask scheduler --scheduler-file` writes
    connect_timeout_seconds: Annotated[float, Field(gt=0)] = 10.0
    blocksize: str = "64MiB"  # bytes of CSV per partition (Parquet: one partition per row group)
    storage_options: dict[str, Any] = Field(default_factory=dict)  # fsspec, e.g. endpoint_url
    sample_rows: Annotated[int, Field(gt=0)] = 200_000  # `drift -i` on the cluster: test a sample

    @model_validator(mode="after")
    def _where(self) -> EngineSettings:
        if self.kind == "dask" and not (self.address or self.scheduler_file):
            raise ValueError("kind = 'dask' needs 'address' (tcp://host:8786) or 'scheduler_file'")
        return self


class ReportSettings(_Section):
    """When the HTML/PDF report of a run is written."""

    background: bool = True  # after the run's decisions, by a child process (`run --wait`: inline)


class ScheduleSettings(_Section):
    """The cron schedule of ``riskwatch run``."""

    every: str = "1d"


Severity = Literal["info", "warning", "critical"]
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|m|min|h|d|w)\s*$")
_REF = re.compile(r"^(env:[A-Za-z_][A-Za-z0-9_]*|file:.+|[A-Za-z][A-Za-z0-9+.-]*://.*)$", re.S)


def parse_duration(text: str) -> timedelta:
    """``90s``, ``30m``, ``24h``, ``2d``, ``1w`` as a timedelta.

    Raises:
        ValueError: not a positive duration in one of those forms.
    """
    match = _DURATION.match(str(text))
    if not match or float(match[1]) <= 0:
        raise ValueError(f"{text!r} is not a duration (use 90s, 30m, 24h, 2d or 1w)")
    seconds = {"s": 1, "m": 60, "min": 60, "h": 3600, "d": 86400, "w": 604800}[match[2]]
    value = float(match[1]) * seconds
    if value > 3650 * 86400:
        raise ValueError(f"{text!r} is longer than ten years")
    return timedelta(seconds=value)


def _ref(value: str) -> str:
    """A URL or secret given inline, as ``env:VAR`` or as ``file:/path``."""
    if not _REF.match(value.strip()):
        raise ValueError("use a URL (scheme://...), 'env:VARIABLE' or 'file:/path/to/file'")
    return value.strip()


class ChannelSettings(_Section):
    """One Apprise channel: its URL (or ``env:VAR`` / ``file:/path``), a name, a severity floor."""

    url: Annotated[str, AfterValidator(_ref)]
    name: Annotated[str, Field(pattern=r"^[A-Za-z0-9_.-]{1,40}$")] | None = None
    min_severity: Severity | None = None


class WebhookSettings(_Section):
    """riskwatch's own signed JSON webhook (``secret``: the text, ``env:VAR`` or ``file:/path``)."""

    url: Annotated[str, AfterValidator(_ref)]
    secret: Annotated[str, Field(min_length=1)] | None = None
    min_severity: Severity | None = None


class AlertSettings(_Section):
    """Who is told when the health verdict changes, and how (Alertmanager-style semantics)."""

    channels: list[ChannelSettings] = Field(default_factory=list)
    webhook: WebhookSettings | None = None
    min_severity: Severity = "info"
    repeat_interval: str = "24h"
    informational: bool = False
    base_url: Annotated[str, Field(pattern=r"^https?://[^\s]+$")] | None = None
    project: Annotated[str, Field(min_length=1, max_length=60)] = "riskwatch"
    deadline_seconds: Annotated[float, Field(gt=0, le=300)] = 10.0
    retries: Annotated[int, Field(ge=0, le=10)] = 2
    failures_before_reason: Annotated[int, Field(ge=1)] = 3
    watchdog_seconds: Annotated[float, Field(ge=1)] = 60.0

    @field_validator("channels", mode="before")
    @classmethod
    def _urls(cls, value: Any) -> Any:
        if isinstance(value, list):
            return [{"url": v} if isinstance(v, str) else v for v in value]
        return value

    @field_validator("webhook", mode="before")
    @classmethod
    def _webhook_url(cls, value: Any) -> Any:
        return {"url": value} if isinstance(value, str) else value

    @field_validator("repeat_interval")
    @classmethod
    def _duration(cls, value: str) -> str:
        parse_duration(value)
        return value

    @property
    def enabled(self) -> bool:
        """Is any channel configured?"""
        return bool(self.channels) or self.webhook is not None

    @property
    def repeat(self) -> timedelta:
        """``repeat_interval`` as a timedelta."""
        return parse_duration(self.repeat_interval)

    def targets(self) -> list[AlertTarget]:
        """Every channel with its name, kind, reference, severity floor and a masked address."""
        out = []
        for i, ch in enumerate(self.channels, start=1):
            scheme = ch.url.split("://", 1)[0].lower() if "://" in ch.url else "channel"
            name = ch.name or f"{scheme}-{i}"
            floor = ch.min_severity or self.min_severity
            out.append(AlertTarget(name, "apprise", ch.url, floor, masked(ch.url), None))
        if self.webhook is not None:
            w = self.webhook
            floor = w.min_severity or self.min_severity
            out.append(AlertTarget("webhook", "webhook", w.url, floor, masked(w.url), w.secret))
        return out

    @model_validator(mode="after")
    def _unique_names(self) -> AlertSettings:
        names = [t.name for t in self.targets()]
        twice = sorted({n for n in names if names.count(n) > 1})
        if twice:
            raise ValueError(f"channel name {twice[0]!r} is used twice")
        return self


class AlertTarget(NamedTuple):
    """A configured channel (the URL may still be an ``env:``/``file:`` reference)."""

    name: str
    kind: str  # apprise | webhook
    ref: str
    min_severity: str
    shown: str  # safe to print: never credentials, tokens or paths
    secret: str | None


def masked(ref: str) -> str:
    """A printable form of a channel reference: ``env:VAR``, ``file:/path``, or scheme://host."""
    if ref.startswith(("env:", "file:")) or "://" not in ref:
        return ref if ref.startswith(("env:", "file:")) else "***"
    scheme, rest = ref.split("://", 1)
    host = re.split(r"[/?#]", rest, maxsplit=1)[0].rsplit("@", 1)[-1]
    name = host.rsplit(":", 1)[0].strip("[]")
    plain = name == "localhost" or re.fullmatch(
        r"\d+(\.\d+){3}|[0-9a-fA-F]*:[0-9a-fA-F:]+|[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+", name
    )
    return f"{scheme}://{host if plain else '***'}"


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
    report: ReportSettings = ReportSettings()
    alerts: AlertSettings = AlertSettings()
    engine: EngineSettings = EngineSettings()
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
    "RISKWATCH_ENGINE": ("engine", "kind"),
    "RISKWATCH_ENGINE_ADDRESS": ("engine", "address"),
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
    engine = settings.engine
    if engine.scheduler_file is not None:
        engine = engine.model_copy(update={"scheduler_file": absolute(engine.scheduler_file)})
    sources = {}
    for name, src in settings.sources.items():
        update: dict[str, Any] = {}
        if src.path is not None:
            update["path"] = absolute(src.path)
        if src.url is not None:
            update["url"] = _resolve_sqlite(src.url, base)
        sources[name] = src.model_copy(update=update)
    alerts = settings.alerts
    if alerts.enabled:
        alerts = alerts.model_copy(
            update={
                "channels": [
                    c.model_copy(update={"url": _resolve_ref(c.url, base)}) for c in alerts.channels
                ],
                "webhook": alerts.webhook
                and alerts.webhook.model_copy(
                    update={
                        "url": _resolve_ref(alerts.webhook.url, base),
                        "secret": alerts.webhook.secret
                        and _resolve_ref(alerts.webhook.secret, base),
                    }
                ),
            }
        )
    evaluation = settings.evaluation
    if evaluation.path is not None:
        evaluation = evaluation.model_copy(update={"path": absolute(evaluation.path)})
    return settings.model_copy(
        update={
            "workspace": workspace,
            "sources": sources,
            "evaluation": evaluation,
            "alerts": alerts,
            "engine": engine,
        }
    )


def _resolve_ref(ref: str, base: Path) -> str:
    """``file:relative`` against the config's folder; anything else unchanged."""
    if ref.startswith("file:") and not Path(ref[5:]).expanduser().is_absolute():
        return "file:" + str((base / ref[5:]).resolve())
    return ref


def _resolve_sqlite(url: str, base: Path) -> str:
    prefix = "sqlite:///"
    if url.startswith(prefix) and not url.startswith(prefix + "/") and ":memory:" not in url:
        return prefix + str((base / url[len(prefix) :]).resolve())
    return url
