"""API keys and the page sessions opened with them: hashes and roles, never raw keys
or tokens. Sessions live here because each one stands for its key: revoking the key
ends them, and verifying one reads the key too."""

from __future__ import annotations

from abc import ABC, abstractmethod
from datetime import datetime

from tandem.domain import ApiKey, PageSession


class KeyStore(ABC):
    @abstractmethod
    def add_api_key(self, key: ApiKey) -> None: ...

    @abstractmethod
    def list_api_keys(self) -> list[ApiKey]:
        """Every key, revoked ones too, oldest first."""

    @abstractmethod
    def api_keys_with_prefix(self, prefix: str) -> list[ApiKey]:
        """The keys whose display prefix is `prefix` (normally one): verification
        then compares hashes in constant time rather than trusting an index lookup."""

    @abstractmethod
    def revoke_api_key(self, key_id: str, at: datetime) -> ApiKey:
        """Mark a key revoked (NotFound for an unknown id; a revoked key stays revoked
        at its first revocation time)."""

    @abstractmethod
    def touch_api_key(self, key_id: str, at: datetime) -> None:
        """Record when a key was last used (callers throttle this)."""

    @abstractmethod
    def open_page_session(self, session: PageSession, keep: int) -> None:
        """Store a new session; in the same transaction, delete every session (of any
        key) that expired or was revoked before `session.created_at`, and delete this
        key's oldest open sessions so that at most `keep` remain, the new one included."""

    @abstractmethod
    def page_session(self, token_hash: str) -> tuple[PageSession, ApiKey] | None:
        """The session whose token hashes to `token_hash`, with its key, whatever their
        state (the caller decides what expired or revoked means)."""

    @abstractmethod
    def revoke_page_session(self, token_hash: str, at: datetime) -> bool:
        """End one session; False when no open session has that token hash."""

    @abstractmethod
    def revoke_page_sessions(self, key_id: str, at: datetime) -> int:
        """End every open session of a key; returns how many were open."""

    @abstractmethod
    def touch_page_session(self, session_id: str, at: datetime) -> None:
        """Record when a session was last used (callers throttle this)."""
