"""Model versions, their cards and drift references, shadow results and the audit
trail of who changed what a model serves."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from tandem.domain import Guidelines, ModelEvent, ModelVersion, ShadowResult, StoredReference
from tandem.errors import NotFound
from tandem.store import tables as t
from tandem.store.registry_store import RegistryStore
from tandem.store.sql_base import utc
from tandem.store.sql_versions import VersionSql


class RegistrySql(VersionSql, RegistryStore):
    def add_model_version(self, version: ModelVersion, event: ModelEvent | None = None) -> None:
        with self._tx() as conn:
            conn.execute(t.model_versions.insert(), asdict(version))
            if event is not None:
                conn.execute(t.model_events.insert(), asdict(event))

    def _require(self, conn: Connection, name: str, version: str) -> None:
        mv = t.model_versions
        found = conn.execute(
            sa.select(mv.c.version).where(mv.c.name == name, mv.c.version == version)
        ).first()
        if found is None:
            raise NotFound(f"no version {version!r} of model {name!r}")

    def set_production(self, name: str, version: str, event: ModelEvent) -> None:
        mv = t.model_versions
        with self._tx() as conn:
            self._require(conn, name, version)
            # One production version per name: the old one retires in the same step,
            # and the audit record commits with the change or not at all.
            conn.execute(
                mv.update()
                .where(mv.c.name == name, mv.c.status == "production")
                .values(status="retired")
            )
            conn.execute(
                mv.update()
                .where(mv.c.name == name, mv.c.version == version)
                .values(status="production", shadow=False)
            )
            conn.execute(t.model_events.insert(), asdict(event))

    def set_shadow(self, name: str, version: str | None, event: ModelEvent) -> None:
        mv = t.model_versions
        with self._tx() as conn:
            if version is not None:
                self._require(conn, name, version)
            conn.execute(mv.update().where(mv.c.name == name).values(shadow=False))
            if version is not None:
                conn.execute(
                    mv.update()
                    .where(mv.c.name == name, mv.c.version == version)
                    .values(shadow=True)
                )
            conn.execute(t.model_events.insert(), asdict(event))

    def update_card(self, name: str, version: str, card: dict[str, Any], event: ModelEvent) -> None:
        mv = t.model_versions
        with self._tx() as conn:
            self._require(conn, name, version)
            conn.execute(
                mv.update().where(mv.c.name == name, mv.c.version == version).values(card=card)
            )
            conn.execute(t.model_events.insert(), asdict(event))

    def list_events(self, name: str | None = None) -> list[ModelEvent]:
        ev = t.model_events
        query = sa.select(ev).order_by(ev.c.created_at, ev.c.id)
        if name is not None:
            query = query.where(ev.c.model == name)
        with self._tx() as conn:
            rows = conn.execute(query).mappings().all()
        return [ModelEvent(**{**row, "created_at": utc(row["created_at"])}) for row in rows]

    def list_shadow_results(self, name: str, version: str) -> list[ShadowResult]:
        sp = t.shadow_predictions
        query = (
            sa.select(sp)
            .where(sp.c.model == name, sp.c.model_version == version)
            .order_by(sp.c.created_at)
        )
        with self._tx() as conn:
            rows = conn.execute(query).mappings().all()
        return [ShadowResult(**{**row, "created_at": utc(row["created_at"])}) for row in rows]

    def put_drift_reference(self, reference: StoredReference) -> None:
        from tandem.store import sql_drift  # numpy loads for drift, not with every store

        with self._tx() as conn:
            sql_drift.put_reference(conn, reference)

    def get_drift_reference(self, model: str, version: str) -> StoredReference | None:
        from tandem.store import sql_drift

        with self._tx() as conn:
            return sql_drift.get_reference(conn, model, version)

    def add_guidelines(self, guidelines: Guidelines) -> None:
        with self._tx() as conn:
            conn.execute(t.model_guidelines.insert(), asdict(guidelines))

    def latest_guidelines(self, model: str) -> Guidelines | None:
        g = t.model_guidelines
        query = (
            sa.select(g)
            .where(g.c.model == model)
            .order_by(g.c.edited_at.desc(), g.c.id.desc())
            .limit(1)
        )
        with self._tx() as conn:
            row = conn.execute(query).mappings().first()
        if row is None:
            return None
        return Guidelines(**{**row, "edited_at": utc(row["edited_at"])})
