"""Page sessions: what a browser's login cookie stands for, instead of the key itself.

`POST /login` checks a key once and opens a session; the cookie holds the session's
token, so a stolen cookie is a stolen session (12 hours at most, ended by logout or by
revoking the key), never a stolen key.

Why an unguessable token looked up by its hash, not an HMAC-signed cookie: a token is 256
random bits, so nobody forges one, and only its SHA-256 is stored, so a copy of the table
logs no one in. A signature would add a secret to share between workers and to rotate,
and would still need this table to make a session revocable before it expires. A token
that is not in the table (forged, from another server, or a raw key from an old cookie)
simply finds nothing."""

from __future__ import annotations

import secrets
import string
from dataclasses import dataclass
from datetime import datetime, timedelta

from tandem.auth.keys import hash_key
from tandem.auth.roles import Principal, Role
from tandem.clock import utcnow
from tandem.domain import ApiKey, PageSession
from tandem.ids import new_id
from tandem.store.key_store import KeyStore

SESSION_SECONDS = 12 * 3600
"""How long a login lasts, whatever is done with it: the cookie's Max-Age too."""
TOKEN_BYTES = 32
TOKEN_CHARS = 43
"""`secrets.token_urlsafe(32)`: 32 bytes in unpadded URL-safe base64."""
MAX_OPEN_PER_KEY = 50
"""Logging in again with a key ends its oldest session past this many, so repeated
logins cannot grow the table; expired and revoked sessions go on every login."""

_TOKEN_ALPHABET = frozenset(string.ascii_letters + string.digits + "-_")


def mint_token() -> str:
    return secrets.token_urlsafe(TOKEN_BYTES)


def hash_token(token: str) -> str:
    return hash_key(token)


def looks_like_token(token: str) -> bool:
    """Only a string of a token's shape reaches the store (a raw key does not)."""
    return len(token) == TOKEN_CHARS and _TOKEN_ALPHABET.issuperset(token)


@dataclass(frozen=True, slots=True)
class LiveSession:
    """A session that may be used now, and who it stands for."""

    session: PageSession
    principal: Principal


def open_session(
    store: KeyStore,
    principal: Principal,
    now: datetime | None = None,
    seconds: int = SESSION_SECONDS,
) -> tuple[PageSession, str]:
    """Open a session for a verified key and return it with its token (the cookie's
    value, never stored). Cleans up ended sessions and caps the key's open ones."""
    token = mint_token()
    start = now or utcnow()
    session = PageSession(
        id=new_id(),
        token_hash=hash_token(token),
        key_id=principal.key_id,
        created_at=start,
        expires_at=start + timedelta(seconds=seconds),
    )
    store.open_page_session(session, keep=MAX_OPEN_PER_KEY)
    return session, token


def live(session: PageSession, key: ApiKey, now: datetime) -> LiveSession | None:
    """The session if it is neither expired nor revoked and its key is not revoked."""
    if session.revoked_at is not None or key.revoked_at is not None:
        return None
    if session.expires_at <= now:
        return None
    return LiveSession(session, Principal(key.id, key.name, Role(key.role)))


def find_session(store: KeyStore, token: str, now: datetime | None = None) -> LiveSession | None:
    """The live session `token` opens, or None (unknown, malformed, expired, revoked)."""
    if not looks_like_token(token):
        return None
    found = store.page_session(hash_token(token))
    return live(*found, now or utcnow()) if found else None


def end_session(store: KeyStore, token: str) -> bool:
    """Log a browser out: its token opens nothing any more, in any process once their
    caches expire. False when it was not an open session."""
    if not looks_like_token(token):
        return False
    return store.revoke_page_session(hash_token(token), utcnow())


def end_sessions(store: KeyStore, key_id: str) -> int:
    """End every open session of a key (revoking the key does this); returns how many."""
    return store.revoke_page_sessions(key_id, utcnow())
