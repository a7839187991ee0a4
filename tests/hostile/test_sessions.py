"""The login cookie is a server-side session, not the key: a stolen cookie is not a
stolen key, and it stops working at logout, at expiry, or when its key is revoked."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from tandem.app import create_app
from tandem.auth.keys import find_key, revoke_key
from tandem.auth.roles import Principal, Role
from tandem.auth.sessions import MAX_OPEN_PER_KEY, end_sessions, open_session
from tandem.clock import utcnow
from tandem.settings import Settings
from tandem.store import tables as t
from tandem.store.base import Store
from tandem.web.access import COOKIE
from tests.conftest import make_key

TO_LOGIN = "/login?next=/review&why=invalid"


@pytest.fixture
def home(trained_home: Settings) -> Settings:
    """The default key cache (5 s): what ends a session must not wait for it."""
    return trained_home


@pytest.fixture
def kept(home: Settings, store: Store) -> Store:
    """The trained home's store (conftest's `store`), open for the whole test."""
    return store


@pytest.fixture
def app(home: Settings) -> Iterator[TestClient]:
    """A browser with no key of its own: it logs in like a person, by cookie."""
    with TestClient(create_app(home)) as c:
        yield c


def _login(client: TestClient, key: str) -> str:
    response = client.post("/login", data={"key": key}, follow_redirects=False)
    assert response.status_code == 303, response.text
    token = client.cookies.get(COOKIE)
    assert token
    return token


@contextmanager
def _with_cookie(app: TestClient, value: str) -> Iterator[TestClient]:
    """The same running app, asked by another browser that holds `value` as its cookie
    (not entered as a context: that would start and stop the app's lifespan again)."""
    other = TestClient(app.app)
    other.cookies.set(COOKIE, value)
    try:
        yield other
    finally:
        other.close()


def _review(client: TestClient) -> tuple[int, str]:
    response = client.get("/review", follow_redirects=False)
    return response.status_code, response.headers.get("location", "")


def _rows(store: Store) -> list[dict[str, object]]:
    engine: sa.Engine = store.engine  # type: ignore[attr-defined]
    with engine.connect() as conn:
        rows = conn.execute(sa.select(t.page_sessions)).mappings().all()
    return [dict(r) for r in rows]


def _principal(store: Store, name: str) -> Principal:
    key = find_key(store, name)
    return Principal(key.id, key.name, Role(key.role))


def test_the_cookie_is_a_session_token_that_neither_is_nor_holds_the_key(
    app: TestClient, home: Settings, kept: Store
) -> None:
    key = make_key(home, "reviewer", "ann")
    token = _login(app, key)
    assert token != key and key not in token and key[4:] not in token
    assert key[4:16] not in token  # not even the part a listing shows
    assert len(token) == 43  # 32 random bytes, URL-safe base64
    [row] = _rows(kept)
    assert row["token_hash"] == hashlib.sha256(token.encode()).hexdigest()
    stored = " ".join(str(v) for v in row.values())
    assert token not in stored and key not in stored
    assert row["key_id"] == find_key(kept, "ann").id and row["revoked_at"] is None
    assert row["expires_at"] is not None


def test_the_session_cookie_opens_the_pages_and_the_api(app: TestClient, home: Settings) -> None:
    token = _login(app, make_key(home, "reviewer", "ann"))
    with _with_cookie(app, token) as other:  # a copy of the cookie is the session
        page = other.get("/review")
        assert page.status_code == 200 and "ann (reviewer)" in page.text
        assert other.get("/v1/reviews").status_code == 200


def test_logout_ends_the_session_on_the_server(
    app: TestClient, home: Settings, kept: Store
) -> None:
    token = _login(app, make_key(home, "reviewer", "ann"))
    assert _review(app)[0] == 200  # now in this process's cache
    out = app.post("/logout", follow_redirects=False)
    assert out.status_code == 303 and out.headers["location"] == "/login"
    [row] = _rows(kept)
    assert row["revoked_at"] is not None
    with _with_cookie(app, token) as replay:  # the cookie, kept by someone before logout
        assert _review(replay) == (303, TO_LOGIN)
        assert replay.get("/v1/reviews").status_code == 401


def test_revoking_the_key_ends_its_sessions(home: Settings, kept: Store) -> None:
    uncached = home.model_copy(update={"auth_cache_seconds": 0})
    with TestClient(create_app(uncached)) as app:
        token = _login(app, make_key(home, "reviewer", "ann"))
        assert _review(app)[0] == 200
        revoke_key(kept, "ann")
        assert all(row["revoked_at"] is not None for row in _rows(kept))
        with _with_cookie(app, token) as replay:
            assert _review(replay) == (303, TO_LOGIN)


def test_a_session_whose_key_was_revoked_another_way_is_refused(
    home: Settings, kept: Store
) -> None:
    """Verification reads the key with the session: a session left open is no way in."""
    uncached = home.model_copy(update={"auth_cache_seconds": 0})
    with TestClient(create_app(uncached)) as app:
        _login(app, make_key(home, "reviewer", "ann"))
        kept.revoke_api_key(find_key(kept, "ann").id, utcnow())
        [row] = _rows(kept)
        assert row["revoked_at"] is None  # only the key
        assert _review(app) == (303, TO_LOGIN)


def test_logging_in_with_another_key_ends_the_previous_session(
    app: TestClient, home: Settings
) -> None:
    first = _login(app, make_key(home, "client", "app"))
    second = _login(app, make_key(home, "reviewer", "ann"))
    assert first != second and _review(app)[0] == 200
    with _with_cookie(app, first) as old:
        assert _review(old) == (303, TO_LOGIN)  # not the client key's 403 page


def test_an_expired_session_is_refused(app: TestClient, home: Settings, kept: Store) -> None:
    make_key(home, "reviewer", "ann")
    opened = utcnow() - timedelta(hours=12, seconds=1)
    _, token = open_session(kept, _principal(kept, "ann"), now=opened)
    with _with_cookie(app, token) as late:
        assert _review(late) == (303, TO_LOGIN)
    _, fresh = open_session(kept, _principal(kept, "ann"), now=utcnow() - timedelta(hours=11))
    with _with_cookie(app, fresh) as on_time:
        assert _review(on_time)[0] == 200


def test_a_raw_key_in_the_cookie_no_longer_logs_in(app: TestClient, home: Settings) -> None:
    """A cookie from before sessions holds the key itself: it sends its browser to log in."""
    key = make_key(home, "admin", "ops")
    with _with_cookie(app, key) as old:
        assert _review(old) == (303, TO_LOGIN)
        assert old.get("/v1/reviews").status_code == 401
        page = old.get(TO_LOGIN).text
        assert "Your login has ended" in page and "ops (admin)" not in page


@pytest.mark.parametrize(
    "forged",
    [
        "q3ZpV0x7bT2kW9sLmN4cR8yH1fJ6dG5aE0uIoPzXwYv",  # the right shape, in no table
        hashlib.sha256(b"x").hexdigest(),  # a hash, as the table stores it
        "A" * 43,
        "' OR '1'='1",
        "x" * 4000,
    ],
)
def test_a_forged_token_is_refused(
    app: TestClient, home: Settings, kept: Store, forged: str
) -> None:
    token = _login(app, make_key(home, "reviewer", "ann"))
    [row] = _rows(kept)
    for value in (forged, str(row["token_hash"]), token[:-1], token + "A"):
        with _with_cookie(app, value) as other:
            assert _review(other) == (303, TO_LOGIN), value


def test_logins_clean_up_ended_sessions_and_cap_open_ones(home: Settings, kept: Store) -> None:
    make_key(home, "reviewer", "ann")
    ann = _principal(kept, "ann")
    open_session(kept, ann, now=utcnow() - timedelta(days=2))  # long expired
    _, ended = open_session(kept, ann)
    assert end_sessions(kept, ann.key_id) == 1
    tokens = [open_session(kept, ann)[1] for _ in range(MAX_OPEN_PER_KEY + 3)]
    rows = _rows(kept)
    assert len(rows) == MAX_OPEN_PER_KEY
    assert all(row["revoked_at"] is None for row in rows)  # the ended ones were deleted
    uncached = home.model_copy(update={"auth_cache_seconds": 0})
    with TestClient(create_app(uncached)) as app:
        for token, works in [(ended, False), (tokens[0], False), (tokens[-1], True)]:
            with _with_cookie(app, token) as browser:
                assert (_review(browser)[0] == 200) is works
