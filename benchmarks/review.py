"""What the review queue costs as it grows: p95 of each reviewer request at 100,000,
1,000,000 and 10,000,000 pending items.

One store (a temporary SQLite file, or --url for an empty PostgreSQL database) is
seeded up to each size in turn, and at each size these are timed, --requests times
each, in process through Starlette's TestClient (the whole FastAPI stack, routing, auth
and templates, without a socket):

- GET /v1/reviews: the first page; a page at a deep cursor (half-way down the queue,
  reached by one cursor taken there, not by paging); the first page filtered by model
  and reason; filtered by model and predicted label sorted by priority;
- GET /review: the review page, which claims the reviewer's batch of 5 on each load;
- POST /v1/reviews/claim {"count": 1, "model": ...}: a claim, by a new reviewer each time;
- POST /v1/reviews/{id}/decision: deciding a claimed item.

Each request must answer 200, or the run stops with the response. Seeding is not timed,
so it takes a bulk path (see `Seeder`): the rows the store's batch writer would send,
built from per-model templates, --batch a transaction, with the two tables' secondary
indexes dropped meanwhile and built again after. Through `add_predictions` 10,000,000
items took 87 minutes on SQLite: building each row from objects, and inserts that slow
as the indexes outgrow the cache (the confidence-ordered one takes each row at a random
place). After seeding, `check_store` compares the store with what the product writes,
and the run stops on any difference.

Run: python benchmarks/review.py [--sizes 100000,1000000,10000000] [--url URL | --db FILE]
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import numpy.typing as npt
import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlalchemy.engine import Connection, Engine

from tandem.app import create_app
from tandem.auth.keys import create_key
from tandem.domain import Prediction, ReviewItem
from tandem.review.queue import encode_cursor
from tandem.settings import Settings
from tandem.store import Store, open_store
from tandem.store import tables as t
from tandem.store.feature_blocks import Block, encode, microseconds
from tandem.store.prediction_log import LogEntry, PredictionFilter
from tandem.store.review_counts import Bucket, adjust_many
from tandem.store.sql_batch import compiled_blocks, compiled_inserts, filled

MODELS = {
    "digits": [str(d) for d in range(10)],
    "ml-editor": ["good", "poor"],
    "churn": ["stays", "leaves"],
}
REASONS = {  # share of the queue
    "low_confidence": 0.80,
    "holdout": 0.10,
    "unusual_input": 0.04,
    "fallback": 0.03,
    "second_opinion": 0.02,
    "adjudication": 0.01,
}
START = datetime(2026, 1, 1, tzinfo=UTC)


SEED = 7


def _hash(x: npt.NDArray[np.uint64]) -> npt.NDArray[np.uint64]:
    """splitmix64's finaliser: well-mixed 64 bits from each counter (uint64 wraps)."""
    x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return x ^ (x >> np.uint64(31))


def draws(first: int, count: int) -> tuple[list[str], list[str], list[float], list[str]]:
    """Items `first`.. as lists of models, predicted labels, confidences and reasons:
    each item's a function of its index alone, so any seeded item can be built again
    to be checked."""
    index = np.arange(first, first + count, dtype=np.uint64)
    u = [
        (_hash(index * np.uint64(4) + np.uint64(k + (SEED << 40))) >> np.uint64(11)) * 2.0**-53
        for k in range(4)
    ]
    models = list(MODELS)
    model = np.where(u[0] < 0.6, 0, np.minimum(1 + ((u[0] - 0.6) / 0.2).astype(np.int64), 2))
    sizes = np.array([len(MODELS[m]) for m in models])
    label = (u[1] * sizes[model]).astype(np.int64)
    cumulative = np.cumsum(list(REASONS.values()))
    reason = np.minimum(np.searchsorted(cumulative, u[3], side="right"), len(REASONS) - 1)
    reasons = list(REASONS)
    model_names = [models[m] for m in model.tolist()]
    return (
        model_names,
        [MODELS[m][lab] for m, lab in zip(model_names, label.tolist(), strict=True)],
        np.round(u[2], 6).tolist(),
        [reasons[r] for r in reason.tolist()],
    )


