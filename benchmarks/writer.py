"""What the prediction log's writer costs a batch, on its own: the CPU of the writer's
process and of the database's, per entry, for batches of several sizes.

The group-commit writer (`tandem/store/sql_batch.py`: `SqlBatchLog`) is timed writing
`--batches` batches in a loop, no server and no load client, so the figures are the
writer's alone. Entries are shaped as the ML Editor logs them: a real question as the
input, its ~30 features, a ten-item explanation, suggestions, an intake row each and a
review item for one in four.

On PostgreSQL (a throwaway cluster from scripts/postgres.sh, fsync on, as in load.py)
each batch size is written twice, each time into a fresh database: as one statement
(`batch_statement`, what Tandem does) and, as the baseline of the same run, as one
INSERT per table in a transaction (what it does on SQLite). The backend's CPU is read
from /proc for the writer's own connection. On SQLite there is only the one way.

Run: .venv/bin/python benchmarks/writer.py --batches 600
"""

from __future__ import annotations

import argparse
import contextlib
import itertools
import json
import os
import platform
import random
import sys
import time
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import harness
import sqlalchemy as sa
from loadgen import tree_cpu_s

from tandem.domain import Intake, Prediction, ReviewItem
from tandem.ids import new_id
from tandem.store import open_store
from tandem.store.prediction_log import LogEntry
from tandem.store.sql_batch import SqlBatchLog

BACKENDS = ("sqlite", "postgresql")
WARMUP_BATCHES = 30  # before the clock starts: prepared statements, caches, first pages


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--batches", type=int, default=600, help="measured batches per run")
    parser.add_argument("--sizes", type=int, nargs="+", default=[1, 4, 8], help="entries per batch")
    parser.add_argument("--backends", default=",".join(BACKENDS), help="comma-separated")
    parser.add_argument("--data", type=Path, default=harness.default_data_dir())
    parser.add_argument("--questions", type=int, default=400, help="distinct real questions")
    parser.add_argument(
        "--postgresql-url",
        help="a PostgreSQL server to use (a database is created on it for each run, then "
        "dropped); default: a throwaway cluster with fsync on",
    )
    args = parser.parse_args(argv)
    args.backends = [b.strip() for b in args.backends.split(",") if b.strip()]
    if not args.backends or not set(args.backends) <= set(BACKENDS):
        parser.error(f"--backends takes a comma-separated subset of {', '.join(BACKENDS)}")
    if args.batches < 1 or not all(1 <= s <= 256 for s in args.sizes):
        parser.error("need --batches >= 1 and sizes from 1 to 256")
    return args


def inputs(data_dir: Path, count: int) -> list[dict[str, Any]]:
    """Real questions as the ML Editor's inputs (the bodies the serving benchmarks send)."""
    return [json.loads(body)["input"] for body in harness.load_bodies(data_dir, count)]


def entries(questions: list[dict[str, Any]], seed: int = 7) -> Iterator[LogEntry]:
    """Endless log entries shaped like the ML Editor's, each with fresh ids."""
    rng = random.Random(seed)
    names = [f"feature_{i}" for i in range(30)]
    for question in itertools.cycle(questions):
        pid, at = new_id(), datetime.now(UTC)
        features = {name: round(rng.random() * 10, 4) for name in names}
        confidence = rng.random()
        prediction = Prediction(
            id=pid,
            created_at=at,
            model="ml-editor",
            model_version="v1",
            input=question,
            features=features,
            label="good" if confidence > 0.5 else "needs_work",
            confidence=confidence,
            alternatives=[
                {"label": "good", "probability": confidence},
                {"label": "needs_work", "probability": 1 - confidence},
            ],
            explanation=[
                {"feature": n, "value": features[n], "contribution": rng.random() - 0.5}
                for n in names[:10]
            ],
            suggestions=[
                {"id": f"s{i}", "feature": names[i], "text": "Say what you tried.", "value": 1.0}
                for i in range(3)
            ],
            route="review" if rng.random() < 0.25 else "model",
            latency_ms=1.5,
        )
        review = None
        if prediction.route == "review":
            review = ReviewItem(new_id(), pid, "pending", at, "low_confidence")
        yield LogEntry(prediction, review, Intake(new_id(), at, "ml-editor", "answered", 200, pid))


@dataclass
class Timing:
    backend: str
    method: str
    size: int
    batches: int
    client_s: float
    server_s: float | None
    wall_s: float

    def per_entry_us(self, seconds: float | None) -> float | None:
        return None if seconds is None else seconds / (self.batches * self.size) * 1e6

    def summary(self) -> dict[str, Any]:
        return {
            "backend": self.backend,
            "method": self.method,
            "entries_per_batch": self.size,
            "batches": self.batches,
            "client_us_per_entry": round(self.per_entry_us(self.client_s) or 0, 1),
            "database_us_per_entry": None
            if self.server_s is None
            else round(self.per_entry_us(self.server_s) or 0, 1),
            "wall_ms_per_batch": round(self.wall_s / self.batches * 1000, 3),
        }


