"""Model artifacts' bytes, kept in the store by their sha256 so that every host on one
database can load every registered version. Checking the bytes against the digest is
the reader's job (tandem.models.artifacts): the store only keeps them."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator

CHUNK_BYTES = 8 * 1024 * 1024
"""An artifact is kept in rows of at most this many bytes: no driver or server has to
hold one huge value, and a reader streams it a chunk at a time."""


class ArtifactBlobs(ABC):
    @abstractmethod
    def has_artifact(self, digest: str) -> bool: ...

    @abstractmethod
    def put_artifact(self, digest: str, chunks: Iterable[bytes]) -> None:
        """Keep the artifact whose bytes are `chunks` joined (each at most CHUNK_BYTES),
        all or nothing; one already kept (by any host) is left as it is."""

    @abstractmethod
    def artifact_chunks(self, digest: str) -> Iterator[bytes]:
        """The artifact's chunks in order; NotFound (on the first step) when the store
        does not have it."""
