"""What the commands that touch the store need: settings and the store, and for those
that train, load or score models also the artifacts and every model family (entry
points plus models added with `tandem models add`).

The model stack (numpy, scikit-learn, the families' own imports) is imported only by
`command_env`: `tandem keys` and `tandem models` need one part of the store alone
(`keys_only`, `versions_only`)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING

from tandem.errors import InvalidInput

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

    from tandem.models.artifacts import ArtifactStore
    from tandem.models.interface import ModelFamily, Predictor
    from tandem.settings import Settings
    from tandem.store.base import Store
    from tandem.store.key_store import KeyStore
    from tandem.store.registry_store import VersionReads


@dataclass
class StoreEnv:
    settings: Settings
    store: Store


@dataclass
class Env(StoreEnv):
    artifacts: ArtifactStore
    families: dict[str, ModelFamily]

    def predictor(self, name: str, version: str) -> Predictor:
        from tandem.models.catalog import load_version

        return load_version(
            self.families, self.artifacts, self.store.get_model_version(name, version)
        )

    def production(self, name: str) -> Predictor:
        mv = self.store.production_version(name)
        if mv is None:
            raise InvalidInput(f"model {name!r} has no production version; train it first")
        return self.predictor(name, mv.version)


@contextmanager
def store_env() -> Iterator[StoreEnv]:
    """The settings and the store, opened (and closed) around one command."""
    from tandem.settings import load_settings
    from tandem.store import open_store

    settings = load_settings()
    store = open_store(settings.resolved_database_url)
    try:
        yield StoreEnv(settings, store)
    finally:
        store.close()


@contextmanager
def _engine_only() -> Iterator[Engine]:
    """The store's engine, its schema checked as `open_store` checks it; its URL is read
    without loading pydantic-settings (see tandem.location)."""
    from tandem.location import store_url
    from tandem.store import open_engine

    engine = open_engine(store_url())
    try:
        yield engine
    finally:
        engine.dispose()


@contextmanager
def keys_only() -> Iterator[KeyStore]:
    """The API keys alone, for `tandem keys`: no other domain's SQL or tables load."""
    from tandem.store.sql_keys import KeySql

    with _engine_only() as engine:
        yield KeySql(engine)


@contextmanager
def versions_only() -> Iterator[VersionReads]:
    """The registered model versions alone, for `tandem models`."""
    from tandem.store.sql_versions import VersionSql

    with _engine_only() as engine:
        yield VersionSql(engine)


@contextmanager
def command_env() -> Iterator[Env]:
    """The store, the artifacts and every model family, around one command."""
    from tandem.models.artifacts import ArtifactStore
    from tandem.models.catalog import discover_families, with_added_models

    with store_env() as base:
        families = with_added_models(discover_families(), base.store.list_model_versions())
        artifacts = ArtifactStore(base.settings.artifacts_dir, base.store)
        yield Env(base.settings, base.store, artifacts, families)
