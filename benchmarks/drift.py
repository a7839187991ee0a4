"""What Tandem's drift statistics cost next to the obvious numpy/scipy code and Evidently.

One run, nothing hard-coded:

1. generates a seeded reference (default 100,000 x 20) and live sample (1,000,000 x 20):
   a mix of normal, lognormal, uniform, exponential and Poisson (tied) columns; some live
   columns shifted by 0.02-0.5 sd, one scaled x1000 (a unit change), one with a wider
   spread, the rest unchanged;
2. times `tandem.monitor.drift_report` (best of --repeat, with its thread pool and with one
   thread), the plain version (numpy PSI on the same reference-quantile bins, each value
   searched into the edges, + `scipy.stats.ks_2samp`; ~2.6 s), and Evidently's
   `DataDriftPreset(method="psi")` and `(method="ks")` once each (~25 s each);
3. every run happens in a forked child, so "peak MB" is the child's peak RSS above what it
   inherited: the memory the computation needs beyond the input arrays (and, for
   Evidently, beyond the pandas frames, which are built before forking);
4. checks the numbers agree: Tandem's PSI with the plain numpy PSI on the same bins,
   Tandem's KS statistic and p-value with scipy's and its p-value with Evidently's (which
   calls ks_2samp). Evidently's PSI is not on Tandem's bins (equal-width Sturges bins over
   both samples, or one bin per value when the reference has <= 20 distinct values), so
   it is compared with a numpy reproduction of that binning instead.

5. with --end-to-end, also logs the live rows as predictions in a store (a temporary
   SQLite file, or --store-url) through its own batch write, --batch a transaction as
   the group-commit writer does under load (each leaves one feature block), with the
   reference as a version's drift reference, and times `drift_for`, which reads the
   window's features from the store and compares them: the whole of what
   `GET /v1/monitor/drift` does. Timed once over the blocks as written, then after one
   compaction pass (what the server runs every TANDEM_COMPACT_INTERVAL_S), best of
   --repeat. Seeding is not part of the timing. Its values must equal `drift_report`'s
   on the same arrays, before and after compaction.

6. a live matrix over 1 GB (e.g. --rows 10000000 --features 100: 8 GB) is never built:
   the run goes end to end only. Data is generated a chunk at a time (each column of each
   chunk its own seeded stream) and logged into --db (a SQLite file, seeded once and
   reused while its parameters match; seeding resumes where it stopped) through the
   store's batch write in --seed-workers processes, or with --seed-blocks as the feature
   blocks that write would store, without the predictions rows drift never reads. Then
   `drift_for` runs in a forked child against --max-seconds (60) and --max-memory-mb
   (2048, the child's whole peak RSS), and --check-features columns are regenerated
   whole and compared with `numeric_drift` on them (equal to 1e-12). The first run
   after the file left the OS page cache is the cold one (the time a server answers
   its first drift request after a restart); the repeats read it cached. The benchmark
   never empties the page cache itself (other processes would pay for it); to measure
   cold, empty it first (Linux, as root):
       sync; echo 1 > /proc/sys/vm/drop_caches

Exit status: 0 when every agreement check passes (and, at scale, both bounds hold), 1
when a value disagrees or a bound is broken.

Run: .venv/bin/python benchmarks/drift.py [--rows 1000000 --ref-rows 100000 --features 20]
     [--end-to-end [--store-url URL]]
     .venv/bin/python benchmarks/drift.py --rows 10000000 --features 100 --db /tmp/d10m.db
Evidently (benchmark only; 0.7.23 needs pandas<3):
    .venv/bin/pip install 'evidently==0.7.23' 'pandas<3'
"""

from __future__ import annotations

import argparse
import contextlib
import math
import multiprocessing as mp
import os
import resource
import sys
import time
import traceback
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
from scipy import stats

from tandem.monitor import DriftConfig, DriftReport, drift_report

if TYPE_CHECKING:
    from datetime import datetime

    from tandem.store.base import LogEntry

Columns = dict[str, np.ndarray]
Values = dict[str, float]
TARGET_S = 2.0
CONFIG = DriftConfig()


# ---------------------------------------------------------------- data


def _entry(i: int, start: datetime, names: list[str], row: list[float]) -> LogEntry:
    """Logged prediction `i` of the benchmark's model, one millisecond after the last."""
    from datetime import timedelta

    from tandem.domain import Prediction
    from tandem.store.base import LogEntry

    return LogEntry(
        Prediction(
            id=f"{i:032x}",
            created_at=start + timedelta(milliseconds=i),
            model="bench",
            model_version="v1",
            input={},
            features=dict(zip(names, row, strict=True)),
            label="a",
            confidence=0.5,
            alternatives=[],
            explanation=[],
            suggestions=[],
            route="model",
            latency_ms=1.0,
        )
    )


