"""API keys: minted, hashed, listed and revoked. The raw key exists only in the
answer to `create`; the store holds its SHA-256 and a short prefix to recognise it by.

Why a fast hash, not bcrypt/argon2: those are slow on purpose so that an attacker who
steals the hashes of *passwords* (20-40 bits of entropy) cannot try every likely one.
A key here is 256 random bits, so no amount of guessing finds one from its SHA-256;
a slow hash would add nothing but ~100 ms of CPU to every uncached request."""

from __future__ import annotations

import hashlib
import secrets

from tandem.auth.roles import Role, parse_role
from tandem.clock import utcnow
from tandem.domain import ApiKey
from tandem.errors import InvalidInput, NotFound
from tandem.ids import new_id
from tandem.store.key_store import KeyStore

KEY_PREFIX = "tdm_"
"""Every key starts with this, so a leaked one is recognisable (e.g. by secret scanners)."""
PREFIX_CHARS = len(KEY_PREFIX) + 8
"""Shown in listings: 48 of the key's 256 random bits, enough to tell keys apart."""
MAX_KEY_CHARS = 200


def mint() -> str:
    """A new random key: the prefix and 32 random bytes, URL-safe base64 (43 chars)."""
    return KEY_PREFIX + secrets.token_urlsafe(32)


def hash_key(raw: str) -> str:
    return hashlib.sha256(raw.encode("utf-8")).hexdigest()


def display_prefix(raw: str) -> str:
    return raw[:PREFIX_CHARS]


def looks_like_key(raw: str) -> bool:
    return raw.startswith(KEY_PREFIX) and PREFIX_CHARS < len(raw) <= MAX_KEY_CHARS


def _clean_name(name: str) -> str:
    name = name.strip()
    if not name or len(name) > 100 or not name.isprintable():
        raise InvalidInput(
            "a key needs a name of 1-100 printable characters: the person or application "
            "it is for (it is shown as the reviewer or approver on what the key does)"
        )
    return name


def create_key(store: KeyStore, role: Role | str, name: str) -> tuple[ApiKey, str]:
    """Store a new key and return it with its raw value (shown once, never stored)."""
    raw = mint()
    key = ApiKey(
        id=new_id(),
        name=_clean_name(name),
        role=parse_role(str(role)).value,
        key_hash=hash_key(raw),
        prefix=display_prefix(raw),
        created_at=utcnow(),
    )
    store.add_api_key(key)
    return key, raw


def find_key(store: KeyStore, id_or_name: str) -> ApiKey:
    """A key by id, or by name when exactly one active key has that name."""
    keys = store.list_api_keys()
    for key in keys:
        if key.id == id_or_name:
            return key
    named = [k for k in keys if k.name == id_or_name]
    active = [k for k in named if k.revoked_at is None]
    if len(active) == 1:
        return active[0]
    if len(active) > 1:
        ids = ", ".join(k.id for k in active)
        raise InvalidInput(f"several active keys are named {id_or_name!r}; name one by id: {ids}")
    if named:
        return named[-1]
    raise NotFound(f"no API key with id or name {id_or_name!r}; see `tandem keys list`")


def revoke_key(store: KeyStore, id_or_name: str) -> tuple[ApiKey, bool]:
    """Revoke a key and end the page sessions opened with it; the flag says whether
    the key was active until now."""
    key = find_key(store, id_or_name)
    now = utcnow()
    revoked = store.revoke_api_key(key.id, now) if key.revoked_at is None else key
    store.revoke_page_sessions(key.id, now)  # verifying a session checks its key too
    return revoked, key.revoked_at is None
