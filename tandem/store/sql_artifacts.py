"""Model artifacts' bytes by sha256, in chunks (see tables.artifact_blobs)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

import sqlalchemy as sa

from tandem.errors import Conflict, NotFound
from tandem.store import tables as t
from tandem.store.artifact_blobs import ArtifactBlobs
from tandem.store.sql_base import SqlBase


class ArtifactSql(SqlBase, ArtifactBlobs):
    def has_artifact(self, digest: str) -> bool:
        ab = t.artifact_blobs
        with self._tx() as conn:
            found = conn.execute(
                sa.select(ab.c.seq).where(ab.c.sha256 == digest, ab.c.seq == 0)
            ).first()
        return found is not None

    def put_artifact(self, digest: str, chunks: Iterable[bytes]) -> None:
        ab = t.artifact_blobs
        try:
            with self._tx() as conn:
                if conn.execute(
                    sa.select(ab.c.seq).where(ab.c.sha256 == digest, ab.c.seq == 0)
                ).first():
                    return
                seq = 0
                for chunk in chunks:
                    conn.execute(ab.insert(), {"sha256": digest, "seq": seq, "data": chunk})
                    seq += 1
                if seq == 0:  # an empty artifact is one empty chunk: chunk 0 marks it kept
                    conn.execute(ab.insert(), {"sha256": digest, "seq": 0, "data": b""})
        except Conflict:
            # Another host kept the same bytes meanwhile: same digest, same content.
            if not self.has_artifact(digest):
                raise

    def artifact_chunks(self, digest: str) -> Iterator[bytes]:
        ab = t.artifact_blobs
        seq = 0
        while True:
            # One short transaction per chunk: a big artifact never holds a
            # transaction (or the whole blob in the driver) open.
            with self._tx() as conn:
                row = conn.execute(
                    sa.select(ab.c.data).where(ab.c.sha256 == digest, ab.c.seq == seq)
                ).first()
            if row is None:
                if seq == 0:
                    raise NotFound(f"artifact {digest} is not in the store")
                return
            yield bytes(row[0])
            seq += 1
