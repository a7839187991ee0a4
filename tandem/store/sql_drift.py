"""Store queries for drift: references, and logged features read from their blocks
(format and reasons in feature_blocks.py), and the compaction that merges those blocks.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from tandem.domain import StoredReference
from tandem.ids import new_id
from tandem.store import tables as t
from tandem.store.engine import in_memory
from tandem.store.feature_blocks import (
    TARGET_ROWS,
    Block,
    Chunk,
    Compaction,
    concat,
    decode,
    encode,
    hour_of,
    merge,
    microseconds,
)
from tandem.store.monitoring_store import LoggedFeatures
from tandem.store.prediction_log import PredictionFilter
from tandem.store.sql_base import utc


def put_reference(conn: Connection, reference: StoredReference) -> None:
    r = t.drift_references
    conn.execute(r.delete().where(r.c.model == reference.model, r.c.version == reference.version))
    conn.execute(r.insert(), asdict(reference))


def get_reference(conn: Connection, model: str, version: str) -> StoredReference | None:
    r = t.drift_references
    row = (
        conn.execute(sa.select(r).where(r.c.model == model, r.c.version == version))
        .mappings()
        .first()
    )
    if row is None:
        return None
    return StoredReference(**{**row, "created_at": utc(row["created_at"])})


def _overlapping(query: sa.Select[Any], where: PredictionFilter) -> sa.Select[Any]:
    """`query` on the blocks of `where`'s model and version that overlap its window."""
    ignored = [f for f in ("route", "label", "holdout") if getattr(where, f) is not None]
    if ignored:
        raise ValueError(f"logged features are read by model, version and time, not {ignored}")
    b = t.feature_blocks
    if where.model is not None:
        query = query.where(b.c.model == where.model)
    if where.version is not None:
        query = query.where(b.c.version == where.version)
    if where.since is not None:
        query = query.where(b.c.last_at >= where.since)
    if where.until is not None:
        query = query.where(b.c.first_at < where.until)
    return query


class _Window:
    """Cuts blocks to a window, row by row where a block straddles its ends."""

    def __init__(self, where: PredictionFilter) -> None:
        self.lo = None if where.since is None else microseconds(where.since)
        self.hi = None if where.until is None else microseconds(where.until)

    def inside(self, row: Mapping[Any, Any]) -> npt.NDArray[np.bool_] | None:
        """None when the whole block is inside; else which of `times` are."""
        first = microseconds(utc(row["first_at"]))  # type: ignore[arg-type]
        last = microseconds(utc(row["last_at"]))  # type: ignore[arg-type]
        if (self.lo is None or first >= self.lo) and (self.hi is None or last < self.hi):
            return None
        times = np.frombuffer(row["times"], dtype="<i8", count=int(row["row_count"]))
        mask = np.ones(times.size, dtype=bool)
        if self.lo is not None:
            mask &= times >= self.lo
        if self.hi is not None:
            mask &= times < self.hi
        return mask


def logged_features(
    conn: Connection, where: PredictionFilter, names: Sequence[str]
) -> LoggedFeatures:
    """The window's logged features, from the blocks that overlap it, cut to it row by
    row; when more than `where.limit` rows match, the newest of them."""
    rows = _fetch(conn, _overlapping(sa.select(t.feature_blocks), where))
    window = _Window(where)
    kept = []
    for row in rows:
        block = decode(row)
        mask = window.inside(row)
        if mask is not None:
            if not mask.any():
                continue
            block = block.take(mask)
        kept.append(block)
    key = tuple(names)
    if not kept:
        return LoggedFeatures(key, np.empty((0, len(key))), [], np.empty(0), [], 0)
    whole = concat(kept, key)
    total = whole.rows
    if total > where.limit:
        whole = whole.take(np.argsort(whole.times, kind="stable")[total - where.limit :])
    return LoggedFeatures(
        names=key,
        values=whole.values,
        labels=whole.labels.tolist(),
        confidences=whole.confidences,
        routes=whole.routes.tolist(),
        total=total,
    )


CHUNK_ROWS = 262_144
"""Rows drift counts at a time (4 full blocks): ~200 MB of values at 100 features,
and big enough that searching the reference's distinct values into each sorted
chunk column costs less than sorting it."""


@dataclass(frozen=True, slots=True)
class Newest:
    """The newest `limit` rows of a window: every row after `at` (microseconds since
    1970), and the first `ties` rows read at exactly `at`."""

    at: int
    ties: int


