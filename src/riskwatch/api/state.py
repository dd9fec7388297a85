"""The API process's context: per-thread metadata connections and the champion it serves.

The champion and the dataset version are re-read from the metadata database at most once a
second, so a newly promoted model (and its request schema) is picked up without a restart; a
model whose artifact fails its checksum is refused while the previous one keeps serving.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import TYPE_CHECKING, Any

from riskwatch.context import RunContext
from riskwatch.errors import ModelError
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


class ApiState(RunContext):
    """A long-lived :class:`RunContext` that follows the registry and the dataset."""

    def __init__(self, settings: Settings) -> None:
        self._local = threading.local()
        self.settings = settings
        super().__init__(settings, self._thread_db())
        self.started = time.time()
        self._lock = threading.Lock()
        self._serving: LoadedModel | None = None
        self._checked = 0.0
        self._version_checked = 0.0
        self._refused: set[int] = set()
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
        if now - self._checked < RELOAD_SECONDS and self._serving is not None:
            return self._serving
        with self._lock:
            if now - self._checked >= RELOAD_SECONDS or self._serving is None:
                self._checked = now
                self._refresh()
        return self._serving

    def champion_version(self) -> int | None:
        """The version being served (what every answer of this process refers to)."""
        model = self.champion()
        return None if model is None else model.version

    def _refresh(self) -> None:
        from riskwatch.storage.models import champion_version

        version = champion_version(self.db)
        if version is None:
            self._serving = None
            return
        if version in self._refused or (self._serving and self._serving.version == version):
            return
        try:
            self._serving = self.model(version)
            self._models = {version: self._serving}  # keep only the model being served
            log.info("serving model version %s", version)
        except ModelError as exc:
            self._refused.add(version)
            log.error(
                "refusing model version %s: %s (still serving %s)",
                version,
                exc,
                self._serving.version if self._serving else "nothing",
            )

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
        with self._lock:
            entry = self.counters.setdefault(key, [0.0, 0.0])
            entry[0] += 1
            entry[1] += seconds

    def snapshot(self) -> dict[str, Any]:
        """Counters for ``/metrics``."""
        with self._lock:
            return {
                "requests": dict(self.counters),
                "model": self._serving.version if self._serving else None,
            }