def time_writes(
    url: str, backend: str, method: str, size: int, batches: int, source: Iterator[LogEntry]
) -> Timing:
    """Write WARMUP_BATCHES, then `batches` of `size` entries through a SqlBatchLog."""
    store = open_store(url)
    log = SqlBatchLog(store.engine, one_statement=method == "one statement")  # type: ignore[attr-defined]
    try:
        work = [[next(source) for _ in range(size)] for _ in range(WARMUP_BATCHES + batches)]
        for batch in work[:WARMUP_BATCHES]:
            log.write(batch)
        backend_pid = None
        if backend == "postgresql":
            raw: Any = log._connection().connection.dbapi_connection
            backend_pid = int(raw.info.backend_pid)
        server0 = tree_cpu_s(backend_pid) if backend_pid else None
        client0, wall0 = time.process_time(), time.perf_counter()
        for batch in work[WARMUP_BATCHES:]:
            log.write(batch)
        wall = time.perf_counter() - wall0
        client = time.process_time() - client0
        server = tree_cpu_s(backend_pid) - server0 if backend_pid and server0 is not None else None
        return Timing(backend, method, size, batches, client, server, wall)
    finally:
        log.close()
        store.close()


@contextlib.contextmanager
def new_database(admin_url: str) -> Iterator[str]:
    """A fresh database on the server of `admin_url`, dropped afterwards; its URL."""
    import psycopg

    name = f"tandem_writer_{uuid.uuid4().hex[:12]}"
    plain = admin_url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(plain, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    try:
        yield str(sa.engine.make_url(admin_url).set(database=name).render_as_string(False))
    finally:
        with psycopg.connect(plain, autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:.0f}"


def report(timings: list[Timing]) -> None:
    print(
        f"{'':<12}{'batch':>6}  {'method':<26}{'client µs':>10}{'db µs':>8}"
        f"{'ms/batch':>10}{'CPU vs baseline':>17}"
    )
    by_key = {(t.backend, t.size, t.method): t for t in timings}
    for t in timings:
        base = by_key.get((t.backend, t.size, "one INSERT per table"))
        ratio = "-"
        if base is not None and base is not t and t.server_s is not None and base.server_s:
            ratio = f"{(t.client_s + t.server_s) / (base.client_s + base.server_s):.2f}x"
        print(
            f"{t.backend:<12}{t.size:>6}  {t.method:<26}{fmt(t.per_entry_us(t.client_s)):>10}"
            f"{fmt(t.per_entry_us(t.server_s)):>8}{t.wall_s / t.batches * 1000:>10.2f}"
            f"{ratio:>17}"
        )
    print()
    print(
        "client µs / db µs: CPU per entry of the writer's process and of the database's "
        "backend; CPU vs baseline: both together, over one INSERT per table in the same run."
    )


def benchmark(args: argparse.Namespace, root: Path) -> int:
    source = entries(inputs(args.data.resolve(), args.questions))
    timings: list[Timing] = []
    for backend in args.backends:
        cluster = None
        if backend == "postgresql" and not args.postgresql_url:
            cluster = harness.Postgres(root)
        server_url = None
        if backend == "postgresql":
            server_url = args.postgresql_url or (cluster.url if cluster else None)
        try:
            methods = ["one INSERT per table"]
            if server_url is not None:
                methods.insert(0, "one statement")
            for n, (size, method) in enumerate(itertools.product(args.sizes, methods)):
                with contextlib.ExitStack() as stack:
                    if server_url is not None:
                        url = stack.enter_context(new_database(server_url))
                    else:
                        url = f"sqlite:///{root / f'writer-{n}.db'}"
                    timing = time_writes(url, backend, method, size, args.batches, source)
                timings.append(timing)
                print(f"[{backend}] batches of {size}, {method}: done", flush=True)
        finally:
            if cluster is not None:
                cluster.stop()
    print()
    print(
        f"{args.batches} batches per run after {WARMUP_BATCHES} unmeasured; {os.cpu_count()} "
        f"CPUs; Python {platform.python_version()}; PostgreSQL fsync=on"
    )
    report(timings)
    path = harness.save_json(
        "writer",
        {
            "timestamp": datetime.now().astimezone().isoformat(timespec="seconds"),
            "commit": harness.git_commit(),
            "config": {"batches": args.batches, "sizes": args.sizes, "backends": args.backends},
            "runs": [t.summary() for t in timings],
        },
    )
    print(f"results: {path.relative_to(harness.REPO)}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    # PostgreSQL's own user must reach its data folder below the run's folder.
    return harness.run_benchmark(parse_args(argv), benchmark, prefix="tandem-writer-", mode=0o755)


if __name__ == "__main__":
    sys.exit(main())
