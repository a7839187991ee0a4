"""Content-addressed artifacts: the name is the sha256, checked on every load.

The store keeps every artifact's bytes, so any host on the same database loads any
registered version; each host keeps a verified copy under TANDEM_HOME/artifacts/ (its
cache). Versions registered before the store kept artifacts are files only: a host
that has the file copies it into the store (`share`), and until then it loads from the
file as before."""

from __future__ import annotations

import hashlib
import logging
import os
import threading
from collections.abc import Iterable, Iterator
from pathlib import Path

from tandem.errors import ArtifactCorrupt, InvalidInput, NotFound
from tandem.files import private_dir, write_private
from tandem.store.artifact_blobs import CHUNK_BYTES, ArtifactBlobs

log = logging.getLogger("tandem")

MAX_ARTIFACT_BYTES = 1024**3
"""The largest artifact Tandem keeps (1 GiB): a model is loaded whole into the memory
of every worker that serves it, so a bigger one is refused when it is registered."""


def sha256(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


def _chunks(content: bytes) -> Iterator[bytes]:
    view = memoryview(content)
    for start in range(0, len(content), CHUNK_BYTES):
        yield bytes(view[start : start + CHUNK_BYTES])


class ArtifactStore:
    """Artifacts in `shared` (the store) with a local copy under `root`; without
    `shared`, local files only (one process on one machine, as in unit tests)."""

    def __init__(self, root: Path, shared: ArtifactBlobs | None = None) -> None:
        self.root = root
        self.shared = shared

    def path(self, digest: str) -> Path:
        return self.root / digest[:2] / digest

    def put(self, content: bytes) -> str:
        """Keep `content` once (in the store, and locally: atomically, 0600 in 0700
        folders, since an artifact runs code when loaded) and return its sha256."""
        if len(content) > MAX_ARTIFACT_BYTES:
            raise InvalidInput(
                f"the artifact is {len(content):,} bytes; Tandem keeps artifacts of at "
                f"most {MAX_ARTIFACT_BYTES:,} bytes (1 GiB)"
            )
        digest = sha256(content)
        self._write_local(digest, content)
        if self.shared is not None:
            self.shared.put_artifact(digest, _chunks(content))
        return digest

    def get(self, digest: str) -> bytes:
        """The artifact's bytes, verified: the local copy if it is intact, else the
        store's (then kept locally for the next load)."""
        target = self.path(digest)
        if target.exists():
            content = target.read_bytes()
            if sha256(content) == digest:
                return content
            if self.shared is None:
                raise ArtifactCorrupt(
                    f"artifact {target} does not match its hash {digest}; retrain or restore it"
                )
            log.warning("artifact %s does not match its hash; fetching it from the store", target)
        if self.shared is None:
            raise NotFound(f"artifact {digest} is missing from {self.root}")
        content = self._fetch(self.shared, digest)
        self._write_local(digest, content)
        return content

    def share(self, digests: Iterable[str]) -> list[str]:
        """Copy into the store the artifacts among `digests` it lacks and this host has
        intact (versions registered when artifacts were files only); the ones copied."""
        if self.shared is None:
            return []
        copied = []
        for digest in dict.fromkeys(digests):
            target = self.path(digest)
            if self.shared.has_artifact(digest) or not target.exists():
                continue
            content = target.read_bytes()
            if sha256(content) != digest:
                log.warning("artifact %s does not match its hash; not copied to the store", target)
                continue
            self.shared.put_artifact(digest, _chunks(content))
            copied.append(digest)
        return copied

    def _fetch(self, shared: ArtifactBlobs, digest: str) -> bytes:
        try:
            parts: list[bytes] = []
            size = 0
            hasher = hashlib.sha256()
            for chunk in shared.artifact_chunks(digest):
                size += len(chunk)
                if size > MAX_ARTIFACT_BYTES:
                    raise ArtifactCorrupt(
                        f"artifact {digest} in the store is over {MAX_ARTIFACT_BYTES:,} bytes, "
                        "more than Tandem ever keeps; restore it or retrain"
                    )
                hasher.update(chunk)
                parts.append(chunk)
        except NotFound:
            raise NotFound(
                f"artifact {digest} is neither in the store nor in {self.root}; "
                "register the version again from its file"
            ) from None
        if hasher.hexdigest() != digest:
            raise ArtifactCorrupt(
                f"artifact {digest} in the store does not match its hash; retrain or restore it"
            )
        return b"".join(parts)

    def _write_local(self, digest: str, content: bytes) -> None:
        target = self.path(digest)
        if target.exists() and sha256(target.read_bytes()) == digest:
            return
        private_dir(target.parent)
        tmp = target.with_suffix(f".tmp{os.getpid()}-{threading.get_ident()}")
        write_private(tmp, content)
        os.replace(tmp, target)
