"""Store queries for drift: references, and logged features read from their blocks
(format and reasons in feature_blocks.py), and the compaction that merges those blocks.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict
from typing import Any

import numpy as np
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from tandem.domain import StoredReference
from tandem.store import tables as t
from tandem.store.feature_blocks import (
    TARGET_ROWS,
    Compaction,
    concat,
    decode,
    encode,
    hour_of,
    merge,
    microseconds,
)
from tandem.store.monitoring_store import LoggedFeatures
from tandem.store.prediction_log import PredictionFilter
from tandem.store.sql_base import utc


def put_reference(conn: Connection, reference: StoredReference) -> None:
    r = t.drift_references
    conn.execute(r.delete().where(r.c.model == reference.model, r.c.version == reference.version))
    conn.execute(r.insert(), asdict(reference))


def get_reference(conn: Connection, model: str, version: str) -> StoredReference | None:
    r = t.drift_references
    row = (
        conn.execute(sa.select(r).where(r.c.model == model, r.c.version == version))
        .mappings()
        .first()
    )
    if row is None:
        return None
    return StoredReference(**{**row, "created_at": utc(row["created_at"])})


def logged_features(
    conn: Connection, where: PredictionFilter, names: Sequence[str]
) -> LoggedFeatures:
    """The window's logged features, from the blocks that overlap it, cut to it row by
    row; when more than `where.limit` rows match, the newest of them."""
    ignored = [f for f in ("route", "label", "holdout") if getattr(where, f) is not None]
    if ignored:
        raise ValueError(f"logged features are read by model, version and time, not {ignored}")
    b = t.feature_blocks
    query = sa.select(b)
    if where.model is not None:
        query = query.where(b.c.model == where.model)
    if where.version is not None:
        query = query.where(b.c.version == where.version)
    if where.since is not None:
        query = query.where(b.c.last_at >= where.since)
    if where.until is not None:
        query = query.where(b.c.first_at < where.until)
    rows = _fetch(conn, query)
    lo = None if where.since is None else microseconds(where.since)
    hi = None if where.until is None else microseconds(where.until)
    kept = []
    for row in rows:
        block = decode(row)
        inside = (lo is None or microseconds(utc(row["first_at"])) >= lo) and (  # type: ignore[arg-type]
            hi is None or microseconds(utc(row["last_at"])) < hi  # type: ignore[arg-type]
        )
        if not inside:
            mask = np.ones(block.rows, dtype=bool)
            if lo is not None:
                mask &= block.times >= lo
            if hi is not None:
                mask &= block.times < hi
            if not mask.any():
                continue
            block = block.take(mask)
        kept.append(block)
    key = tuple(names)
    if not kept:
        return LoggedFeatures(key, np.empty((0, len(key))), [], np.empty(0), [], 0)
    whole = concat(kept, key)
    total = whole.rows
    if total > where.limit:
        whole = whole.take(np.argsort(whole.times, kind="stable")[total - where.limit :])
    return LoggedFeatures(
        names=key,
        values=whole.values,
        labels=whole.labels.tolist(),
        confidences=whole.confidences,
        routes=whole.routes.tolist(),
        total=total,
    )


class _Raced(Exception):
    """Another process merged or removed some of these blocks first."""


def _fetch(conn: Connection, query: sa.Select[Any]) -> Sequence[Mapping[Any, Any]]:
    """Rows as mappings. From PostgreSQL in binary: psycopg otherwise sends bytea as hex
    text, and decoding 180 MB of it took 1.8 s of a million-row read, 0.5-0.7 s binary."""
    if conn.dialect.name != "postgresql" or conn.dialect.driver != "psycopg":
        return conn.execute(query).mappings().all()
    compiled = query.compile(dialect=conn.dialect, compile_kwargs={"render_postcompile": True})
    raw: Any = conn.connection.driver_connection
    with raw.cursor(binary=True) as cursor:
        cursor.execute(str(compiled), compiled.params)
        names = [d.name for d in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def compact(engine: Engine, target: int = TARGET_ROWS) -> Compaction:
    """Merge the small blocks of each model version, names and hour into blocks of up
    to `target` rows, each merge in its own short transaction: it deletes exactly the
    blocks it read or rolls back, so two processes compacting at once never duplicate
    or drop a row, and readers (one statement each) see the old blocks or the new."""
    b = t.feature_blocks
    meta = (
        sa.select(b.c.id, b.c.model, b.c.version, b.c.feature_names, b.c.first_at, b.c.row_count)
        .where(b.c.row_count < target)
        .order_by(b.c.model, b.c.version, b.c.first_at)
    )
    with engine.connect() as conn:
        small = conn.execute(meta).all()
    groups: dict[tuple[Any, ...], list[tuple[str, int]]] = {}
    for r in small:
        key = (r.model, r.version, tuple(r.feature_names), hour_of(utc(r.first_at)))  # type: ignore[arg-type]
        groups.setdefault(key, []).append((r.id, int(r.row_count)))
    merged = written = moved = raced = 0
    for members in groups.values():
        for chunk in _chunks(members, target):
            try:
                blocks, rows = _merge_chunk(engine, [i for i, _ in chunk], target)
            except _Raced:
                raced += 1
                continue
            merged, written, moved = merged + len(chunk), written + blocks, moved + rows
    return Compaction(merged, written, moved, raced)


def _chunks(members: list[tuple[str, int]], target: int) -> list[list[tuple[str, int]]]:
    """Runs of consecutive blocks whose rows add up to at most `target`, so each merge
    writes one block and holds SQLite's write lock briefly; a run of one is left alone
    (a block that nothing more fits beside stays as it is)."""
    out: list[list[tuple[str, int]]] = []
    run: list[tuple[str, int]] = []
    rows = 0
    for member in members:
        if run and rows + member[1] > target:
            out.append(run)
            run, rows = [], 0
        run.append(member)
        rows += member[1]
    out.append(run)
    return [r for r in out if len(r) > 1]


def _merge_chunk(engine: Engine, ids: list[str], target: int) -> tuple[int, int]:
    b = t.feature_blocks
    with engine.begin() as conn:
        rows = _fetch(conn, sa.select(b).where(b.c.id.in_(ids)))
        if len(rows) != len(ids):
            raise _Raced
        merged = merge([decode(r) for r in rows], target)
        encoded = [asdict(encode(m)) for m in merged]  # before the write lock is taken
        deleted = conn.execute(b.delete().where(b.c.id.in_(ids))).rowcount
        if deleted != len(ids):
            raise _Raced  # leaves the transaction: rolled back, nothing written
        conn.execute(b.insert(), encoded)
    return len(merged), sum(m.rows for m in merged)
