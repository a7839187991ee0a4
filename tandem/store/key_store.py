"""API keys: hashes and roles, never raw keys."""

from __future__ import annotations

from abc import ABC, abstractmethod
from datetime import datetime

from tandem.domain import ApiKey


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