def make_data(
    ref_rows: int, rows: int, features: int, seed: int
) -> tuple[Columns, Columns, dict[str, str]]:
    """Seeded reference and live columns, and what was done to each live column."""
    rng = np.random.default_rng(seed)
    samplers: list[tuple[str, Callable[[int], np.ndarray]]] = [
        ("normal", lambda n: rng.normal(10.0, 2.0, n)),
        ("lognormal", lambda n: rng.lognormal(1.0, 0.5, n)),
        ("uniform", lambda n: rng.uniform(0.0, 100.0, n)),
        ("exponential", lambda n: rng.exponential(3.0, n)),
        ("poisson", lambda n: rng.poisson(4.0, n).astype(np.float64)),
    ]
    # Applied to the first live columns in turn (so to normal, lognormal, uniform, ...).
    changes: list[tuple[str, Callable[[np.ndarray], np.ndarray]]] = [
        ("shift 0.02 sd", lambda x: x + 0.02 * x.std()),
        ("shift 0.05 sd", lambda x: x + 0.05 * x.std()),
        ("shift 0.2 sd", lambda x: x + 0.2 * x.std()),
        ("spread x1.5", lambda x: x.mean() + 1.5 * (x - x.mean())),
        ("plus 1", lambda x: x + 1.0),
        ("unit x1000", lambda x: x * 1000.0),
    ]
    reference: Columns = {}
    live: Columns = {}
    what: dict[str, str] = {}
    for i in range(features):
        name = f"f{i:02d}"
        kind, sample = samplers[i % len(samplers)]
        reference[name] = sample(ref_rows)
        cur = sample(rows)
        change = "unchanged"
        if i < len(changes):
            change, apply = changes[i]
            cur = apply(cur)
        live[name] = cur
        what[name] = f"{kind}, {change}"
    return reference, live, what


# ---------------------------------------------------------------- the runs


@dataclass
class Run:
    label: str
    seconds: list[float] = field(default_factory=list)
    peak_mb: float | None = None
    values: dict[str, Values] = field(default_factory=dict)
    error: str | None = None

    @property
    def best(self) -> float:
        return min(self.seconds) if self.seconds else math.nan


def _rss_kb(key: str) -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    return 0


def in_child(fn: Callable[[], dict[str, Values]]) -> tuple[float, float, dict[str, Values]]:
    """Run fn in a forked child: its seconds, peak RSS (MB) above what it inherited, values.

    A fork starts with the parent's pages mapped and its high-water mark reset to them,
    so VmHWM - VmRSS at start is what fn itself needed. Linux only.
    """
    receive, send = mp.get_context("fork").Pipe(duplex=False)

    def child() -> None:
        try:
            start_kb = _rss_kb("VmRSS")
            t0 = time.perf_counter()
            values = fn()
            seconds = time.perf_counter() - t0
            send.send(("ok", seconds, (_rss_kb("VmHWM") - start_kb) / 1024, values))
        except BaseException:
            send.send(("error", traceback.format_exc()))

    process = mp.get_context("fork").Process(target=child)
    process.start()
    message = receive.recv()
    process.join()
    if message[0] != "ok":
        raise RuntimeError(message[1])
    _, seconds, peak_mb, values = message
    return seconds, peak_mb, values


def measure(run: Run, fn: Callable[[], dict[str, Values]], repeat: int) -> Run:
    for _ in range(repeat):
        try:
            seconds, peak_mb, values = in_child(fn)
        except RuntimeError as exc:
            run.error = str(exc).strip().splitlines()[-1]
            return run
        run.seconds.append(seconds)
        run.peak_mb = peak_mb if run.peak_mb is None else min(run.peak_mb, peak_mb)
        run.values = values
    return run


def tandem_values(report: DriftReport) -> dict[str, Values]:
    return {
        f.name: {
            "psi": f.psi,
            "ks": f.ks_statistic or 0.0,
            "p": f.ks_pvalue or 0.0,
            "drifted": float(f.drifted),
        }
        for f in report.features
    }


def plain(reference: Columns, live: Columns) -> dict[str, Values]:
    """The straightforward version: numpy PSI on the same bins + scipy.stats.ks_2samp."""
    out: dict[str, Values] = {}
    for name, ref in reference.items():
        cur = live[name]
        quantiles = np.linspace(0.0, 1.0, CONFIG.psi_bins + 1)[1:-1]
        edges = np.unique(np.quantile(ref, quantiles))
        # searchsorted(side="left") puts x in bin i when edges[i-1] < x <= edges[i].
        p = np.bincount(np.searchsorted(edges, ref), minlength=edges.size + 1) / ref.size
        q = np.bincount(np.searchsorted(edges, cur), minlength=edges.size + 1) / cur.size
        p = np.maximum(p, CONFIG.psi_epsilon)
        q = np.maximum(q, CONFIG.psi_epsilon)
        ks = stats.ks_2samp(ref, cur)
        out[name] = {
            "psi": float(np.sum((q - p) * np.log(q / p))),
            "ks": float(ks.statistic),
            "p": float(ks.pvalue),
        }
    return out


