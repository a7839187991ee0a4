"""Logged features as column blocks: the format, the writer's blocks, compaction and the
0008 backfill, on SQLite and PostgreSQL alike."""

from __future__ import annotations

import threading
from collections.abc import Iterable
from dataclasses import replace
from datetime import timedelta
from typing import Any

import numpy as np
import pytest
import sqlalchemy as sa

from tandem.domain import Prediction, shallow_dict
from tandem.settings import Settings
from tandem.store import open_store, sql_drift
from tandem.store import tables as t
from tandem.store.base import LogEntry, PredictionFilter, Store
from tandem.store.feature_blocks import Chunk, blocks_of, decode, encode, merge, microseconds
from tandem.store.migrate import upgrade
from tests.store.test_sql_store import NOW, _prediction

NAMES = ["x", "y"]


def _p(i: int, minutes: float = 0.0, model: str = "m", **features: object) -> Prediction:
    return replace(
        _prediction(f"p{i:06d}"),
        created_at=NOW + timedelta(minutes=minutes, microseconds=i),
        model=model,
        features=features or {"x": float(i), "y": i % 7 * 1.0},
        label=("good", "poor")[i % 2],
        confidence=0.5 + (i % 50) / 100,
        route=("model", "review", "fallback")[i % 3],
    )


def _log(store: Store, batches: list[list[Prediction]]) -> None:
    for batch in batches:
        store.add_predictions([LogEntry(p) for p in batch])


def _rows(store: Store, limit: int = 10**9, **window: object) -> list[tuple[object, ...]]:
    """The window's logged rows (the newest `limit`) as sortable tuples, order-free."""
    got = store.logged_features(PredictionFilter(model="m", limit=limit, **window), NAMES)  # type: ignore[arg-type]
    return sorted(
        zip(
            map(tuple, got.values.tolist()),
            got.labels,
            got.confidences.tolist(),
            got.routes,
            strict=True,
        )
    )


def _blocks(store: Store) -> list[sa.Row[tuple[object, ...]]]:
    b = t.feature_blocks
    with store.engine.connect() as conn:  # type: ignore[attr-defined]
        return list(conn.execute(sa.select(b).order_by(b.c.first_at)).all())


def test_a_block_round_trips_and_reads_anything_not_a_number_as_missing() -> None:
    ps = [_p(1), _p(2, x="text", y=None), _p(3, x=True, y=2)]  # a flag is a number
    (block,) = blocks_of(ps)
    back = decode(shallow_dict(encode(block)))
    assert back.names == ("x", "y") and back.rows == 3
    assert np.array_equal(
        back.values, np.array([[1.0, 1.0], [np.nan, np.nan], [1.0, 2.0]]), equal_nan=True
    )
    assert back.times.tolist() == [microseconds(p.created_at) for p in ps]
    assert back.labels.tolist() == ["poor", "good", "poor"]
    assert back.routes.tolist() == ["review", "fallback", "model"]
    assert back.confidences.tolist() == [p.confidence for p in ps]
    (numbers,) = blocks_of([_p(4, x=3, y=False), _p(5, x=np.int64(7), y=np.float32(0.5))])
    assert numbers.values.tolist() == [[3.0, 0.0], [7.0, 0.5]]
    assert back.columns(["y", "z"]).tolist()[0][0] == 1.0 and np.isnan(back.columns(["z"])).all()


def test_a_merge_keeps_every_row_in_time_order_and_caps_the_size() -> None:
    late, early = (
        blocks_of([_p(i, minutes=5) for i in range(7)]),
        blocks_of([_p(i) for i in range(7, 12)]),
    )
    merged = merge(late + early, target=4)
    assert [b.rows for b in merged] == [4, 4, 4]
    times = np.concatenate([b.times for b in merged])
    assert np.all(np.diff(times) >= 0)
    assert sorted(np.concatenate([b.values for b in merged])[:, 0].tolist()) == list(
        map(float, range(12))
    )
    with pytest.raises(ValueError, match="one model"):
        merge(blocks_of([_p(1)]) + blocks_of([_p(2, model="other")]))


def test_each_write_batch_stores_one_block_per_model_version(store: Store) -> None:
    _log(store, [[_p(1), _p(2, model="other"), _p(3)], [_p(4)]])
    assert sorted((r.model, r.row_count) for r in _blocks(store)) == [
        ("m", 1),
        ("m", 2),
        ("other", 1),
    ]
    assert [r[0][0] for r in _rows(store)] == [1.0, 3.0, 4.0]


