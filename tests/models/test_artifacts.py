from __future__ import annotations

import stat
from pathlib import Path

import pytest

from tandem.errors import ArtifactCorrupt, InvalidInput, NotFound
from tandem.models import artifacts
from tandem.models.artifacts import ArtifactStore, sha256
from tandem.store import tables
from tandem.store.base import Store


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


# -- artifacts in the store: every host on one database loads every version


def test_a_host_loads_what_another_host_stored(tmp_path: Path, store: Store) -> None:
    first = ArtifactStore(tmp_path / "host-a", store)
    digest = first.put(b"weights")
    assert store.has_artifact(digest)

    second = ArtifactStore(tmp_path / "host-b", store)
    assert not second.path(digest).exists()
    assert second.get(digest) == b"weights"
    cached = second.path(digest)  # kept locally, owner-only, for the next load
    assert cached.read_bytes() == b"weights"
    assert stat.S_IMODE(cached.stat().st_mode) == 0o600
    assert stat.S_IMODE(cached.parent.stat().st_mode) == 0o700


def test_a_big_artifact_is_kept_in_chunks(
    tmp_path: Path, store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(artifacts, "CHUNK_BYTES", 3)
    content = b"0123456789abcdef"
    digest = ArtifactStore(tmp_path / "host-a", store).put(content)
    assert [len(c) for c in store.artifact_chunks(digest)] == [3, 3, 3, 3, 3, 1]
    assert ArtifactStore(tmp_path / "host-b", store).get(digest) == content


def test_an_artifact_over_the_limit_is_refused_clearly(
    tmp_path: Path, store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(artifacts, "MAX_ARTIFACT_BYTES", 10)
    with pytest.raises(InvalidInput, match="at most 10 bytes"):
        ArtifactStore(tmp_path / "host", store).put(b"12345678901")
    assert not (tmp_path / "host").exists()


def test_two_hosts_storing_the_same_bytes_keep_one_copy(tmp_path: Path, store: Store) -> None:
    digest = ArtifactStore(tmp_path / "a", store).put(b"weights")
    store.put_artifact(digest, [b"weights"])  # a second host, racing: nothing changes
    assert list(store.artifact_chunks(digest)) == [b"weights"]


def test_a_version_stored_as_a_file_only_keeps_loading_and_is_shared(
    tmp_path: Path, store: Store
) -> None:
    """Registered when artifacts were files: its host loads it from the file, copies
    it into the store at start (`share`), and from then on every host loads it."""
    files_only = ArtifactStore(tmp_path / "old-host")
    digest = files_only.put(b"old weights")
    old_host = ArtifactStore(tmp_path / "old-host", store)
    assert old_host.get(digest) == b"old weights"
    with pytest.raises(NotFound, match="neither in the store nor in"):
        ArtifactStore(tmp_path / "new-host", store).get(digest)

    assert old_host.share([digest, digest, "ab" * 32]) == [digest]
    assert old_host.share([digest]) == []  # already there
    assert ArtifactStore(tmp_path / "new-host", store).get(digest) == b"old weights"


def test_a_damaged_local_copy_is_replaced_from_the_store(tmp_path: Path, store: Store) -> None:
    host = ArtifactStore(tmp_path / "host", store)
    digest = host.put(b"weights")
    host.path(digest).write_bytes(b"tampered")
    assert host.get(digest) == b"weights"
    assert host.path(digest).read_bytes() == b"weights"


def test_a_damaged_copy_in_the_store_is_refused(tmp_path: Path, store: Store) -> None:
    digest = ArtifactStore(tmp_path / "a", store).put(b"weights")
    with store.engine.begin() as conn:  # type: ignore[attr-defined]
        conn.execute(
            tables.artifact_blobs.update()
            .where(tables.artifact_blobs.c.sha256 == digest)
            .values(data=b"tampered")
        )
    with pytest.raises(ArtifactCorrupt, match="in the store does not match its hash"):
        ArtifactStore(tmp_path / "b", store).get(digest)
    assert not ArtifactStore(tmp_path / "b", store).path(digest).exists()