def evidently_runner(
    reference: Columns, live: Columns, method: str, threshold: float
) -> Callable[[], dict[str, Values]] | str:
    """A closure running Evidently's preset, or why Evidently cannot run."""
    try:
        import pandas as pd
        from evidently import DataDefinition, Dataset, Report
        from evidently.presets import DataDriftPreset
    except Exception as exc:  # any import failure means: no Evidently rows
        return f"{type(exc).__name__}: {exc}"
    ref_frame, live_frame = pd.DataFrame(reference), pd.DataFrame(live)
    definition = DataDefinition(numerical_columns=list(reference))

    def run() -> dict[str, Values]:
        current = Dataset.from_pandas(live_frame, data_definition=definition)
        ref = Dataset.from_pandas(ref_frame, data_definition=definition)
        report = Report([DataDriftPreset(method=method, threshold=threshold)])
        snapshot = report.run(current, ref)
        out: dict[str, Values] = {}
        for metric in snapshot.dict()["metrics"]:
            config = metric["config"]
            if config.get("type", "").endswith("ValueDrift"):
                out[config["column"]] = {method: float(metric["value"])}
        return out

    return run


def evidently_psi(ref: np.ndarray, cur: np.ndarray) -> float:
    """Evidently 0.7.23's PSI binning, reproduced (legacy/calculations/stattests/utils.py)."""
    if np.unique(ref).size > 20:
        edges = np.histogram_bin_edges(np.concatenate([ref, cur]), bins="sturges")
        p = np.histogram(ref, edges)[0] / ref.size
        q = np.histogram(cur, edges)[0] / cur.size
    else:
        keys = np.union1d(ref, cur)
        p = np.array([np.count_nonzero(ref == k) for k in keys]) / ref.size
        q = np.array([np.count_nonzero(cur == k) for k in keys]) / cur.size
    for share in (p, q):
        smallest = share[share != 0].min()
        share[share == 0] = smallest / 1e6 if smallest <= 1e-4 else 1e-4
    return float(np.sum((p - q) * np.log(p / q)))


# ---------------------------------------------------------------- end to end


@dataclass
class EndToEnd:
    seconds: list[float]  # drift_for after compaction (what a server that has run a while reads)
    read_s: float
    statistics_s: float
    rows: int
    values: dict[str, Values]
    batch: int
    seed_s: float
    blocks_before: int
    uncompacted_s: float  # drift_for over the blocks the write batches left
    uncompacted_read_s: float
    compact_s: float
    blocks_after: int