def at(i: int) -> datetime:
    return START + timedelta(seconds=i)


def entries(first: int, count: int) -> list[LogEntry]:
    """Predictions `first`.. each with a pending review item, one a second apart, as
    the product logs them."""
    out = []
    for i, (model, label, confidence, reason) in enumerate(
        zip(*draws(first, count), strict=True), first
    ):
        pid = f"p{i:031d}"
        offered = [{"label": lab, "probability": 0.0} for lab in MODELS[model]]
        prediction = Prediction(
            pid, at(i), model, "v1", {}, {}, label, confidence, offered, [], [], "review", 1.0
        )
        review = ReviewItem(f"r{i:031d}", pid, "pending", at(i), reason)
        out.append(LogEntry(prediction, review))
    return out


class Seeder:
    """Writes `entries(first, count)` as the store's batch writer writes them, faster.

    The writer builds each row from its objects, with a JSON encoding and a dataclass
    copy each (~70 us an item). Here rows are built a column at a time: a column that
    differs between items (ids, times, label, confidence, reason) from the draws, put
    through the column's own bind processor; any other column is the value the writer
    gives it for that model's items (its row for one of them, once). The queue's counts
    and the feature blocks are kept by the store's own functions. Drivers other than
    sqlite3 and psycopg go through `add_predictions`."""

    VARYING = {
        "prediction": ("id", "created_at", "label", "confidence"),
        "review": ("id", "prediction_id", "created_at", "reason", "predicted_label", "confidence"),
    }

    def __init__(self, store: Store) -> None:
        self.store = store
        self.engine: Engine = store.engine
        self.inserts = dict(compiled_inserts(self.engine.dialect))
        self.fast = all(
            self.inserts[part].insert_sql or self.inserts[part].copy_sql for part in self.VARYING
        )
        rows = {}  # the writer's rows for one item of each model
        for model in MODELS:
            i = next(n for n in range(1000) if draws(n, 1)[0][0] == model)
            entry = filled(entries(i, 1)[0])
            rows[model] = {
                part: self.inserts[part].row(getattr(entry, part)) for part in self.VARYING
            }
        self.fixed: dict[str, list[dict[str, Any] | None]] = {
            part: [
                None if name in self.VARYING[part] else {m: rows[m][part][j] for m in MODELS}
                for j, name in enumerate(self.inserts[part].names)
            ]
            for part in self.VARYING
        }

    def seed(self, first: int, count: int, batch: int) -> None:
        if not self.fast:
            for start in range(first, first + count, batch):
                self.store.add_predictions(entries(start, min(batch, first + count - start)))
            return
        conn = self.engine.connect()
        conn.detach()  # its settings below end with it, never reaching the pool
        try:
            if self.engine.dialect.name == "sqlite":
                # Nothing here needs to survive a crash: the run starts afresh anyway.
                conn.exec_driver_sql("PRAGMA synchronous=OFF")
                conn.exec_driver_sql("PRAGMA cache_size=-262144")  # 256 MB
                conn.commit()
            with secondary_indexes(conn):
                for start in range(first, first + count, batch):
                    with conn.begin():
                        self._write(conn, start, min(batch, first + count - start))
            if self.engine.dialect.name == "sqlite":  # the log back to empty: ~GBs at 10M
                conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
                conn.commit()
        finally:
            conn.close()

    def _write(self, conn: Connection, first: int, count: int) -> None:
        models, labels, confidences, reasons = draws(first, count)
        numbers = range(first, first + count)
        pids = [f"p{i:031d}" for i in numbers]
        times = [at(i) for i in numbers]
        varying: dict[str, dict[str, list[Any]]] = {
            "prediction": {
                "id": pids,
                "created_at": times,
                "label": labels,
                "confidence": confidences,
            },
            "review": {
                "id": [f"r{i:031d}" for i in numbers],
                "prediction_id": pids,
                "created_at": times,
                "reason": reasons,
                "predicted_label": labels,
                "confidence": confidences,
            },
        }
        for part, insert in self.inserts.items():
            if part not in varying:
                continue
            columns: list[list[Any]] = []
            for name, proc, fixed in zip(
                insert.names, insert.processors, self.fixed[part], strict=True
            ):
                if fixed is None:
                    values = varying[part][name]
                    columns.append(values if proc is None else list(map(proc, values)))
                elif len({repr(v) for v in fixed.values()}) == 1:
                    columns.append([fixed[models[0]]] * count)
                else:
                    columns.append([fixed[m] for m in models])
            insert.write_rows(conn, list(zip(*columns, strict=True)))
        counts = Counter(zip(models, reasons, labels, strict=True))
        adjust_many(conn, [(key, counts[key], 0) for key in sorted(counts)])
        by_model = np.array(models, dtype=object)
        micros = microseconds(at(first)) + np.arange(count, dtype=np.int64) * 1_000_000
        blocks = []
        for model in MODELS:
            rows = np.flatnonzero(by_model == model)
            if len(rows):
                blocks.append(
                    Block(
                        model,
                        "v1",
                        (),
                        micros[rows],
                        np.empty((len(rows), 0)),
                        np.array(confidences)[rows],
                        np.array(labels, dtype=object)[rows],
                        np.full(len(rows), "review", dtype=object),
                    )
                )
        compiled_blocks(conn.dialect).write(conn, [encode(b) for b in blocks])


