"""API keys and page sessions in SQL."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import RowMapping

from tandem.domain import ApiKey, PageSession, shallow_dict
from tandem.errors import NotFound
from tandem.store import key_tables as t
from tandem.store.key_store import KeyStore
from tandem.store.sql_base import SqlBase, utc


def _api_key(row: RowMapping) -> ApiKey:
    data = dict(row)
    for column in ("created_at", "revoked_at", "last_used_at"):
        data[column] = utc(data[column])
    return ApiKey(**data)


def _page_session(row: RowMapping) -> PageSession:
    data = dict(row)
    for column in ("created_at", "expires_at", "revoked_at", "last_seen_at"):
        data[column] = utc(data[column])
    return PageSession(**data)


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

    # -- page sessions -------------------------------------------------------
    def open_page_session(self, session: PageSession, keep: int) -> None:
        s = t.page_sessions
        now = session.created_at
        with self._tx() as conn:
            conn.execute(s.delete().where(sa.or_(s.c.expires_at <= now, s.c.revoked_at <= now)))
            older = (
                sa.select(s.c.id)
                .where(s.c.key_id == session.key_id)
                .order_by(s.c.created_at.desc(), s.c.id.desc())
                .offset(max(keep - 1, 0))
            )
            stale = list(conn.execute(older).scalars())
            if stale:
                conn.execute(s.delete().where(s.c.id.in_(stale)))
            conn.execute(s.insert(), shallow_dict(session))

    def page_session(self, token_hash: str) -> tuple[PageSession, ApiKey] | None:
        s, k = t.page_sessions, t.api_keys
        with self._tx() as conn:
            found = (
                conn.execute(sa.select(s).where(s.c.token_hash == token_hash)).mappings().first()
            )
            if found is None:
                return None
            key = conn.execute(sa.select(k).where(k.c.id == found["key_id"])).mappings().first()
        return None if key is None else (_page_session(found), _api_key(key))

    def revoke_page_session(self, token_hash: str, at: datetime) -> bool:
        s = t.page_sessions
        with self._tx() as conn:
            done = conn.execute(
                s.update()
                .where(s.c.token_hash == token_hash, s.c.revoked_at.is_(None))
                .values(revoked_at=at)
            )
        return bool(done.rowcount)

    def revoke_page_sessions(self, key_id: str, at: datetime) -> int:
        s = t.page_sessions
        with self._tx() as conn:
            done = conn.execute(
                s.update()
                .where(s.c.key_id == key_id, s.c.revoked_at.is_(None), s.c.expires_at > at)
                .values(revoked_at=at)
            )
        return int(done.rowcount)

    def touch_page_session(self, session_id: str, at: datetime) -> None:
        s = t.page_sessions
        with self._tx() as conn:
            conn.execute(s.update().where(s.c.id == session_id).values(last_seen_at=at))