def test_compaction_merges_an_hours_small_blocks_and_reads_the_same(store: Store) -> None:
    first_hour = [[_p(10 * b + i, minutes=b) for i in range(10)] for b in range(30)]
    next_hour = [[_p(1000 + 10 * b + i, minutes=60 + b) for i in range(10)] for b in range(5)]
    _log(store, first_hour + next_hour)
    before = _rows(store)
    assert len(_blocks(store)) == 35

    done = sql_drift.compact(store.engine, target=64)  # type: ignore[attr-defined]
    blocks = _blocks(store)
    assert _rows(store) == before  # nothing gained, lost or changed
    assert (done.merged_blocks, done.rows, done.raced) == (35, 350, 0)
    # Runs of whole blocks up to 64 rows: the first hour's 300 rows as six blocks of
    # ten, five times; the next hour's 50 in one. No block spans two hours.
    assert sorted(r.row_count for r in blocks) == [50, 60, 60, 60, 60, 60]
    assert all(r.first_at.hour == r.last_at.hour for r in blocks)
    again = sql_drift.compact(store.engine, target=64)  # type: ignore[attr-defined]
    assert again.merged_blocks == 0 and len(_blocks(store)) == 6


def test_a_window_cuts_merged_blocks_row_by_row(store: Store) -> None:
    _log(store, [[_p(10 * b + i, minutes=b + i / 10) for i in range(10)] for b in range(20)])
    sql_drift.compact(store.engine, target=1000)  # type: ignore[attr-defined]
    assert len(_blocks(store)) == 1
    one = _p(195, minutes=19.5).created_at  # exactly one row, to the microsecond
    windows = [
        (NOW + timedelta(minutes=a), NOW + timedelta(minutes=b))
        for a, b in [(3.0, 7.35), (0.0, 0.1), (12.25, 30.0)]
    ]
    for since, until in [*windows, (one, one + timedelta(microseconds=1))]:
        expected = len(store.list_prediction_ids(since, until, "m"))
        assert len(_rows(store, since=since, until=until)) == expected > 0, (since, until)
    assert len(_rows(store, since=one, until=one + timedelta(microseconds=1))) == 1
    newest = store.logged_features(PredictionFilter(model="m", limit=5), NAMES)
    assert newest.total == 200 and sorted(newest.values[:, 0].tolist()) == [
        195.0,
        196.0,
        197.0,
        198.0,
        199.0,
    ]


def test_two_processes_compacting_at_once_neither_lose_nor_double_a_row(store: Store) -> None:
    _log(store, [[_p(5 * b + i, minutes=b / 10) for i in range(5)] for b in range(120)])
    before = _rows(store)
    results = []

    def compact() -> None:
        results.append(sql_drift.compact(store.engine, target=50))  # type: ignore[attr-defined]

    threads = [threading.Thread(target=compact) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert _rows(store) == before
    assert sum(r.rows for r in results) == 600  # each row moved by exactly one of them
    assert sorted(r.row_count for r in _blocks(store)) == [50] * 12


def test_a_merge_whose_blocks_another_process_took_writes_nothing(store: Store) -> None:
    _log(store, [[_p(1)], [_p(2)]])
    ids = [r.id for r in _blocks(store)]
    with pytest.raises(sql_drift._Raced):
        sql_drift._merge_chunk(store.engine, [*ids, "gone"], 100)  # type: ignore[attr-defined]
    assert sorted(r.id for r in _blocks(store)) == sorted(ids)


@pytest.mark.empty_store
def test_the_0008_migration_copies_logged_predictions_into_blocks(settings: Settings) -> None:
    store = open_store(settings.resolved_database_url, migrate=False)
    try:
        upgrade(store.engine, "0007")  # type: ignore[attr-defined]
        old = [_p(i, minutes=i * 7, x=float(i), y=2.0 * i) for i in range(20)]
        old.append(_p(99, model="other"))
        predictions = sa.table(
            "predictions", *(sa.column(c.name, c.type) for c in t.predictions.columns)
        )
        with store.engine.begin() as conn:  # type: ignore[attr-defined]
            conn.execute(predictions.insert(), [shallow_dict(p) for p in old])
        upgrade(store.engine)  # type: ignore[attr-defined]
        got = _rows(store)
        assert [r[0] for r in got] == [(float(i), 2.0 * i) for i in range(20)]
        assert store.logged_features(PredictionFilter(model="other"), NAMES).total == 1
        columns = {c["name"] for c in sa.inspect(store.engine).get_columns("predictions")}  # type: ignore[attr-defined]
        assert not {"feature_layout", "feature_values"} & columns
    finally:
        store.close()


def _chunked(store: Store, limit: int = 10**9, **window: object) -> tuple[int, int, list[Any]]:
    """What logged_feature_chunks reads: total, rows, and the rows as `_rows` gives them."""
    got = store.logged_feature_chunks(
        PredictionFilter(model="m", limit=limit, **window),  # type: ignore[arg-type]
        NAMES,
    )
    return got.total, got.rows, _chunk_rows(got.chunks)


def _chunk_rows(chunks: Iterable[Chunk]) -> list[Any]:
    """The rows of `chunks` as `_rows` gives them."""
    rows = []
    for chunk in chunks:
        values = np.column_stack([chunk.column(n) for n in NAMES])
        rows += zip(
            map(tuple, values.tolist()),
            chunk.labels.tolist(),
            chunk.confidences.tolist(),
            chunk.routes.tolist(),
            strict=True,
        )
    return sorted(rows)


def test_chunks_read_the_rows_the_whole_read_does(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sql_drift, "CHUNK_ROWS", 7)
    ps = [_p(i, minutes=i) for i in range(60)]
    _log(store, [ps[:25], ps[25:26], ps[26:]])
    store.add_predictions([LogEntry(_p(100, model="other"))])
    assert _chunked(store) == (60, 60, _rows(store))
    window = {"since": NOW + timedelta(minutes=10), "until": NOW + timedelta(minutes=40)}
    total, rows, got = _chunked(store, **window)
    assert (total, rows) == (30, 30) and got == _rows(store, **window)
    chunks = list(store.logged_feature_chunks(PredictionFilter(model="m"), NAMES).chunks)
    # Whole blocks, until a chunk holds 7 rows or more.
    assert sum(c.rows for c in chunks) == 60
    assert all(c.rows >= 7 and c.rows - c.blocks[-1].rows < 7 for c in chunks[:-1])


def _warming() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith("warm-blocks-")]


