"""Keys are random, stored only as hashes, listed without secrets, revocable."""

from __future__ import annotations

import hashlib
import re
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from tandem.auth.keys import create_key, find_key, hash_key, revoke_key
from tandem.auth.roles import Role, parse_role
from tandem.auth.verify import Authenticator
from tandem.errors import InvalidInput, NotFound
from tandem.store import tables as t
from tandem.store.base import Store


def test_a_key_is_long_random_and_recognisable(store: Store) -> None:
    keys = {create_key(store, "client", f"app-{i}")[1] for i in range(20)}
    assert len(keys) == 20
    assert all(re.fullmatch(r"tdm_[A-Za-z0-9_-]{43}", k) for k in keys)


def test_the_store_holds_a_hash_never_the_key(store: Store) -> None:
    key, raw = create_key(store, "reviewer", "ann")
    assert key.key_hash == hashlib.sha256(raw.encode()).hexdigest()
    assert raw.startswith(key.prefix) and len(key.prefix) == 12
    engine: sa.Engine = store.engine  # type: ignore[attr-defined]
    with engine.connect() as conn:
        rows = conn.execute(sa.select(t.api_keys)).mappings().all()
    stored = " ".join(str(v) for row in rows for v in row.values())
    assert raw not in stored and raw[12:] not in stored
    assert [r["role"] for r in rows] == ["reviewer"]


def test_the_database_refuses_an_unknown_role(store: Store) -> None:
    engine: sa.Engine = store.engine  # type: ignore[attr-defined]
    row = {"id": "x", "name": "n", "role": "root", "key_hash": "h", "prefix": "p"}
    with pytest.raises(sa.exc.IntegrityError), engine.begin() as conn:
        conn.execute(t.api_keys.insert(), {**row, "created_at": datetime.now(UTC)})


@pytest.mark.parametrize("text", ["root", "", "admins"])
def test_an_unknown_role_lists_the_valid_ones(text: str) -> None:
    with pytest.raises(InvalidInput, match="valid roles: client, reviewer, admin"):
        parse_role(text)


def test_roles_are_ordered() -> None:
    assert [parse_role(r) for r in ("client", "Reviewer", " admin ")] == list(Role)
    assert Role.admin.rank > Role.reviewer.rank > Role.client.rank


@pytest.mark.parametrize("name", ["", "   ", "x" * 101, "tab\there"])
def test_a_key_needs_a_sensible_name(store: Store, name: str) -> None:
    with pytest.raises(InvalidInput, match="needs a name"):
        create_key(store, "client", name)
    assert store.list_api_keys() == []


def test_revoke_by_id_or_unique_name(store: Store) -> None:
    first, _ = create_key(store, "reviewer", "ann")
    second, _ = create_key(store, "reviewer", "ann")
    with pytest.raises(InvalidInput, match="several active keys are named 'ann'"):
        revoke_key(store, "ann")
    revoked, changed = revoke_key(store, first.id)
    assert changed and revoked.revoked_at is not None
    assert find_key(store, "ann").id == second.id  # the one still active
    assert revoke_key(store, "ann")[1] is True
    assert revoke_key(store, second.id)[1] is False  # already revoked: no change
    with pytest.raises(NotFound, match="tandem keys list"):
        revoke_key(store, "bob")


def test_revocation_holds_within_the_cache_ttl(store: Store) -> None:
    """A verified key is trusted for `ttl_s`; after that a revoked key is refused."""
    now = [1000.0]
    auth = Authenticator(store, ttl_s=5.0, clock=lambda: now[0])
    key, raw = create_key(store, "client", "app")
    assert auth.verify(raw) is not None
    revoke_key(store, key.id)
    now[0] += 4.9
    assert auth.verify(raw) is not None  # still cached: the documented window
    now[0] += 0.2
    assert auth.verify(raw) is None
    assert auth.verify(raw) is None  # and stays refused


def test_without_a_cache_revocation_is_immediate(store: Store) -> None:
    auth = Authenticator(store, ttl_s=0)
    key, raw = create_key(store, "admin", "ops")
    principal = auth.verify(raw)
    assert principal is not None and (principal.name, principal.role) == ("ops", Role.admin)
    revoke_key(store, key.id)
    assert auth.verify(raw) is None


@pytest.mark.parametrize(
    "raw", ["", "tdm_", "Bearer tdm_x", "x" * 60, "tdm_" + "A" * 43, "tdm_" + "A" * 300]
)
def test_malformed_or_unknown_keys_are_refused(store: Store, raw: str) -> None:
    create_key(store, "admin", "ops")
    assert Authenticator(store).verify(raw) is None


def test_a_near_miss_with_the_same_prefix_is_refused(store: Store) -> None:
    _, raw = create_key(store, "admin", "ops")
    forged = raw[:-1] + ("A" if raw[-1] != "A" else "B")
    assert hash_key(forged) != hash_key(raw)
    assert Authenticator(store).verify(forged) is None


def test_last_use_is_recorded_at_most_once_a_minute(store: Store) -> None:
    now = [0.0]
    auth = Authenticator(store, ttl_s=1.0, clock=lambda: now[0])
    key, raw = create_key(store, "client", "app")
    auth.verify(raw)
    [first] = store.list_api_keys()
    assert first.last_used_at is not None
    now[0] += 2  # cache expired: the store is read again, but not written
    auth.verify(raw)
    assert store.list_api_keys()[0].last_used_at == first.last_used_at
    store.touch_api_key(key.id, datetime.now(UTC) - timedelta(minutes=2))
    now[0] += 2
    auth.verify(raw)
    assert store.list_api_keys()[0].last_used_at > first.last_used_at  # type: ignore[operator]
