"""API keys in SQL."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import RowMapping

from tandem.domain import ApiKey, shallow_dict
from tandem.errors import NotFound
from tandem.store import tables as t
from tandem.store.key_store import KeyStore
from tandem.store.sql_base import SqlBase, utc


def _api_key(row: RowMapping) -> ApiKey:
    data = dict(row)
    for column in ("created_at", "revoked_at", "last_used_at"):
        data[column] = utc(data[column])
    return ApiKey(**data)


class KeySql(SqlBase, KeyStore):
    # -- API keys ------------------------------------------------------------
    def add_api_key(self, key: ApiKey) -> None:
        with self._tx() as conn:
            conn.execute(t.api_keys.insert(), shallow_dict(key))

    def list_api_keys(self) -> list[ApiKey]:
        k = t.api_keys
        with self._tx() as conn:
            rows = conn.execute(sa.select(k).order_by(k.c.created_at, k.c.id)).mappings().all()
        return [_api_key(row) for row in rows]

    def api_keys_with_prefix(self, prefix: str) -> list[ApiKey]:
        k = t.api_keys
        with self._tx() as conn:
            rows = conn.execute(sa.select(k).where(k.c.prefix == prefix)).mappings().all()
        return [_api_key(row) for row in rows]

    def revoke_api_key(self, key_id: str, at: datetime) -> ApiKey:
        k = t.api_keys
        with self._tx() as conn:
            conn.execute(
                k.update().where(k.c.id == key_id, k.c.revoked_at.is_(None)).values(revoked_at=at)
            )
            row = conn.execute(sa.select(k).where(k.c.id == key_id)).mappings().first()
        if row is None:
            raise NotFound(f"no API key with id {key_id!r}")
        return _api_key(row)

    def touch_api_key(self, key_id: str, at: datetime) -> None:
        k = t.api_keys
        with self._tx() as conn:
            conn.execute(k.update().where(k.c.id == key_id).values(last_used_at=at))