def window_size(
    conn: Connection, where: PredictionFilter
) -> tuple[int, Newest | None, tuple[str, ...]]:
    """How many logged rows the window holds, where the newest `where.limit` of them
    begin when there are more, and the feature names its blocks hold (sorted). Reads
    block metadata, and the times of only the blocks that straddle the window's ends
    (all of them when the limit binds), one block at a time."""
    b = t.feature_blocks
    meta = _overlapping(
        sa.select(b.c.id, b.c.first_at, b.c.last_at, b.c.row_count, b.c.feature_names), where
    )
    window = _Window(where)
    total = 0
    straddling = []
    names: set[str] = set()
    for row in conn.execute(meta).mappings():
        logged = row["feature_names"]  # JSON: text on SQLite, parsed on PostgreSQL
        names.update(json.loads(logged) if isinstance(logged, str | bytes) else logged)
        first = microseconds(utc(row["first_at"]))  # type: ignore[arg-type]
        last = microseconds(utc(row["last_at"]))  # type: ignore[arg-type]
        if (window.lo is None or first >= window.lo) and (window.hi is None or last < window.hi):
            total += int(row["row_count"])
        else:
            straddling.append(row["id"])
    if straddling:
        times = sa.select(b.c.first_at, b.c.last_at, b.c.row_count, b.c.times)
        for cut in _stream(conn, times.where(b.c.id.in_(straddling))):
            mask = window.inside(cut)
            total += int(cut["row_count"]) if mask is None else int(mask.sum())
    if total <= where.limit:
        return total, None, tuple(sorted(names))
    return total, _newest(conn, where, window, max(where.limit, 0)), tuple(sorted(names))


def _newest(conn: Connection, where: PredictionFilter, window: _Window, limit: int) -> Newest:
    """Where the newest `limit` rows begin, keeping at most ~2 x `limit` times."""
    if limit == 0:
        return Newest(np.iinfo(np.int64).max, 0)
    b = t.feature_blocks
    query = _overlapping(sa.select(b.c.first_at, b.c.last_at, b.c.row_count, b.c.times), where)
    kept = np.empty(0, dtype=np.int64)
    for row in _stream(conn, query):
        times = np.frombuffer(row["times"], dtype="<i8", count=int(row["row_count"]))
        mask = window.inside(row)
        kept = np.concatenate((kept, times if mask is None else times[mask]))
        if kept.size >= 2 * limit + TARGET_ROWS:
            kept = np.partition(kept, kept.size - limit)[kept.size - limit :]
    kept = np.partition(kept, kept.size - limit)[kept.size - limit :]
    at = int(kept.min())
    return Newest(at, int(np.count_nonzero(kept == at)))


def scan(
    conn: Connection,
    where: PredictionFilter,
    names: Sequence[str],
    newest: Newest | None,
    chunk_rows: int | None = None,
) -> Iterator[Chunk]:
    """The window's logged rows (the newest ones `newest` says) in chunks of about
    `chunk_rows` (default CHUNK_ROWS), read one block at a time: memory holds a chunk,
    not the window."""
    chunk_rows = chunk_rows or CHUNK_ROWS
    window = _Window(where)
    key = tuple(names)
    ties = newest.ties if newest is not None else 0
    pending: list[Block] = []
    rows = 0
    warmer: _Warmer | None = None
    pace = _Pace()
    rows_read = _stream(conn, _overlapping(sa.select(t.feature_blocks), where))
    try:
        while True:
            began = time.perf_counter()
            row = next(rows_read, None)
            if row is None:
                break
            if warmer is not None:
                warmer.reached(row["id"])
            elif pace.from_disk(len(row["feature_values"]), time.perf_counter() - began):
                warmer = _Warmer.start(conn, where, row["id"])
            block = decode(row)
            mask = window.inside(row)
            if newest is not None:
                mask = (block.times > newest.at) & (True if mask is None else mask)
                at = np.flatnonzero(block.times == newest.at)[:ties]
                mask[at] = True
                ties -= at.size
            if mask is not None:
                if not mask.any():
                    continue
                block = block.take(mask)
            pending.append(block)
            rows += block.rows
            if rows >= chunk_rows:
                yield Chunk(key, tuple(pending))
                pending, rows = [], 0
    finally:
        if warmer is not None:
            warmer.stop()
    if pending:
        yield Chunk(key, tuple(pending))


COLD_MB_S = 200.0
"""Blocks the scan reads slower than this came from disk, not the page cache: one
reader gets 45-85 MB/s from a disk, several hundred from the cache on a busy machine."""
JUDGED_BYTES = 8 << 20
"""How much the scan reads before judging where it reads from (small reads time
their overhead, not the disk)."""


