"""Page sessions in the verifier: cached like keys, never past their expiry, and
dropped from this process's cache at logout."""

from __future__ import annotations

from datetime import timedelta

from tandem.auth.keys import create_key
from tandem.auth.roles import Principal, Role
from tandem.auth.sessions import SESSION_SECONDS, end_sessions, open_session
from tandem.auth.verify import Authenticator
from tandem.clock import utcnow
from tandem.store.base import Store


def _ann(store: Store) -> Principal:
    key, _ = create_key(store, "reviewer", "ann")
    return Principal(key.id, key.name, Role.reviewer)


def test_a_session_ended_elsewhere_holds_only_within_the_cache_ttl(store: Store) -> None:
    now = [1000.0]
    auth = Authenticator(store, ttl_s=5.0, clock=lambda: now[0])
    ann = _ann(store)
    _, token = open_session(store, ann)
    assert auth.verify_session(token) == ann
    assert end_sessions(store, ann.key_id) == 1  # another process, or the CLI
    now[0] += 4.9
    assert auth.cached_session(token) == ann  # the documented window
    now[0] += 0.2
    assert auth.cached_session(token) is None and auth.verify_session(token) is None


def test_logout_here_is_immediate_despite_the_cache(store: Store) -> None:
    auth = Authenticator(store, ttl_s=300.0)
    token = auth.open_session(_ann(store))
    assert auth.verify_session(token) is not None
    auth.end_session(token)
    assert auth.cached_session(token) is None and auth.verify_session(token) is None


def test_the_cache_never_outlives_the_session(store: Store) -> None:
    now = [0.0]
    auth = Authenticator(store, ttl_s=300.0, clock=lambda: now[0])
    almost = utcnow() - timedelta(seconds=SESSION_SECONDS - 2)  # two seconds left
    _, token = open_session(store, _ann(store), now=almost)
    assert auth.verify_session(token) is not None
    now[0] += 3
    assert auth.cached_session(token) is None  # not trusted for the whole 300 s


def test_last_seen_is_recorded_at_most_once_a_minute(store: Store) -> None:
    auth = Authenticator(store, ttl_s=0)
    session, token = open_session(store, _ann(store))
    assert auth.verify_session(token) is not None
    found = store.page_session(session.token_hash)
    assert found is not None and found[0].last_seen_at is not None
    first = found[0].last_seen_at
    assert auth.verify_session(token) is not None
    again = store.page_session(session.token_hash)
    assert again is not None and again[0].last_seen_at == first
