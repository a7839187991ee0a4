"""The versions being served, kept in step with the registry without a restart.

Promotion, rollback and shadow changes made through this process apply to the next
request at once; changes made by another process (a CLI, another worker) are seen
within `check_every` seconds."""

from __future__ import annotations

import asyncio
import logging
import time

from tandem.models.artifacts import ArtifactStore
from tandem.models.catalog import get_family, with_added_models
from tandem.models.interface import ModelFamily, Predictor
from tandem.predict.isolation import Source
from tandem.store.registry_store import VersionReads

log = logging.getLogger("tandem")


class ServedModels:
    def __init__(
        self,
        store: VersionReads,
        artifacts: ArtifactStore,
        families: dict[str, ModelFamily],
        check_every: float = 1.0,
    ) -> None:
        self.store = store
        self.artifacts = artifacts
        self.families = families
        self.check_every = check_every
        self.production: dict[str, Predictor] = {}
        self.shadows: dict[str, Predictor] = {}
        self._loaded: dict[tuple[str, str], Predictor] = {}
        # How a worker process loads the same version.
        self.sources: dict[tuple[str, str], Source] = {}
        self._checked = 0.0
        self._refreshing = False
        # Versions registered when artifacts were files only: a host that has the file
        # copies it into the store, so every other host can load the version too.
        self.artifacts.share(v.artifact_sha256 for v in store.list_model_versions())
        self.refresh(strict=True)

    def _load(self, name: str, version: str) -> Predictor:
        key = (name, version)
        if key not in self._loaded:
            mv = self.store.get_model_version(name, version)
            family = get_family(self.families, mv.name)
            predictor = family.load(self.artifacts.get(mv.artifact_sha256), version)
            if family.editor is not None:
                predictor.editor = family.editor  # the family offers the writer's page
            self._loaded[key] = predictor
            self.sources[key] = Source(family, self.artifacts.root, mv.artifact_sha256, version)
        return self._loaded[key]

    def get(self, name: str, version: str) -> Predictor:
        """Any registered version (for replay and comparison), loaded once."""
        return self._load(name, version)

    def refresh(self, strict: bool = False) -> None:
        """Re-read which versions serve. At start-up a bad artifact is fatal; later it
        is logged and the versions already loaded keep serving."""
        self._checked = time.monotonic()
        production: dict[str, Predictor] = {}
        shadows: dict[str, Predictor] = {}
        versions = self.store.list_model_versions()
        self.families.update(with_added_models(self.families, versions))
        for mv in versions:
            if mv.name not in self.families:
                continue
            try:
                if mv.status == "production":
                    production[mv.name] = self._load(mv.name, mv.version)
                if mv.shadow:
                    shadows[mv.name] = self._load(mv.name, mv.version)
            except Exception:
                if strict:
                    raise
                log.exception("could not load %s %s; keeping what serves", mv.name, mv.version)
                return
        self.production, self.shadows = production, shadows

    async def refresh_when_due(self) -> None:
        """Refresh if `check_every` has passed, on a worker thread: the registry read
        and any newly promoted artifact's load must not block the event loop. Requests
        arriving while one refresh runs serve the versions already loaded."""
        if self._refreshing or time.monotonic() - self._checked < self.check_every:
            return
        self._refreshing = True
        try:
            await asyncio.to_thread(self.refresh)
        finally:
            self._refreshing = False