class _Pace:
    """How fast the scan reads, judged every `JUDGED_BYTES`: the readers ahead start
    only once it reads from disk, so a window in the page cache costs no extra CPU."""

    def __init__(self) -> None:
        self.size = 0
        self.seconds = 0.0

    def from_disk(self, size: int, seconds: float) -> bool:
        self.size += size
        self.seconds += seconds
        if self.size < JUDGED_BYTES:
            return False
        slow = self.size < COLD_MB_S * 1e6 * self.seconds
        self.size, self.seconds = 0, 0.0
        return slow


WARM_READERS = 6
"""Connections that read a SQLite file's blocks ahead of the scan (see `_Warmer`): on
a cold cache, 45-50 MB/s read alone, 110 with 3, 140-155 with 6, little more with 12."""
WARM_AHEAD = 12
"""How many blocks past the scan's they read at most: ~650 MB of page cache at 100
features, none of it the process's memory."""


class _Warmer:
    """Reads the blocks a scan will reach next, each on its own connection, so that the
    OS page cache holds them when the scan gets there.

    SQLite reads a block's BLOB one 4 KB overflow page at a time, following the page
    chain, which often runs backwards through the file (pages taken from the free
    list): the kernel's read-ahead never starts and a lone reader waits for each page
    in turn. Several readers keep several pages in flight. They read only the last
    column (`route_codes`), which SQLite reaches by walking the whole chain, so every
    page of the block is read while they hold 64 KB, not the block. The scan still
    reads every block itself, in its one statement (one snapshot): a block that
    compaction merges meanwhile is warmed for nothing, never counted twice or missed.

    Not `PRAGMA mmap_size`: a mapped page counts in the process's resident memory, and
    SQLite maps at most the file's first 2 GB."""

    def __init__(self, engine: Engine, ids: list[str], at: str, readers: int, ahead: int) -> None:
        self._engine = engine
        self._ids = ids
        self._index = {block: i for i, block in enumerate(ids)}
        self._ahead = ahead
        self._at = self._index.get(at, 0)  # index of the block the scan reads now
        self._next = self._at + 1  # next block to warm
        self._stopped = False
        self._changed = threading.Condition()
        self._threads = [
            threading.Thread(target=self._read, name=f"warm-blocks-{i}", daemon=True)
            for i in range(readers)
        ]
        for thread in self._threads:
            thread.start()

    @classmethod
    def start(cls, conn: Connection, where: PredictionFilter, at: str) -> _Warmer | None:
        """A warmer for a scan of `where`, reading block `at` now, on a SQLite file with
        blocks to read ahead, else None (PostgreSQL reads on its server; a memory
        database is in memory)."""
        if conn.dialect.name != "sqlite" or in_memory(conn.engine.url) or WARM_READERS < 1:
            return None
        b = t.feature_blocks
        ids = [r[0] for r in conn.execute(_overlapping(sa.select(b.c.id), where))]
        if len(ids) < 2:
            return None
        return cls(conn.engine, ids, at, WARM_READERS, WARM_AHEAD)

    def reached(self, block: str) -> None:
        """The scan is reading `block` now."""
        at = self._index.get(block)
        if at is None:
            return
        with self._changed:
            self._at = at
            self._next = max(self._next, at + 1)
            self._changed.notify_all()

    def stop(self) -> None:
        """End the readers, each after the block it is reading (at most ~1 s cold)."""
        with self._changed:
            self._stopped = True
            self._changed.notify_all()
        for thread in self._threads:
            thread.join()

    def _take(self) -> str | None:
        """The next block to warm, waiting while the readers are far enough ahead."""
        with self._changed:
            while not self._stopped and self._next > self._at + self._ahead:
                self._changed.wait()
            if self._stopped or self._next >= len(self._ids):
                return None
            self._next += 1
            return self._ids[self._next - 1]

    def _read(self) -> None:
        """Warm blocks until there are none left or the scan ends, on a connection of
        its own outside the engine's pool: a scan never waits for, or takes, one the
        server's requests need."""
        dialect = self._engine.dialect
        sql = f"SELECT substr(route_codes, 1, 1) FROM {t.feature_blocks.name} WHERE id = ?"
        try:
            args, kwargs = dialect.create_connect_args(self._engine.url)
            raw = dialect.connect(*args, **kwargs)
        except Exception:  # warming only speeds the scan up: it reads every block anyway
            return
        try:
            cursor = raw.cursor()
            while (block := self._take()) is not None:
                cursor.execute(sql, (block,))
                cursor.fetchall()
        except Exception:  # as above: the scan reads on, a page cache colder
            return
        finally:
            raw.close()