INDEXED = (t.predictions, t.review_items)


def index_definitions(conn: Connection) -> dict[str, str]:
    """The CREATE INDEX statement of each secondary index on the seeded tables, as the
    database itself holds it (so building one again gives the same index)."""
    names = sorted(str(ix.name) for table in INDEXED for ix in table.indexes)
    if conn.dialect.name == "sqlite":
        query = "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND name IN ({})"
        marks = ", ".join("?" * len(names))
    else:
        query = "SELECT indexname, indexdef FROM pg_indexes WHERE indexname IN ({})"
        marks = ", ".join(["%s"] * len(names))
    found: dict[str, str] = dict(conn.exec_driver_sql(query.format(marks), tuple(names)).all())
    if sorted(found) != names:
        sys.exit(f"FAILED: the store's indexes {sorted(found)} are not the schema's {names}")
    return found


@contextmanager
def secondary_indexes(conn: Connection) -> Iterator[None]:
    """Drop the seeded tables' secondary indexes, and build them again afterwards: one
    sort per index instead of an insert at a random page per row."""
    definitions = index_definitions(conn)
    conn.commit()
    with conn.begin():
        for name in definitions:
            conn.exec_driver_sql(f"DROP INDEX {name}")
    yield
    for definition in definitions.values():
        with conn.begin():  # one at a time: SQLite's log then holds one index's pages
            conn.exec_driver_sql(definition)
    if index_definitions(conn) != definitions:
        sys.exit("FAILED: the indexes built again differ from the store's")
    conn.commit()


