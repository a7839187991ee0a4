"""Every stored row, to show that a rejected request changed nothing."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from tandem.store.base import Store
from tandem.store.tables import metadata

Snapshot = dict[str, list[tuple[Any, ...]]]


def snapshot(store: Store) -> Snapshot:
    """Each table's rows (all columns), in primary-key order."""
    engine: sa.Engine = store.engine  # type: ignore[attr-defined]
    tables: Snapshot = {}
    with engine.connect() as conn:
        for table in metadata.sorted_tables:
            query = sa.select(table).order_by(*table.primary_key.columns)
            tables[table.name] = [tuple(row) for row in conn.execute(query)]
    return tables


def changed(before: Snapshot, after: Snapshot) -> dict[str, int]:
    """Tables whose content differs, with their change in row count."""
    return {
        name: len(after[name]) - len(before[name]) for name in before if before[name] != after[name]
    }
