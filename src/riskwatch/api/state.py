"""What the API holds between requests: settings, per-thread metadata connections, the champion.

The champion is re-read from the registry at most once a second; a newly promoted model is
picked up without a restart, and a model whose artifact fails its checksum is refused while
the previous one keeps serving.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import TYPE_CHECKING, Any

from riskwatch.errors import ModelError
from riskwatch.storage.metadata import open_metadata
from riskwatch.storage.workspace import Workspace

if TYPE_CHECKING:
    from riskwatch.config import Settings
    from riskwatch.registry import LoadedModel
    from riskwatch.schema import DataSchema
    from riskwatch.storage.db import Database

log = logging.getLogger("riskwatch.api")
RELOAD_SECONDS = 1.0


class ApiState:
    """Shared state of one API process."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.ws = Workspace(settings.workspace_path)
        self.started = time.time()
        self._local = threading.local()
        self._lock = threading.Lock()
        self._model: LoadedModel | None = None
        self._checked = 0.0
        self._refused: set[int] = set()
        self.counters: dict[tuple[str, str, int], list[float]] = {}

    def db(self) -> Database:
        """This thread's metadata connection."""
        db = getattr(self._local, "db", None)
        if db is None:
            db = open_metadata(self.settings.metadata_url)
            self._local.db = db
        return db

    def model(self) -> LoadedModel | None:
        """The current champion, reloaded when the registry says it changed."""
        now = time.monotonic()
        if now - self._checked < RELOAD_SECONDS and self._model is not None:
            return self._model
        with self._lock:
            if now - self._checked < RELOAD_SECONDS and self._model is not None:
                return self._model
            self._checked = now
            self._refresh()
        return self._model

    def _refresh(self) -> None:
        from riskwatch.registry import champion_version, load_version

        version = champion_version(self.db())
        if version is None or version in self._refused:
            if version is None:
                self._model = None
            return
        if self._model is not None and self._model.version == version:
            return
        try:
            self._model = load_version(self.settings, self.db(), self.ws, version)
            log.info("serving model version %s", version)
        except ModelError as exc:
            self._refused.add(version)
            log.error(
                "refusing model version %s: %s (still serving %s)",
                version,
                exc,
                self._model.version if self._model else "nothing",
            )

    def contract_schema(self) -> DataSchema | None:
        """The schema requests are validated against: the champion's, else the dataset's."""
        model = self.model()
        if model is not None:
            return model.schema
        from riskwatch.storage.datasets import current_version

        version = current_version(self.db())
        return version.schema if version else None

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
                "model": self._model.version if self._model else None,
            }