def check_store(
    store: Store, reference: Store, first: int, seeded: int, rng: random.Random
) -> None:
    """Stop the run unless the seeded store is what the product would have written: the
    queue's counts match its items, every prediction is in a feature block, and an item
    of each model seeded in this round (so untouched by the requests) reads back as the
    same item written through `add_predictions` reads from `reference`, row for row
    when both are SQLite."""
    problems = []
    with store.engine.connect() as conn:
        r = t.review_items
        query = sa.select(r.c.model, r.c.reason, r.c.predicted_label, r.c.status, sa.func.count())
        rows = conn.execute(query.group_by(r.c.model, r.c.reason, r.c.predicted_label, r.c.status))
        items: Counter[tuple[Bucket, str]] = Counter()
        for model, reason, label, status, n in rows:
            items[((model, reason, label), status)] = n
        blocked = conn.execute(sa.select(sa.func.sum(t.feature_blocks.c.row_count))).scalar() or 0
        index_definitions(conn)
    counts = store.queue_counts()
    for key in {k for k, _ in items} | set(counts):
        pending, decided = counts.get(key, (0, 0))
        if (pending, decided) != (items[(key, "pending")], items[(key, "decided")]):
            problems.append(
                f"{key}: counts {pending, decided}, items "
                f"{items[(key, 'pending')], items[(key, 'decided')]}"
            )
    if (n := store.count_predictions()) != seeded or blocked != seeded:
        problems.append(f"{seeded:,} seeded, {n:,} predictions, {blocked:,} in feature blocks")
    for i in _samples(first, seeded, rng):
        pid, rid = f"p{i:031d}", f"r{i:031d}"
        if not reference.list_predictions(PredictionFilter(since=at(i), until=at(i + 1))):
            reference.add_predictions(entries(i, 1))
        if store.get_prediction(pid) != reference.get_prediction(pid):
            problems.append(f"prediction {pid} differs from one written by the store")
        if store.get_review(rid) != reference.get_review(rid):
            problems.append(f"review item {rid} differs from one written by the store")
        if store.engine.dialect.name == "sqlite":
            for table, row_id in (("predictions", pid), ("review_items", rid)):
                raw = [_raw_row(s, table, row_id) for s in (store, reference)]
                if raw[0] != raw[1]:
                    problems.append(f"{table} row {row_id}: {raw[0]}, the store writes {raw[1]}")
    if problems:
        sys.exit("FAILED: the seeded store is not what the product writes:\n" + "\n".join(problems))


def _samples(first: int, end: int, rng: random.Random) -> list[int]:
    """A random item of each model among `first`..`end` (fewer if none is found)."""
    found: dict[str, int] = {}
    for _ in range(1000):
        i = rng.randrange(first, end)
        found.setdefault(draws(i, 1)[0][0], i)
        if len(found) == len(MODELS):
            break
    return sorted(found.values())


def _raw_row(store: Store, table: str, key: str) -> list[Any]:
    """A row as SQLite holds it (text, numbers), before any column type reads it."""
    with store.engine.connect() as conn:
        return list(conn.exec_driver_sql(f"SELECT * FROM {table} WHERE id = ?", (key,)).all())


def p95(times: list[float]) -> float:
    return statistics.quantiles(times, n=20)[-1] * 1000 if len(times) > 1 else times[0] * 1000


def timed(requests: int, call: Callable[[int], httpx.Response]) -> tuple[float, float]:
    """(median, p95) in ms of `requests` calls; any answer but 200 stops the run."""
    times = []
    for i in range(requests):
        started = time.perf_counter()
        response = call(i)
        times.append(time.perf_counter() - started)
        if response.status_code != 200:
            sys.exit(
                f"FAILED: {response.request.method} {response.request.url} answered "
                f"{response.status_code}: {response.text[:500]}"
            )
    return statistics.median(times) * 1000, p95(times)


