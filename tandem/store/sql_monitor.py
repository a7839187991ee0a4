"""Store queries for monitoring: drift references, and logged features read as columns.

Reading features is the slow half of drift over a big window: a million logged rows are
a million JSON objects. The query asks only for the features' text (cast, so neither
SQLAlchemy nor the driver parses it), orjson parses it (~4x the standard library), and
rows that share the reference's feature order (every row one version logged) become the
matrix in one `np.fromiter` pass instead of a dict lookup per value.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import asdict
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


def logged_features(
    conn: Connection, where: PredictionFilter, names: Sequence[str]
) -> LoggedFeatures:
    p = t.predictions
    conditions = _conditions(where)
    total = int(conn.execute(sa.select(sa.func.count()).where(*conditions)).scalar_one())
    query = sa.select(sa.cast(p.c.features, sa.Text), p.c.label, p.c.confidence, p.c.route).where(
        *conditions
    )
    if total > where.limit:  # sorting is only worth paying for when rows are left out
        query = query.order_by(p.c.created_at.desc(), p.c.id.desc()).limit(where.limit)
    rows = conn.execute(query).all()
    texts = [r[0] for r in rows]
    return LoggedFeatures(
        names=tuple(names),
        values=parse_features(texts, names),
        labels=[r[1] for r in rows],
        confidences=np.fromiter((r[2] for r in rows), dtype=np.float64, count=len(rows)),
        routes=[r[3] for r in rows],
        total=total,
    )


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
