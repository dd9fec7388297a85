"""The API process's context: per-thread metadata connections and the champion it serves.

The champion and the dataset version are re-read from the metadata database at most once a
second, so a newly promoted model (and its request schema) is picked up without a restart.

A champion whose artifact does not load (missing, altered, unreadable) is refused, logged, and
retried with backoff (1 s, 2 s, 4 s ... at most 60 s), so a briefly unreadable artifact is served
as soon as it verifies. Meanwhile the model already being served keeps serving; when nothing is
(a tampered champion at start-up), the ``previous`` alias, else the newest older version that
verifies, is served with a loud warning. ``/health`` and ``/ready`` say which version serves,
which is the champion, and why they differ (:meth:`ApiState.serving`).
"""

from __future__ import annotations

import gc
import logging
import threading
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from riskwatch.context import RunContext
from riskwatch.errors import RiskwatchError
from riskwatch.storage.metadata import open_metadata

if TYPE_CHECKING:
    from pydantic import BaseModel

    from riskwatch.config import Settings
    from riskwatch.model.scoring import LoadedModel
    from riskwatch.schema import DataSchema
    from riskwatch.storage.datasets import DatasetVersion
    from riskwatch.storage.db import Database

log = logging.getLogger("riskwatch.api")
RELOAD_SECONDS = 1.0
RETRY_FIRST = 1.0
RETRY_MAX = 60.0
FALLBACK_TRIES = 10


@dataclass
class Refusal:
    """A version whose artifact did not load: why, how often, and when to try again."""

    version: int
    reason: str
    attempts: int
    next_try: float  # time.monotonic()


