"""The registered versions in SQL: all that `tandem models` opens of the store, so it
loads neither the other domains' SQL nor their tables."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import RowMapping

from tandem.domain import ModelVersion
from tandem.errors import NotFound
from tandem.store import version_tables as t
from tandem.store.registry_store import VersionReads
from tandem.store.sql_base import SqlBase, utc


def _version(row: RowMapping) -> ModelVersion:
    return ModelVersion(**{**row, "created_at": utc(row["created_at"])})


class VersionSql(SqlBase, VersionReads):
    """The registered versions alone: what `tandem models` opens, without the rest of
    the store's SQL."""

    def list_model_versions(self, name: str | None = None) -> list[ModelVersion]:
        mv = t.model_versions
        query = sa.select(mv).order_by(mv.c.name, mv.c.created_at, mv.c.version)
        if name is not None:
            query = query.where(mv.c.name == name)
        with self._tx() as conn:
            rows = conn.execute(query).mappings().all()
        return [_version(row) for row in rows]

    def get_model_version(self, name: str, version: str) -> ModelVersion:
        mv = t.model_versions
        with self._tx() as conn:
            row = (
                conn.execute(sa.select(mv).where(mv.c.name == name, mv.c.version == version))
                .mappings()
                .first()
            )
        if row is None:
            raise NotFound(f"no version {version!r} of model {name!r}")
        return _version(row)
