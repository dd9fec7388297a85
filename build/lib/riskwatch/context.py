"""The run context: settings, workspace, database, and what a run loads once (dataset, models).

One object per run (and, as :class:`riskwatch.api.state.ApiState`, per API process). Steps ask it
for the dataset or the champion and never load them themselves, so a run reads the dataset's
Parquet parts once and loads and verifies each model once. Anything derived from them (the call
list, scores) is cached here per (model, dataset) version.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from riskwatch.storage.workspace import Workspace

if TYPE_CHECKING:
    from riskwatch.config import Settings
    from riskwatch.model.scoring import LoadedModel
    from riskwatch.storage.datasets import DatasetVersion, Rows, StoredRows
    from riskwatch.storage.db import Database


class RunContext:
    """Settings, workspace and metadata database of one run, plus lazily loaded state."""

    def __init__(self, settings: Settings, db: Database, ws: Workspace | None = None) -> None:
        self.settings = settings
        self._db = db
        self.ws = ws or Workspace(settings.workspace_path)
        self._version: DatasetVersion | None = None
        self._version_known = False
        self._rows: StoredRows | None = None
        self._models: dict[int, LoadedModel] = {}
        self.cache: dict[Any, Any] = {}

    @property
    def db(self) -> Database:
        """The metadata database."""
        return self._db

    # -- the dataset -----------------------------------------------------------------------
    @property
    def version(self) -> DatasetVersion | None:
        """The current dataset version (None before the first ingestion)."""
        if not self._version_known:
            from riskwatch.storage.datasets import current_version

            self._version, self._version_known = current_version(self.db), True
        return self._version

    def dataset_changed(self) -> None:
        """Forget the dataset (after an ingestion committed a new version)."""
        self._version_known, self._rows = False, None
        self.cache.clear()

    def rows(self) -> StoredRows:
        """Every row of the current version, read from Parquet once."""
        from riskwatch.errors import NotFound
        from riskwatch.storage.datasets import read_rows

        version = self.version
        if version is None:
            raise NotFound(
                "no data ingested yet: run `riskwatch ingest` (or `riskwatch run`) first"
            )
        if self._rows is None or self._rows.version.version != version.version:
            self._rows = read_rows(self.ws, version)
        return self._rows

    def data(self, dataset_version: int | None = None) -> Rows:
        """The rows of a dataset version (default: the current one), without re-reading."""
        rows = self.rows()
        if dataset_version is None or dataset_version == rows.version.version:
            return rows.view()
        from riskwatch.storage.datasets import get_version

        return rows.view(get_version(self.db, dataset_version).parts)

    def new_rows(self, since: int | None) -> Rows:
        """Rows added after dataset version ``since`` (all rows when None)."""
        rows = self.rows()
        if since is None:
            return rows.view()
        from riskwatch.storage.datasets import get_version

        before = {p.name for p in get_version(self.db, since).parts}
        return rows.view(tuple(p for p in rows.version.parts if p.name not in before))

    # -- models ----------------------------------------------------------------------------
    def model(self, version: int) -> LoadedModel:
        """A registered model, loaded and checksum-verified once."""
        if version not in self._models:
            from riskwatch.registry.artifacts import load_model

            self._models[version] = load_model(self.settings, self.ws, self.db, version)
        return self._models[version]

    def add_model(self, model: LoadedModel) -> None:
        """A model this run trained and registered (already in memory: no reload)."""
        self._models[model.version] = model

    def champion_version(self) -> int | None:
        """The champion's version (one light query)."""
        from riskwatch.storage.models import champion_version

        return champion_version(self.db)

    def champion(self) -> LoadedModel | None:
        """The champion, loaded once; None when no model has been promoted yet."""
        version = self.champion_version()
        return None if version is None else self.model(version)
