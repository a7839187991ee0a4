"""Every stored row, to show that a rejected request changed nothing."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from tandem.store.base import Store
from tandem.store.tables import metadata

Snapshot = dict[str, list[tuple[Any, ...]]]

BOOKKEEPING = {("api_keys", "last_used_at")}
"""Columns a refused request may still touch by design: when a key was last used
(written at most once a minute per key, refused requests included)."""
AUDIT_TABLES = {"intake"}
"""Tables that record every request, refused ones too (the "nothing lost" ledger)."""


def snapshot(store: Store) -> Snapshot:
    """Each table's rows (all columns), in primary-key order."""
    engine: sa.Engine = store.engine  # type: ignore[attr-defined]
    tables: Snapshot = {}
    with engine.connect() as conn:
        for table in metadata.sorted_tables:
            if table.name in AUDIT_TABLES:
                continue
            columns = [c for c in table.columns if (table.name, c.name) not in BOOKKEEPING]
            query = sa.select(*columns).order_by(*table.primary_key.columns)
            tables[table.name] = [tuple(row) for row in conn.execute(query)]
    return tables


def changed(before: Snapshot, after: Snapshot) -> dict[str, int]:
    """Tables whose content differs, with their change in row count."""
    return {
        name: len(after[name]) - len(before[name]) for name in before if before[name] != after[name]
    }