def test_a_scan_reads_one_snapshot_while_other_connections_read_ahead(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On a SQLite file read from disk, readers on their own connections read the
    blocks ahead of the scan only to have the OS cache them: the scan itself reads one
    snapshot, so blocks compacted halfway are neither missed nor counted twice, and the
    readers end with the scan, also one left half read."""
    monkeypatch.setattr(sql_drift, "CHUNK_ROWS", 10)
    # This little file is in the page cache: judge every block as if read from disk.
    monkeypatch.setattr(sql_drift, "JUDGED_BYTES", 0)
    monkeypatch.setattr(sql_drift, "COLD_MB_S", float("inf"))
    _log(store, [[_p(10 * b + i, minutes=b) for i in range(10)] for b in range(30)])
    before = _rows(store)
    sqlite = store.engine.dialect.name == "sqlite"  # type: ignore[attr-defined]
    window = PredictionFilter(model="m", limit=10**9)

    chunks = iter(store.logged_feature_chunks(window, NAMES).chunks)
    first = next(chunks)
    assert len(_warming()) == (sql_drift.WARM_READERS if sqlite else 0)
    assert sql_drift.compact(store.engine, target=64).merged_blocks == 30  # type: ignore[attr-defined]
    assert _chunk_rows([first, *chunks]) == before == _rows(store)
    assert not _warming()

    half = store.logged_feature_chunks(window, NAMES).chunks
    next(half)
    half.close()  # type: ignore[attr-defined]
    assert not _warming()


def test_chunks_under_a_limit_are_the_newest_rows(store: Store) -> None:
    ps = [_p(i, minutes=(i * 37) % 50) for i in range(50)]  # times out of order
    _log(store, [ps[:20], ps[20:]])
    total, rows, got = _chunked(store, limit=12)
    assert (total, rows, got) == (50, 12, _rows(store, limit=12))
    assert _chunked(store, limit=0)[:2] == (50, 0)


def test_chunks_under_a_limit_take_the_right_number_of_tied_rows(store: Store) -> None:
    at = NOW + timedelta(minutes=5)
    ps = [replace(_p(i), created_at=at if i >= 10 else NOW) for i in range(30)]
    _log(store, [ps[:15], ps[15:]])
    total, rows, got = _chunked(store, limit=25)
    assert (total, rows, len(got)) == (30, 25, 25)
    assert sum(1 for r in got if r[0][0] < 10) == 5  # all 20 tied newest, 5 of the rest