def measure(client: TestClient, size: int, requests: int, keys: list[str]) -> dict[str, Any]:
    """Every figure at the current queue size."""
    answer = client.get("/v1/reviews", params={"status": "pending", "limit": 1})
    if answer.status_code != 200:
        sys.exit(f"FAILED: GET /v1/reviews answered {answer.status_code}: {answer.text[:500]}")
    first = answer.json()
    if first["total"] < size * 0.9:
        sys.exit(f"FAILED: the queue holds {first['total']:,} pending, expected ~{size:,}")
    # A cursor half-way down the oldest-first queue: the item with index size // 2.
    at = START + timedelta(seconds=size // 2)
    middle = ReviewItem(f"r{size // 2:031d}", "", "pending", at, "low_confidence")
    deep = encode_cursor("oldest", middle)
    rows: dict[str, tuple[float, float]] = {}
    rows["list: first page"] = timed(
        requests, lambda i: client.get("/v1/reviews", params={"status": "pending"})
    )
    rows["list: deep cursor (half-way)"] = timed(
        requests, lambda i: client.get("/v1/reviews", params={"status": "pending", "cursor": deep})
    )
    rows["list: model+reason filter"] = timed(
        requests,
        lambda i: client.get(
            "/v1/reviews", params={"status": "pending", "model": "digits", "reason": "holdout"}
        ),
    )
    rows["list: model+label, priority"] = timed(
        requests,
        lambda i: client.get(
            "/v1/reviews",
            params={"status": "pending", "model": "digits", "label": "7", "sort": "priority"},
        ),
    )
    rows["/review page (claims 5)"] = timed(
        requests, lambda i: client.get("/review", headers=_bearer(keys[i % len(keys)]))
    )
    claimed: list[tuple[str, str, str]] = []

    def claim(i: int) -> httpx.Response:
        key = keys[i % len(keys)]
        response = client.post(
            "/v1/reviews/claim", json={"count": 1, "model": "digits"}, headers=_bearer(key)
        )
        items = response.json().get("items", [])
        claimed.extend((key, item["id"], item["predicted_label"]) for item in items)
        return response

    rows["claim 1 (model filter)"] = timed(requests, claim)
    rows["decision"] = timed(
        min(requests, len(claimed)),
        lambda i: client.post(
            f"/v1/reviews/{claimed[i][1]}/decision",
            json={"label": claimed[i][2]},
            headers=_bearer(claimed[i][0]),
        ),
    )
    return rows


def _bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def seed_and_check(
    store: Store,
    reference: Store,
    seeder: Seeder,
    seeded: int,
    size: int,
    batch: int,
    rng: random.Random,
) -> None:
    """Seed items `seeded`..`size` and check the store they leave."""
    started = time.perf_counter()
    seeder.seed(seeded, size - seeded, batch)
    took = time.perf_counter() - started
    check_store(store, reference, seeded, size, rng)
    print(
        f"seeded {size:,} pending ({size - seeded:,} more) in {took:.1f} s "
        f"({(size - seeded) / took:,.0f} items/s, {store.engine.dialect.name}); "
        f"store checked in {time.perf_counter() - started - took:.1f} s",
        flush=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="100000,1000000,10000000")
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--batch", type=int, default=50_000, help="items a transaction")
    parser.add_argument("--url", help="SQLAlchemy URL of an empty store (default: temp SQLite)")
    parser.add_argument(
        "--db",
        type=Path,
        help="SQLite file to seed and keep; run again with it to measure without seeding anew "
        "(sizes it already holds more than are left out)",
    )
    args = parser.parse_args()
    sizes = sorted(int(s) for s in args.sizes.split(","))
    rng = random.Random(SEED)
    with tempfile.TemporaryDirectory() as tmp:
        url = args.url or f"sqlite:///{args.db or Path(tmp) / 'bench.db'}"
        # The server's background jobs (alert checks, block compaction) are off: they would
        # wait on the seeding's long transactions, and what is measured is the request path.
        settings = Settings(
            home=Path(tmp) / "home", database_url=url, alert_interval_s=0, compact_interval_s=0
        )
        store = open_store(url)
        seeded = store.count_predictions()
        if seeded:
            print(f"reusing {seeded:,} seeded items in {url}", flush=True)
            sizes = [size for size in sizes if size >= seeded]
        reference = open_store(f"sqlite:///{tmp}/reference.db")
        seeder = Seeder(store)
        keys = [create_key(store, "reviewer", f"bench-{n}")[1] for n in range(args.requests)]
        app = create_app(settings, families={})
        results: dict[int, dict[str, tuple[float, float]]] = {}
        with TestClient(app, headers=_bearer(keys[0])) as client:
            for size in sizes:
                if size > seeded:
                    seed_and_check(store, reference, seeder, seeded, size, args.batch, rng)
                seeded = size
                results[size] = measure(client, size, args.requests, keys)
                for name, (median, high) in results[size].items():
                    print(f"  {name:<30} median {median:6.1f} ms   p95 {high:6.1f} ms", flush=True)
        reference.close()
        store.close()
    print()
    print("| request | " + " | ".join(f"{s:,} pending" for s in sizes) + " |")
    print("|---|" + "---|" * len(sizes))
    for name in results[sizes[0]]:
        cells = " | ".join(f"{results[s][name][1]:.1f}" for s in sizes)
        print(f"| {name} (p95 ms) | {cells} |")


if __name__ == "__main__":
    main()
