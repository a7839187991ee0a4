from __future__ import annotations

from pathlib import Path

import pytest

from tandem.errors import ArtifactCorrupt, NotFound
from tandem.models.artifacts import ArtifactStore, sha256


def test_content_addressed_round_trip(tmp_path: Path) -> None:
    store = ArtifactStore(tmp_path)
    digest = store.put(b"weights")
    assert digest == sha256(b"weights")
    assert store.put(b"weights") == digest  # idempotent
    assert store.get(digest) == b"weights"


def test_tampered_artifact_is_refused(tmp_path: Path) -> None:
    store = ArtifactStore(tmp_path)
    digest = store.put(b"weights")
    store.path(digest).write_bytes(b"tampered")
    with pytest.raises(ArtifactCorrupt, match="does not match its hash"):
        store.get(digest)


def test_missing_artifact_is_not_found(tmp_path: Path) -> None:
    with pytest.raises(NotFound):
        ArtifactStore(tmp_path).get("ab" * 32)