class ApiState(RunContext):
    """A long-lived :class:`RunContext` that follows the registry and the dataset."""

    def __init__(self, settings: Settings) -> None:
        self._local = threading.local()
        self.settings = settings
        super().__init__(settings, self._thread_db())
        self.started = time.time()
        self._lock = threading.Lock()
        self._count_lock = threading.Lock()
        self._serving: LoadedModel | None = None
        self._champion: int | None = None  # the registry's champion at the last check
        self._checked = 0.0
        self._version_checked = 0.0
        self._refused: dict[int, Refusal] = {}
        self._records: dict[int | None, type[BaseModel]] = {}
        self.counters: dict[tuple[str, str, int], list[float]] = {}

    def _thread_db(self) -> Database:
        db = getattr(self._local, "db", None)
        if db is None:
            db = open_metadata(self.settings.metadata_url)
            self._local.db = db
        return db

    @property
    def db(self) -> Database:
        """This thread's metadata connection."""
        return self._thread_db()

    @property
    def version(self) -> DatasetVersion | None:
        """The current dataset version, re-checked at most once a second."""
        now = time.monotonic()
        if now - self._version_checked >= RELOAD_SECONDS:
            from riskwatch.storage.datasets import current_version_number

            self._version_checked = now
            known = self._version.version if self._version else None
            if not self._version_known or current_version_number(self.db) != known:
                self.dataset_changed()
        return super().version

    def champion(self) -> LoadedModel | None:
        """The model being served: the champion, reloaded when the registry says it changed."""
        now = time.monotonic()
        if now - self._checked < RELOAD_SECONDS:
            return self._serving
        with self._lock:
            if now - self._checked >= RELOAD_SECONDS:  # nobody refreshed while we waited
                try:
                    self._refresh()
                finally:
                    self._checked = time.monotonic()
        return self._serving

    def champion_version(self) -> int | None:
        """The version being served (what every answer of this process refers to)."""
        model = self.champion()
        return None if model is None else model.version

    def serving(self) -> dict[str, Any]:
        """Which version serves, which is the champion, whether they match and why not."""
        model = self.champion()
        serving = None if model is None else model.version
        champion = self._champion
        reason = None
        refusal = self._refused.get(champion) if champion is not None else None
        if champion is None:
            reason = "no champion model is deployed yet (run 'riskwatch run')"
        elif refusal is not None and serving != champion:
            wait = max(0.0, refusal.next_try - time.monotonic())
            fallback = f"serving v{serving} instead" if serving else "nothing else verifies"
            reason = (
                f"champion v{champion} refused ({refusal.attempts} attempt(s)): {refusal.reason}; "
                f"{fallback}; next retry in {wait:.0f} s"
            )
        elif serving != champion:
            reason = f"champion v{champion} not loaded yet; serving v{serving}"
        return {
            "serving_version": serving,
            "champion_version": champion,
            "current": serving == champion,
            "reason": reason,
        }

    def _refresh(self) -> None:
        from riskwatch.storage.models import champion_version

        version = champion_version(self.db)
        self._champion = version
        if version is None:
            self._serving = None
            return
        if self._serving is not None and self._serving.version == version:
            self._refused.pop(version, None)
            return
        refusal = self._refused.get(version)
        if refusal is not None and time.monotonic() < refusal.next_try:
            return
        model = self._load(version, refusal)
        if model is not None:
            self._serve(model)
            if refusal is not None:
                log.warning("model version %s now loads and verifies: serving it", version)
        elif self._serving is None:
            self._fall_back(version)

    def _load(self, version: int, refusal: Refusal | None) -> LoadedModel | None:
        """Load and verify ``version``; on failure record (or extend) its refusal and log it.

        A loaded model, its libraries and the rest of the server live as long as the process:
        they are moved out of the garbage collector's generations (``gc.freeze``), so a full
        collection no longer walks them during a request (it tripled the p99 of 1,000-client
        requests).
        """
        try:
            model = self.model(version)
            gc.freeze()
            return model
        except RiskwatchError as exc:
            reason = self._public(str(exc))
        except Exception as exc:  # a bug or an unexpected file state: logged, never served
            log.exception("loading model version %s failed", version)
            reason = f"cannot be loaded ({type(exc).__name__})"
        attempts = 1 if refusal is None else refusal.attempts + 1
        delay = min(RETRY_MAX, RETRY_FIRST * 2 ** (attempts - 1))
        self._refused[version] = Refusal(version, reason, attempts, time.monotonic() + delay)
        log.error(
            "refusing model version %s: %s (attempt %s; serving %s; next try in %.0f s)",
            version,
            reason,
            attempts,
            f"v{self._serving.version}" if self._serving else "nothing",
            delay,
        )
        return None

    def _fall_back(self, champion: int) -> None:
        """Nothing serves and the champion is refused: serve the newest earlier version that
        verifies (the ``previous`` alias first)."""
        from riskwatch.storage.models import alias_version, model_rows

        previous = alias_version(self.db, "previous")
        older = [r["version"] for r in model_rows(self.db) if r["version"] < champion]
        order = [v for v in dict.fromkeys([previous, *older]) if v is not None and v < champion]
        for version in order[:FALLBACK_TRIES]:
            model = self._load(version, self._refused.get(version))
            if model is not None:
                self._serve(model)
                log.warning(
                    "SERVING AN OLDER MODEL: champion v%s is refused (%s); serving v%s, the newest "
                    "earlier version that verifies, until v%s loads (see /health)",
                    champion,
                    self._refused[champion].reason,
                    version,
                    champion,
                )
                return
        log.error(
            "no model to serve: champion v%s is refused and no earlier version verifies", champion
        )

    def _serve(self, model: LoadedModel) -> None:
        from riskwatch.runtime import one_thread_here

        one_thread_here()  # no OpenMP pool waiting for a busy core (request threads: the routes)
        self._serving = model
        self._models = {model.version: model}  # keep only the model being served
        self._refused.pop(model.version, None)
        log.info("serving model version %s", model.version)

    def _public(self, message: str) -> str:
        """A message without the server's absolute paths (the workspace is named 'workspace')."""
        return message.replace(str(self.ws.root), "workspace")

    def contract(self) -> DataSchema | None:
        """The schema requests are validated against: the served model's, else the dataset's."""
        model = self.champion()
        if model is not None:
            return model.schema
        version = self.version
        return version.schema if version else None

    def record_model(self) -> type[BaseModel]:
        """The pydantic model of one client record for the model being served (cached)."""
        from riskwatch.api.schemas import record_model

        model = self.champion()
        key = None if model is None else model.version
        if key not in self._records:
            self._records[key] = record_model(self.contract())
        return self._records[key]

    def observe(self, route: str, method: str, status: int, seconds: float) -> None:
        """Count a request for ``/metrics``."""
        key = (route, method, status)
        with self._count_lock:
            entry = self.counters.setdefault(key, [0.0, 0.0])
            entry[0] += 1
            entry[1] += seconds

    def snapshot(self) -> dict[str, Any]:
        """Counters for ``/metrics``."""
        with self._count_lock:
            counters = dict(self.counters)
        return {"requests": counters, **self.serving()}
