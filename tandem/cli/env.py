"""What every command that touches the store needs: settings, the store, artifacts and
every model family (entry points plus models added with `tandem models add`)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from tandem.errors import InvalidInput
from tandem.models.artifacts import ArtifactStore
from tandem.models.catalog import discover_families, load_version, with_added_models
from tandem.models.interface import ModelFamily, Predictor
from tandem.settings import Settings, load_settings
from tandem.store import open_store
from tandem.store.base import Store


@dataclass
class Env:
    settings: Settings
    store: Store
    artifacts: ArtifactStore
    families: dict[str, ModelFamily]

    def predictor(self, name: str, version: str) -> Predictor:
        return load_version(
            self.families, self.artifacts, self.store.get_model_version(name, version)
        )

    def production(self, name: str) -> Predictor:
        mv = self.store.production_version(name)
        if mv is None:
            raise InvalidInput(f"model {name!r} has no production version; train it first")
        return self.predictor(name, mv.version)


@contextmanager
def command_env() -> Iterator[Env]:
    """The store opened (and closed) around one command."""
    settings = load_settings()
    store = open_store(settings.resolved_database_url)
    try:
        families = with_added_models(discover_families(), store.list_model_versions())
        yield Env(settings, store, ArtifactStore(settings.artifacts_dir, store), families)
    finally:
        store.close()
