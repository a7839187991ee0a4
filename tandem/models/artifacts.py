"""Content-addressed artifact files: the name is the sha256, checked on every load."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from tandem.errors import ArtifactCorrupt, NotFound
from tandem.files import private_dir, write_private


def sha256(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


class ArtifactStore:
    def __init__(self, root: Path) -> None:
        self.root = root

    def path(self, digest: str) -> Path:
        return self.root / digest[:2] / digest

    def put(self, content: bytes) -> str:
        """Write `content` once (atomically, 0600 in 0700 folders: an artifact runs code
        when loaded) and return its sha256."""
        digest = sha256(content)
        target = self.path(digest)
        if not target.exists():
            private_dir(target.parent)
            tmp = target.with_suffix(f".tmp{os.getpid()}")
            write_private(tmp, content)
            os.replace(tmp, target)
        return digest

    def get(self, digest: str) -> bytes:
        target = self.path(digest)
        if not target.exists():
            raise NotFound(f"artifact {digest} is missing from {self.root}")
        content = target.read_bytes()
        if sha256(content) != digest:
            raise ArtifactCorrupt(
                f"artifact {target} does not match its hash {digest}; retrain or restore it"
            )
        return content
