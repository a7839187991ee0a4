"""Store queries for monitoring: drift references, and logged features read as columns.

Reading features is the slow half of drift over a big window. A million logged rows are a
million JSON objects: ~4 s to parse even with orjson. So each prediction also stores its
features packed (`pack`): float64 values in sorted-name order (`feature_values`) and a
short hash of those names (`feature_layout`). A reader asking for the same names joins
the packed rows into one buffer and views it as a matrix; only rows with another layout
(or from before the columns existed) are parsed from JSON. Packing costs a few µs per
prediction and ~8 bytes per feature.
"""

from __future__ import annotations

import hashlib
import itertools
import struct
from collections.abc import Sequence
from dataclasses import asdict
from functools import lru_cache
from typing import Any

import numpy as np
import orjson
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from tandem.domain import StoredReference
from tandem.store import tables as t
from tandem.store.base import LoggedFeatures, PredictionFilter
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


def list_references(conn: Connection, model: str | None) -> list[StoredReference]:
    r = t.drift_references
    columns = [c for c in r.columns if c.name != "payload"]
    query = sa.select(*columns).order_by(r.c.model, r.c.created_at)
    if model is not None:
        query = query.where(r.c.model == model)
    return [
        StoredReference(**{**row, "created_at": utc(row["created_at"])})
        for row in conn.execute(query).mappings().all()
    ]


def _conditions(where: PredictionFilter) -> list[Any]:
    p = t.predictions
    found: list[Any] = []
    for column, value in (
        (p.c.model, where.model),
        (p.c.route, where.route),
        (p.c.label, where.label),
        (p.c.model_version, where.version),
        (p.c.holdout, where.holdout),
    ):
        if value is not None:
            found.append(column == value)
    if where.since is not None:
        found.append(p.c.created_at >= where.since)
    if where.until is not None:
        found.append(p.c.created_at < where.until)
    return found


@lru_cache(maxsize=256)
def layout(names: tuple[str, ...]) -> str:
    """A short name for a set of feature names (sorted), stored with each packed row."""
    return hashlib.blake2b("\x1f".join(sorted(names)).encode(), digest_size=8).hexdigest()


def pack(features: dict[str, float]) -> tuple[str | None, bytes | None]:
    """(layout, float64 values in sorted-name order), or (None, None) when a value is
    not a number; such a row is read back from its JSON."""
    names = tuple(sorted(features))
    try:
        values = struct.pack(f"<{len(names)}d", *[features[n] for n in names])
    except (struct.error, TypeError):
        return None, None
    return layout(names), values


def logged_features(
    conn: Connection, where: PredictionFilter, names: Sequence[str]
) -> LoggedFeatures:
    p = t.predictions
    key = tuple(names)
    wanted = layout(key)
    conditions = _conditions(where)
    count = sa.select(sa.func.count()).select_from(p).where(*conditions)
    total = int(conn.execute(count).scalar_one())
    packed_elsewhere = sa.case(
        (p.c.feature_layout == wanted, sa.null()), else_=sa.cast(p.c.features, sa.Text)
    )
    query = sa.select(
        p.c.feature_values, packed_elsewhere, p.c.label, p.c.confidence, p.c.route
    ).where(*conditions)
    if total > where.limit:  # sorting is only worth paying for when rows are left out
        query = query.order_by(p.c.created_at.desc(), p.c.id.desc()).limit(where.limit)
    result = conn.execute(query)
    # The driver's own tuples: SQLAlchemy's Row objects cost ~1.5 µs each here, and no
    # column selected needs a result processor (bytes, text, float).
    rows: Sequence[Any] = result.cursor.fetchall() if result.cursor is not None else []
    result.close()
    return LoggedFeatures(
        names=key,
        values=_matrix(rows, key),
        labels=[r[2] for r in rows],
        confidences=np.fromiter((r[3] for r in rows), dtype=np.float64, count=len(rows)),
        routes=[r[4] for r in rows],
        total=total,
    )


def _matrix(rows: Sequence[Any], names: tuple[str, ...]) -> np.ndarray:
    """Packed rows viewed as one matrix (columns reordered from sorted to `names`);
    the others parsed from their JSON into their places."""
    ordered = sorted(names)
    columns = [ordered.index(n) for n in names]
    if all(r[1] is None for r in rows):  # every row packed with these names: one view
        flat = np.frombuffer(b"".join(r[0] for r in rows), dtype="<f8")
        return flat.reshape(len(rows), len(names))[:, columns]
    out = np.empty((len(rows), len(names)))
    packed = [i for i, r in enumerate(rows) if r[1] is None]
    if packed:
        buffer = b"".join(rows[i][0] for i in packed)
        values = np.frombuffer(buffer, dtype="<f8").reshape(len(packed), len(names))
        out[packed] = values[:, columns]
    others = [i for i, r in enumerate(rows) if r[1] is not None]
    if others:
        out[others] = parse_features([rows[i][1] for i in others], names)
    return out


def parse_features(texts: Sequence[str], names: Sequence[str]) -> np.ndarray:
    """JSON feature objects as a rows x names float matrix (NaN where one is missing)."""
    key = tuple(names)
    parsed: list[dict[str, Any]] = [orjson.loads(text) for text in texts]
    if all(tuple(d) == key for d in parsed):
        flat = itertools.chain.from_iterable(d.values() for d in parsed)
        return np.fromiter(flat, dtype=np.float64, count=len(parsed) * len(key)).reshape(
            len(parsed), len(key)
        )
    out = np.full((len(parsed), len(key)), np.nan)
    for i, d in enumerate(parsed):
        for j, name in enumerate(key):
            value = d.get(name)
            if isinstance(value, int | float) and not isinstance(value, bool):
                out[i, j] = value
    return out
