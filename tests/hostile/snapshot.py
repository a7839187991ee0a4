"""Every stored row, to show that a rejected request changed nothing."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from tandem.store.base import Store
from tandem.store.feature_blocks import decode
from tandem.store.tables import metadata

Snapshot = dict[str, list[tuple[Any, ...]]]

BOOKKEEPING = {("api_keys", "last_used_at")}
"""Columns a refused request may still touch by design: when a key was last used
(written at most once a minute per key, refused requests included)."""
AUDIT_TABLES = {"intake"}
"""Tables that record every keyed request, refused ones too (the "nothing lost" ledger)."""
BLOCKS = "feature_blocks"
"""Compared by the predictions they hold: the server's compaction may regroup them at any
moment without changing one."""


def snapshot(store: Store) -> Snapshot:
    """Each table's rows (all columns), in primary-key order."""
    engine: sa.Engine = store.engine  # type: ignore[attr-defined]
    tables: Snapshot = {}
    with engine.connect() as conn:
        for table in metadata.sorted_tables:
            if table.name in AUDIT_TABLES:
                continue
            if table.name == BLOCKS:
                tables[BLOCKS] = _block_rows(conn.execute(sa.select(table)).mappings().all())
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


def _block_rows(rows: Any) -> list[tuple[Any, ...]]:
    out = []
    for row in rows:
        b = decode(row)
        for i in range(b.rows):
            out.append(
                (
                    b.model,
                    b.version,
                    b.names,
                    int(b.times[i]),
                    b.values[i].tobytes(),
                    float(b.confidences[i]),
                    b.labels[i],
                    b.routes[i],
                )
            )
    return sorted(out)