def end_to_end(
    reference: Columns, live: Columns, url: str | None, repeat: int, batch: int
) -> EndToEnd:
    """Log `live` as predictions of a registered version whose drift reference is
    `reference`, through the store's own batch write (as the group-commit writer does,
    `batch` predictions a transaction), then time `drift_for` over the window: once on
    the blocks the batches left, then, after one compaction pass, best of `repeat`."""
    import shutil
    import tempfile
    from datetime import UTC, datetime, timedelta

    from tandem.domain import ModelVersion
    from tandem.models.reference_sample import sample_reference
    from tandem.monitor.model_drift import drift_for
    from tandem.monitor.reference import save_reference
    from tandem.store import open_store

    folder = tempfile.mkdtemp(prefix="tandem-drift-bench-")
    store = open_store(url or f"sqlite:///{folder}/bench.db")
    names = list(reference)
    start = datetime(2026, 1, 1, tzinfo=UTC)
    store.add_model_version(ModelVersion("bench", "v1", start, "production", "0" * 64, "0" * 64))
    ref = np.column_stack([reference[n] for n in names])
    sample = sample_reference(
        names, ref, ["a", "b"], lambda m: np.full((len(m), 2), 0.5), max_rows=len(ref)
    )
    save_reference(store, "bench", "v1", sample)
    matrix = np.column_stack([live[n] for n in names])
    seeded = time.perf_counter()
    for first in range(0, len(matrix), batch):
        store.add_predictions(
            [
                _entry(i, start, names, row)
                for i, row in enumerate(matrix[first : first + batch].tolist(), first)
            ]
        )
    seed_s = time.perf_counter() - seeded
    blocks_before = -(-len(matrix) // batch)
    print(
        f"end to end: logged {len(matrix):,} predictions in {seed_s:.0f} s, "
        f"{batch} a transaction ({blocks_before:,} feature blocks)"
    )
    until = start + timedelta(days=1)
    began = time.perf_counter()
    before = drift_for(store, "bench", start, until, CONFIG, max_rows=len(matrix))
    uncompacted_s = time.perf_counter() - began
    began = time.perf_counter()
    compaction = store.compact_feature_blocks()
    compact_s = time.perf_counter() - began
    print(f"end to end: compaction {compact_s:.1f} s: {compaction.describe()}")
    blocks_after = blocks_before - compaction.merged_blocks + compaction.written_blocks
    seconds, result = [], None
    for _ in range(repeat):
        began = time.perf_counter()
        result = drift_for(store, "bench", start, until, CONFIG, max_rows=len(matrix))
        seconds.append(time.perf_counter() - began)
    store.close()
    shutil.rmtree(folder, ignore_errors=True)
    assert result is not None and result.features is not None
    assert before.features is not None and tandem_values(before.features) == tandem_values(
        result.features
    ), "compaction changed what drift reads"
    return EndToEnd(
        seconds,
        result.timings["read_s"],
        result.timings["statistics_s"],
        result.live_rows,
        tandem_values(result.features),
        batch,
        seed_s,
        blocks_before,
        uncompacted_s,
        before.timings["read_s"],
        compact_s,
        blocks_after,
    )


# ---------------------------------------------------------------- at scale

MAX_SECONDS = 60.0
MAX_PEAK_MB = 2048.0
STREAM_CHUNK = 65_536
IN_MEMORY_LIMIT = 1 << 30
"""A live matrix above this many bytes is not built in memory: the run goes end to end
only, with data generated and logged chunk by chunk."""


def stream_reference(ref_rows: int, features: int, seed: int) -> tuple[Columns, dict[str, str]]:
    """A seeded reference for the chunked data (each column its own stream), and the
    change each live column gets."""
    kinds = ["normal", "lognormal", "uniform", "exponential", "poisson"]
    changes = ["shift 0.02 sd", "shift 0.05 sd", "shift 0.2 sd", "spread x1.5", "plus 1"]
    changes.append("unit x1000")
    reference: Columns = {}
    what: dict[str, str] = {}
    for j in range(features):
        name = f"f{j:02d}"
        kind = kinds[j % len(kinds)]
        reference[name] = _sample(kind, np.random.default_rng([seed, j]), ref_rows)
        what[name] = f"{kind}, {changes[j] if j < len(changes) else 'unchanged'}"
    return reference, what


def _sample(kind: str, rng: np.random.Generator, n: int) -> np.ndarray:
    if kind == "normal":
        return rng.normal(10.0, 2.0, n)
    if kind == "lognormal":
        return rng.lognormal(1.0, 0.5, n)
    if kind == "uniform":
        return rng.uniform(0.0, 100.0, n)
    if kind == "exponential":
        return rng.exponential(3.0, n)
    return rng.poisson(4.0, n).astype(np.float64)


@dataclass(frozen=True)
class Stream:
    """The live data at scale: `rows` rows against `reference`, each column changed as
    `what` says, generated STREAM_CHUNK rows at a time from `seed`."""

    reference: Columns
    what: dict[str, str]
    rows: int
    seed: int

    @property
    def chunks(self) -> int:
        return -(-self.rows // STREAM_CHUNK)

    def column(self, name: str, chunk: int) -> np.ndarray:
        """Chunk `chunk` of one column: its own seeded stream, so any column can be
        regenerated alone (the check below does) and chunks in any order."""
        j = list(self.reference).index(name)
        kind, change = self.what[name].split(", ")
        n = min(STREAM_CHUNK, self.rows - chunk * STREAM_CHUNK)
        x = _sample(kind, np.random.default_rng([self.seed, j, chunk + 1]), n)
        ref = self.reference[name]
        if change.startswith("shift"):
            x = x + float(change.split()[1]) * float(ref.std())
        elif change == "spread x1.5":
            x = float(ref.mean()) + 1.5 * (x - float(ref.mean()))
        elif change == "plus 1":
            x = x + 1.0
        elif change == "unit x1000":
            x = x * 1000.0
        # Four decimals: the logged JSON of a row is half as long, so seeding writes half
        # the bytes (ties, which KS and PSI must handle anyway, stay rare).
        return np.round(x, 4)

    def chunk(self, chunk: int) -> np.ndarray:
        return np.column_stack([self.column(c, chunk) for c in self.reference])

    def full_column(self, name: str) -> np.ndarray:
        return np.concatenate([self.column(name, k) for k in range(self.chunks)])

    def batches(
        self, chunks: list[int], batch: int, label: str, every: int
    ) -> Iterator[tuple[int, int, np.ndarray]]:
        """The rows of `chunks`, `batch` at a time: (first row, end row, the rows);
        progress ("seeding `label`: ...") printed every `every` chunks."""
        began = time.perf_counter()
        for done, k in enumerate(chunks, 1):
            matrix = self.chunk(k)
            base = k * STREAM_CHUNK
            for first in range(0, len(matrix), batch):
                rows = matrix[first : first + batch]
                yield base + first, base + first + len(rows), rows
            if done % every == 0:
                spent = time.perf_counter() - began
                done_of = f"{done} of {len(chunks)} chunks"
                print(f"seeding {label}: {done_of} in {spent:.0f} s", flush=True)


def seed_store(
    url: str, stream: Stream, batch: int, workers: int = 1, direct: bool = False
) -> float:
    """Register the version, store the reference, log every live row through the
    store's batch write (`batch` a transaction, in `workers` processes), compact; the
    seconds it took. A batch already in the store (each is one transaction) is skipped,
    so an interrupted seeding resumes where it stopped."""
    from datetime import UTC, datetime

    from tandem.domain import ModelVersion
    from tandem.errors import Conflict
    from tandem.models.reference_sample import sample_reference
    from tandem.monitor.reference import save_reference
    from tandem.store import open_store

    began = time.perf_counter()
    store = open_store(url)
    reference = stream.reference
    names = list(reference)
    start = datetime(2026, 1, 1, tzinfo=UTC)
    with contextlib.suppress(Conflict):  # registered by an interrupted seeding
        store.add_model_version(
            ModelVersion("bench", "v1", start, "production", "0" * 64, "0" * 64)
        )
    ref = np.column_stack([reference[n] for n in names])
    sample = sample_reference(
        names, ref, ["a", "b"], lambda m: np.full((len(m), 2), 0.5), max_rows=len(ref)
    )
    save_reference(store, "bench", "v1", sample)
    store.close()
    chunks = list(range(stream.chunks))
    jobs = [(url, stream, batch, chunks[w::workers]) for w in range(workers)]
    seeder = _seed_blocks if direct else _seed_chunks
    if workers == 1:
        seeder(*jobs[0])
    else:
        with mp.get_context("fork").Pool(workers) as pool:
            pool.starmap(seeder, jobs)
    store = open_store(url)
    print(f"seeding: compaction: {store.compact_feature_blocks().describe()}", flush=True)
    store.close()
    return time.perf_counter() - began


def _seed_blocks(url: str, stream: Stream, batch: int, chunks: list[int]) -> None:
    """Write the chunks' feature blocks (one per `batch` rows, as the batch write stores
    them) straight into the store, without the predictions table's rows, which drift
    never reads: minutes where the batch write takes hours. Batches already present
    (from either way of seeding) are skipped."""
    from dataclasses import asdict
    from datetime import UTC, datetime

    import sqlalchemy as sa

    from tandem.store import open_store
    from tandem.store import tables as t
    from tandem.store.feature_blocks import Block, encode, microseconds

    store = open_store(url)
    engine = store.engine  # type: ignore[attr-defined]
    names = tuple(sorted(stream.reference))
    order = [list(stream.reference).index(n) for n in names]
    first_us = microseconds(datetime(2026, 1, 1, tzinfo=UTC))
    b = t.feature_blocks
    for lo, hi, rows in stream.batches(chunks, batch, "blocks", every=16):
        times = first_us + np.arange(lo, hi, dtype=np.int64) * 1000
        present = sa.select(sa.func.coalesce(sa.func.sum(b.c.row_count), 0)).where(
            b.c.model == "bench",
            b.c.first_at >= datetime.fromtimestamp(times[0] / 1e6, UTC),
            b.c.first_at <= datetime.fromtimestamp(times[-1] / 1e6, UTC),
        )
        with engine.begin() as conn:
            if conn.execute(present).scalar_one() >= hi - lo:
                continue
            n = hi - lo
            block = Block(
                "bench",
                "v1",
                names,
                times,
                np.ascontiguousarray(rows[:, order]),
                np.full(n, 0.5),
                np.full(n, "a", dtype=object),
                np.full(n, "model", dtype=object),
            )
            conn.execute(b.insert(), [asdict(encode(block))])
    store.close()


def _seed_chunks(url: str, stream: Stream, batch: int, chunks: list[int]) -> None:
    from datetime import UTC, datetime

    import sqlalchemy as sa

    from tandem.store import open_store
    from tandem.store import tables as t

    store = open_store(url)
    names = list(stream.reference)
    start = datetime(2026, 1, 1, tzinfo=UTC)
    p = t.predictions
    for lo, hi, rows in stream.batches(chunks, batch, "predictions", every=8):
        present = sa.select(sa.func.count()).where(p.c.id >= f"{lo:032x}", p.c.id < f"{hi:032x}")
        with store.engine.connect() as conn:  # type: ignore[attr-defined]
            if conn.execute(present).scalar_one() == hi - lo:
                continue  # logged by an earlier, interrupted seeding
        store.add_predictions(
            [_entry(i, start, names, row) for i, row in enumerate(rows.tolist(), lo)]
        )
    store.close()


def timed_drift(url: str, rows: int) -> tuple[float, float, dict[str, Values], dict[str, float]]:
    """`drift_for` over the whole logged window in a forked child: its seconds, the
    child's peak RSS in MB (all of it, inherited pages included), values and timings."""
    from datetime import UTC, datetime, timedelta

    def run() -> dict[str, Values]:
        from tandem.monitor.model_drift import drift_for
        from tandem.store import open_store

        store = open_store(url)
        start = datetime(2026, 1, 1, tzinfo=UTC)
        result = drift_for(store, "bench", start, start + timedelta(days=1), CONFIG, max_rows=rows)
        store.close()
        assert result.features is not None, result.message
        values = tandem_values(result.features)
        usage = resource.getrusage(resource.RUSAGE_SELF)
        values["_timings"] = {
            **result.timings,
            "live_rows": float(result.live_rows),
            "cpu_s": usage.ru_utime + usage.ru_stime,
        }
        values["_peak"] = {"mb": _rss_kb("VmHWM") / 1024}
        return values

    seconds, _, values = in_child(run)
    timings = values.pop("_timings")
    peak = values.pop("_peak")["mb"]
    return seconds, peak, values, timings


def at_scale(args: argparse.Namespace) -> int:
    """End to end only, for sizes whose live matrix is not built in memory: seed the
    store chunk by chunk (or reuse --db), time `drift_for` against the time and memory
    bounds, and check some features against `numeric_drift` on the whole column."""
    import json
    import tempfile

    from tandem.monitor.drift import numeric_drift

    reference, what = stream_reference(args.ref_rows, args.features, args.seed)
    stream = Stream(reference, what, args.rows, args.seed)
    params = {
        "rows": args.rows,
        "ref_rows": args.ref_rows,
        "features": args.features,
        "seed": args.seed,
        "batch": args.batch,
        "format": 1,
    }
    if args.store_url:
        url, cached = args.store_url, None
    else:
        path = args.db or os.path.join(tempfile.mkdtemp(prefix="tandem-drift-bench-"), "bench.db")
        url, cached = f"sqlite:///{path}", path + ".json"
    seeded = None
    if cached and os.path.exists(cached):
        with open(cached) as f:
            seeded = json.load(f)
        if {k: seeded.get(k) for k in params} != params:
            seeded = None
    if seeded is not None:
        print(f"store: reusing {url} (seeded in {seeded['seed_s']:.0f} s)")
        if args.seed_only:
            return 0
    else:
        if cached and os.path.exists(cached):  # seeded with other parameters
            for suffix in ("", "-wal", "-shm", ".json"):
                if os.path.exists(path + suffix):
                    os.remove(path + suffix)
        print(f"store: seeding {url} with {args.rows:,} rows, {args.batch} a transaction")
        workers = 1 if args.seed_blocks else args.seed_workers
        seed_s = seed_store(url, stream, args.batch, workers, args.seed_blocks)
        print(f"store: seeded in {seed_s:.0f} s")
        if cached:
            with open(cached, "w") as f:
                json.dump({**params, "seed_s": seed_s, "seed_blocks": args.seed_blocks}, f)
    if args.seed_only:
        return 0

    failed: list[str] = []
    runs = []
    for _ in range(args.repeat):
        seconds, peak_mb, values, timings = timed_drift(url, args.rows)
        runs.append(seconds)
        print(
            f"drift_for over {int(timings['live_rows']):,} rows x {args.features} features: "
            f"{seconds:.1f} s (read {timings.get('read_s', math.nan):.1f} s; CPU "
            f"{timings['cpu_s']:.1f} s on {os.cpu_count()} cores), peak RSS {peak_mb:.0f} MB"
        )
        if seconds > args.max_seconds:
            failed.append(f"{seconds:.1f} s over the {args.max_seconds:g} s bound")
        if peak_mb > args.max_memory_mb:
            failed.append(f"peak {peak_mb:.0f} MB over the {args.max_memory_mb:g} MB bound")

    checked = list(reference)[: args.check_features]
    pairs: dict[str, list[tuple[float, float]]] = {"psi": [], "ks": [], "p": []}
    for name in checked:
        column = stream.full_column(name)
        exact = numeric_drift(name, reference[name], column, CONFIG)
        del column
        pairs["psi"].append((values[name]["psi"], exact.psi))
        pairs["ks"].append((values[name]["ks"], exact.ks_statistic or 0.0))
        pairs["p"].append((values[name]["p"], exact.ks_pvalue or 0.0))
    checks = [
        agree(f"streamed vs whole-column {k}, {len(checked)} features", v, 1e-12)
        for k, v in pairs.items()
    ]
    print(f"\n{'agreement check':<52}{'worst diff':>12}{'tolerance':>12}  ok")
    for c in checks:
        print(f"{c.label:<52}{c.worst:>12.2e}{c.tolerance:>12}  {'yes' if c.ok else 'NO'}")
    failed += [c.label for c in checks if not c.ok]
    print(f"\n{'feature':<9}{'live change':<25}{'PSI':>9}{'KS D':>9}{'KS p':>11}{'drift':>7}")
    for n in list(reference)[:10]:
        v = values[n]
        drifted = "yes" if v["drifted"] else "no"
        print(f"{n:<9}{what[n]:<25}{v['psi']:>9.4f}{v['ks']:>9.5f}{v['p']:>11.3e}{drifted:>7}")
    best = min(runs)
    print(
        f"\nbounds: under {args.max_seconds:g} s and {args.max_memory_mb:g} MB peak: "
        f"{'no' if failed else 'yes'} (best {best:.1f} s)"
    )
    if failed:
        print(f"\nFAILED: {'; '.join(failed)}", file=sys.stderr)
        return 1
    return 0


# ---------------------------------------------------------------- agreement


@dataclass
class Agreement:
    label: str
    worst: float
    tolerance: str
    ok: bool


def relative(a: float, b: float) -> float:
    if a == b:
        return 0.0
    if max(abs(a), abs(b)) < 1e-300:  # both subnormal: no relative digits left to compare
        return 0.0
    return abs(a - b) / max(abs(a), abs(b))


def agree(
    label: str, pairs: list[tuple[float, float]], rel: float, absolute: bool = False
) -> Agreement:
    diffs = [abs(a - b) if absolute else relative(a, b) for a, b in pairs]
    worst = max(diffs, default=0.0)
    kind = "abs" if absolute else "rel"
    return Agreement(label, worst, f"{rel:.0e} {kind}", worst <= rel)


# ---------------------------------------------------------------- main


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--rows", type=int, default=1_000_000, help="live rows")
    parser.add_argument("--ref-rows", type=int, default=100_000, help="reference rows")
    parser.add_argument("--features", type=int, default=20)
    parser.add_argument("--repeat", type=int, default=3, help="Tandem runs (best is shown)")
    parser.add_argument("--seed", type=int, default=20261123)
    parser.add_argument("--no-evidently", action="store_true", help="skip Evidently's runs")
    parser.add_argument("--no-plain", action="store_true", help="skip the numpy/scipy run")
    parser.add_argument(
        "--end-to-end", action="store_true", help="also time drift_for reading a store"
    )
    parser.add_argument("--store-url", help="store for --end-to-end (default: temp SQLite)")
    parser.add_argument(
        "--batch",
        type=int,
        default=64,
        help="predictions per write transaction when seeding --end-to-end (one block each)",
    )
    parser.add_argument("--db", help="SQLite file to seed once and reuse for large runs")
    parser.add_argument(
        "--seed-only", action="store_true", help="large runs: seed the --db store and stop"
    )
    parser.add_argument(
        "--seed-workers", type=int, default=2, help="large runs: processes seeding the store"
    )
    parser.add_argument(
        "--seed-blocks",
        action="store_true",
        help="large runs: seed the feature blocks directly, not through the batch write",
    )
    parser.add_argument("--max-seconds", type=float, default=MAX_SECONDS)
    parser.add_argument("--max-memory-mb", type=float, default=MAX_PEAK_MB)
    parser.add_argument(
        "--check-features",
        type=int,
        default=3,
        help="large runs: features checked against numeric_drift on the whole column",
    )
    args = parser.parse_args(argv)
    if args.rows * args.features * 8 > IN_MEMORY_LIMIT:
        print(
            f"Drift at scale: reference {args.ref_rows:,} x {args.features}, live "
            f"{args.rows:,} x {args.features} ({args.rows * args.features * 8 / 1e9:.1f} GB "
            f"of float64, not built in memory); {os.cpu_count()} CPUs; numpy {np.__version__}"
        )
        if args.batch == 64:
            args.batch = 4096
        return at_scale(args)

    print(
        f"Drift: reference {args.ref_rows:,} x {args.features}, live {args.rows:,} x "
        f"{args.features}, float64; {os.cpu_count()} CPUs; numpy {np.__version__}"
    )
    reference, live, what = make_data(args.ref_rows, args.rows, args.features, args.seed)

    runs: list[Run] = []
    tandem = measure(
        Run("Tandem drift_report (thread pool)"),
        lambda: tandem_values(drift_report(reference, live, CONFIG)),
        args.repeat,
    )
    runs.append(tandem)
    runs.append(
        measure(
            Run("Tandem drift_report (1 thread)"),
            lambda: tandem_values(drift_report(reference, live, CONFIG, workers=1)),
            args.repeat,
        )
    )
    plain_run = None
    if not args.no_plain:
        plain_run = measure(Run("numpy PSI + scipy ks_2samp"), lambda: plain(reference, live), 1)
        runs.append(plain_run)

    evidently: dict[str, Run] = {}
    if args.no_evidently:
        print("Evidently: skipped (--no-evidently)")
    else:
        thresholds = {"psi": CONFIG.psi_threshold, "ks": CONFIG.ks_pvalue_threshold}
        for method, threshold in thresholds.items():
            runner = evidently_runner(reference, live, method, threshold)
            if isinstance(runner, str):
                print(
                    f"Evidently is not importable ({runner}); showing Tandem only. Install "
                    "it with: .venv/bin/pip install 'evidently==0.7.23' 'pandas<3'"
                )
                break
            run = measure(Run(f'Evidently DataDriftPreset(method="{method}")'), runner, 1)
            evidently[method] = run
            runs.append(run)

    # -- timings
    print()
    print(f"{'run':<44}{'seconds':>9}{'x Tandem':>10}{'peak MB':>9}")
    for run in runs:
        if run.error:
            print(f"{run.label:<44}  failed: {run.error}")
            continue
        ratio = run.best / tandem.best
        peak = f"{run.peak_mb:.0f}" if run.peak_mb is not None else "-"
        print(f"{run.label:<44}{run.best:>9.3f}{ratio:>9.1f}x{peak:>9}")
    runs_note = ", ".join(f"{s:.3f}" for s in tandem.seconds)
    verdict = "yes" if tandem.best < TARGET_S else "NO"
    print(f"\nTandem under the {TARGET_S:g} s target: {verdict} (best {tandem.best:.3f} s)")
    print(f"Tandem runs (thread pool): {runs_note} s")

    e2e = None
    if args.end_to_end:
        e2e = end_to_end(reference, live, args.store_url, args.repeat, args.batch)
        best = min(e2e.seconds)
        print(
            f"end to end, before compaction (drift_for over {e2e.blocks_before:,} blocks of "
            f"{e2e.batch}): {e2e.uncompacted_s:.3f} s (read {e2e.uncompacted_read_s:.3f} s)\n"
            f"end to end, after compaction (drift_for: read {e2e.rows:,} logged rows from "
            f"{e2e.blocks_after:,} blocks + statistics): best {best:.3f} s of "
            f"{', '.join(f'{x:.3f}' for x in e2e.seconds)}; last run: read {e2e.read_s:.3f} s, "
            f"statistics {e2e.statistics_s:.3f} s; under the {TARGET_S:g} s target: "
            f"{'yes' if best < TARGET_S else 'NO'}"
        )

    # -- agreement
    checks: list[Agreement] = []
    names = list(reference)
    t = tandem.values
    if plain_run and plain_run.values:
        pv = plain_run.values
        checks += [
            agree(
                "PSI vs plain numpy PSI, same quantile bins",
                [(t[n]["psi"], pv[n]["psi"]) for n in names],
                1e-9,
            ),
            agree(
                "KS statistic vs scipy ks_2samp",
                [(t[n]["ks"], pv[n]["ks"]) for n in names],
                1e-12,
                absolute=True,
            ),
            agree("KS p-value vs scipy ks_2samp", [(t[n]["p"], pv[n]["p"]) for n in names], 1e-8),
        ]
    if e2e is not None:
        checks += [
            agree(
                "end to end (from the store) vs drift_report: PSI",
                [(e2e.values[n]["psi"], t[n]["psi"]) for n in names],
                1e-12,
            ),
            agree(
                "end to end (from the store) vs drift_report: KS p",
                [(e2e.values[n]["p"], t[n]["p"]) for n in names],
                1e-12,
            ),
        ]
    ev_ks = evidently.get("ks")
    if ev_ks and ev_ks.values:
        pairs = [(t[n]["p"], ev_ks.values[n]["ks"]) for n in names]
        checks.append(agree('KS p-value vs Evidently method="ks"', pairs, 1e-8))
    ev_psi = evidently.get("psi")
    if ev_psi and ev_psi.values:
        pairs = [(evidently_psi(reference[n], live[n]), ev_psi.values[n]["psi"]) for n in names]
        checks.append(agree("Evidently PSI vs its own binning redone in numpy", pairs, 1e-9))
    print(f"\n{'agreement check':<52}{'worst diff':>12}{'tolerance':>12}  ok")
    for c in checks:
        print(f"{c.label:<52}{c.worst:>12.2e}{c.tolerance:>12}  {'yes' if c.ok else 'NO'}")

    # -- per feature
    print(
        f"\n{'feature':<9}{'live change':<25}{'PSI':>9}{'KS D':>9}{'KS p':>11}{'drift':>7}"
        f"{'Ev PSI':>9}{'Ev KS p':>11}"
    )
    for n in names:
        ev_p = ev_ks.values[n]["ks"] if ev_ks and ev_ks.values else math.nan
        ev_s = ev_psi.values[n]["psi"] if ev_psi and ev_psi.values else math.nan
        drifted = bool(t[n]["drifted"])
        print(
            f"{n:<9}{what[n]:<25}{t[n]['psi']:>9.4f}{t[n]['ks']:>9.5f}{t[n]['p']:>11.3e}"
            f"{'yes' if drifted else 'no':>7}{ev_s:>9.4f}{ev_p:>11.3e}"
        )
    print(
        f"\ndrift = PSI > {CONFIG.psi_threshold:g} or KS p < {CONFIG.ks_pvalue_threshold:g}; "
        "Ev = Evidently (PSI on its own bins, so not Tandem's number; KS p from ks_2samp)"
    )

    failed = [c.label for c in checks if not c.ok]
    if failed:
        print(f"\nDISAGREEMENT: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