class _Raced(Exception):
    """Another process merged or removed some of these blocks first."""


def _fetch(conn: Connection, query: sa.Select[Any]) -> Sequence[Mapping[Any, Any]]:
    """Rows as mappings. From PostgreSQL in binary: psycopg otherwise sends bytea as hex
    text, and decoding 180 MB of it took 1.8 s of a million-row read, 0.5-0.7 s binary."""
    if conn.dialect.name != "postgresql" or conn.dialect.driver != "psycopg":
        return conn.execute(query).mappings().all()
    compiled = query.compile(dialect=conn.dialect, compile_kwargs={"render_postcompile": True})
    raw: Any = conn.connection.driver_connection
    with raw.cursor(binary=True) as cursor:
        cursor.execute(str(compiled), compiled.params)
        names = [d.name for d in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def _stream(conn: Connection, query: sa.Select[Any]) -> Iterator[Mapping[Any, Any]]:
    """Rows as mappings, fetched a few at a time: a server-side cursor on PostgreSQL
    (binary, as `_fetch`), SQLite's own stepping otherwise, one row at a time (no round
    trips to save, and a block read ahead is memory `_Warmer` makes unneeded)."""
    if conn.dialect.name != "postgresql" or conn.dialect.driver != "psycopg":
        yield from (
            conn.execution_options(stream_results=True, yield_per=1).execute(query).mappings()
        )
        return
    compiled = query.compile(dialect=conn.dialect, compile_kwargs={"render_postcompile": True})
    raw: Any = conn.connection.driver_connection
    with raw.cursor(name=f"drift_{new_id()}", binary=True) as cursor:
        cursor.itersize = 4
        cursor.execute(str(compiled), compiled.params)
        names: list[str] | None = None
        for row in cursor:
            if names is None:
                names = [d.name for d in cursor.description]
            yield dict(zip(names, row, strict=True))


def compact(engine: Engine, target: int = TARGET_ROWS) -> Compaction:
    """Merge the small blocks of each model version, names and hour into blocks of up
    to `target` rows, each merge in its own short transaction: it deletes exactly the
    blocks it read or rolls back, so two processes compacting at once never duplicate
    or drop a row, and readers (one statement each) see the old blocks or the new."""
    b = t.feature_blocks
    meta = (
        sa.select(b.c.id, b.c.model, b.c.version, b.c.feature_names, b.c.first_at, b.c.row_count)
        .where(b.c.row_count < target)
        .order_by(b.c.model, b.c.version, b.c.first_at)
    )
    with engine.connect() as conn:
        small = conn.execute(meta).all()
    groups: dict[tuple[Any, ...], list[tuple[str, int]]] = {}
    for r in small:
        key = (r.model, r.version, tuple(r.feature_names), hour_of(utc(r.first_at)))  # type: ignore[arg-type]
        groups.setdefault(key, []).append((r.id, int(r.row_count)))
    merged = written = moved = raced = 0
    for members in groups.values():
        for chunk in _chunks(members, target):
            try:
                blocks, rows = _merge_chunk(engine, [i for i, _ in chunk], target)
            except _Raced:
                raced += 1
                continue
            merged, written, moved = merged + len(chunk), written + blocks, moved + rows
    return Compaction(merged, written, moved, raced)


def _chunks(members: list[tuple[str, int]], target: int) -> list[list[tuple[str, int]]]:
    """Runs of consecutive blocks whose rows add up to at most `target`, so each merge
    writes one block and holds SQLite's write lock briefly; a run of one is left alone
    (a block that nothing more fits beside stays as it is)."""
    out: list[list[tuple[str, int]]] = []
    run: list[tuple[str, int]] = []
    rows = 0
    for member in members:
        if run and rows + member[1] > target:
            out.append(run)
            run, rows = [], 0
        run.append(member)
        rows += member[1]
    out.append(run)
    return [r for r in out if len(r) > 1]


def _merge_chunk(engine: Engine, ids: list[str], target: int) -> tuple[int, int]:
    b = t.feature_blocks
    with engine.begin() as conn:
        rows = _fetch(conn, sa.select(b).where(b.c.id.in_(ids)))
        if len(rows) != len(ids):
            raise _Raced
        merged = merge([decode(r) for r in rows], target)
        encoded = [asdict(encode(m)) for m in merged]  # before the write lock is taken
        deleted = conn.execute(b.delete().where(b.c.id.in_(ids))).rowcount
        if deleted != len(ids):
            raise _Raced  # leaves the transaction: rolled back, nothing written
        conn.execute(b.insert(), encoded)
    return len(merged), sum(m.rows for m in merged)
