"""Key and page-session verification with a short in-process cache.

Without the cache every request would read the store before doing any work; with it,
a known key or session costs a SHA-256 and a dict lookup. The price is that a revoked
key or session keeps working in a process for at most `ttl_s` (default 5 s): each cache
entry expires and the next request reads the store again (a session's entry also ends
when the session does; logging out drops it from this process's cache at once).
Unknown keys and tokens are not cached, so a key created a moment ago works at once."""

from __future__ import annotations

import hmac
import math
import time
from collections.abc import Callable
from datetime import datetime, timedelta

from tandem.auth.keys import display_prefix, hash_key, looks_like_key
from tandem.auth.roles import Principal, Role
from tandem.auth.sessions import end_session, hash_token, live, looks_like_token, open_session
from tandem.clock import utcnow
from tandem.store.key_store import KeyStore


class _Held:
    """Verified principals by credential digest, each for at most `ttl_s` seconds of
    `clock` (0: none held). At most `max_entries`: a flood of distinct valid
    credentials empties it rather than growing it. Unknown credentials are not held."""

    def __init__(self, ttl_s: float, clock: Callable[[], float], max_entries: int) -> None:
        self.ttl_s = ttl_s
        self.clock = clock
        self.max_entries = max_entries
        self._entries: dict[str, tuple[Principal, float]] = {}

    def get(self, digest: str) -> Principal | None:
        return self._live(digest, self.clock())

    def _live(self, digest: str, now: float) -> Principal | None:
        held = self._entries.get(digest)
        return held[0] if held is not None and held[1] > now else None

    def verified(
        self, digest: str, lookup: Callable[[], tuple[Principal, float] | None]
    ) -> Principal | None:
        """The principal held for `digest`, else the one `lookup` finds with the seconds
        its credential has left, then held for those or `ttl_s`, whichever is fewer."""
        now = self.clock()
        held = self._live(digest, now)
        if held is not None:
            return held
        found = lookup()
        if found is None:
            self.drop(digest)
            return None
        principal, left_s = found
        if self.ttl_s > 0:
            if len(self._entries) >= self.max_entries:
                self._entries.clear()
            self._entries[digest] = (principal, now + min(self.ttl_s, left_s))
        return principal

    def drop(self, digest: str) -> None:
        self._entries.pop(digest, None)


class Authenticator:
    def __init__(
        self,
        store: KeyStore,
        ttl_s: float = 5.0,
        touch_every_s: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
        max_entries: int = 10_000,
    ) -> None:
        self.store = store
        self.touch_every = timedelta(seconds=touch_every_s)
        self._keys = _Held(ttl_s, clock, max_entries)
        self._sessions = _Held(ttl_s, clock, max_entries)

    def verify(self, raw: str) -> Principal | None:
        """The principal `raw` stands for, or None for a malformed, unknown or revoked key."""
        if not looks_like_key(raw):
            return None
        digest = hash_key(raw)
        return self._keys.verified(digest, lambda: self._lookup(raw, digest))

    def cached(self, raw: str) -> Principal | None:
        """The principal `raw` stands for if this process verified it within `ttl_s`;
        None means "ask `verify`", which may read the store."""
        return self._keys.get(hash_key(raw)) if looks_like_key(raw) else None

    def open_session(self, principal: Principal) -> str:
        """Log a browser in as a verified key: the token for its cookie."""
        return open_session(self.store, principal)[1]

    def end_session(self, token: str) -> None:
        """Log a browser out: its token opens nothing here from now on, and nothing in
        other processes once their cache entry expires."""
        if looks_like_token(token):
            self._sessions.drop(hash_token(token))
            end_session(self.store, token)

    def verify_session(self, token: str) -> Principal | None:
        """Who a login cookie's token stands for, or None for a malformed, unknown,
        expired or revoked session, or one whose key was revoked."""
        if not looks_like_token(token):
            return None
        digest = hash_token(token)
        return self._sessions.verified(digest, lambda: self._session(digest))

    def cached_session(self, token: str) -> Principal | None:
        """Like `cached`, for a login cookie's token."""
        return self._sessions.get(hash_token(token)) if looks_like_token(token) else None

    def _session(self, digest: str) -> tuple[Principal, float] | None:
        """The live session's principal and its seconds left; its last use recorded at
        most once a `touch_every`."""
        found = self.store.page_session(digest)
        wall = utcnow()
        alive = live(*found, wall) if found else None
        if alive is None:
            return None
        session = alive.session
        if session.last_seen_at is None or wall - session.last_seen_at >= self.touch_every:
            self.store.touch_page_session(session.id, wall)
        return alive.principal, (session.expires_at - wall).total_seconds()

    def _lookup(self, raw: str, digest: str) -> tuple[Principal, float] | None:
        """The key's principal (a key has no end: its seconds left are infinite)."""
        for key in self.store.api_keys_with_prefix(display_prefix(raw)):
            # compare_digest: the time taken does not tell how much of the hash matched.
            if hmac.compare_digest(key.key_hash, digest):
                if key.revoked_at is not None:
                    return None
                self._touch(key.id, key.last_used_at)
                return Principal(key.id, key.name, Role(key.role)), math.inf
        return None

    def _touch(self, key_id: str, last_used: datetime | None) -> None:
        """Record use at most once a `touch_every` per key (and only on a cache miss),
        so last_used_at never costs a write per request."""
        now = utcnow()
        if last_used is None or now - last_used >= self.touch_every:
            self.store.touch_api_key(key_id, now)
