"""Sustained predict load on the real `tandem serve`, on SQLite and on PostgreSQL, next
to a bare FastAPI baseline measured in the same run; then proof that nothing was lost.

One run, nothing hard-coded:

1. trains the ML Editor on the real Stack Exchange dumps, once per back-end, into a
   fresh store (a SQLite file; a throwaway PostgreSQL cluster from
   scripts/postgres.sh, started with fsync on so its commits are as durable as a
   production server's);
2. loads `tandem serve --workers N` on each back-end (by default 1 worker on SQLite,
   whose writes one process serialises best, and 2 on PostgreSQL), then
   benchmarks/bare_app.py (same model work, no logging, no routing; same uvicorn options)
   with each worker count used, one server after another, with the closed-loop
   keep-alive client of benchmarks/loadgen.py: C connections, a warm-up, then
   `--seconds` of measured traffic, real questions;
3. prints requests/s, p50/p99 latency and errors for each, the connections each worker
   held, and the ratios of each Tandem run to the bare run with as many workers;
4. after stopping each Tandem server (SIGTERM: in-flight requests finish), checks that
   the store holds exactly the predictions answered 200 (ids compared, each once, none
   extra) and that the intake ledger agrees (received = answered + failed).

The load generator runs on the same 2 cores as the servers (and PostgreSQL): read the
CPU columns and the ratios, not only the absolute numbers.

Exit status: 0 when no request failed and every store checks out, 1 otherwise, 2 when
the setup failed, 130 on Ctrl-C.

Run: .venv/bin/python benchmarks/load.py --seconds 60
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import harness
from loadgen import LoadResult, evenly_spread, machine_busy_over

from tandem.store import open_store

BACKENDS = ("sqlite", "postgresql")
AIM_RPS, AIM_P99_MS = 1000.0, 20.0  # issue 5: >= 1,000 req/s on 2 cores, p99 <= 20 ms


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Sustained /v1/predict load on SQLite and PostgreSQL, with a bare baseline."
    )
    harness.add_load_args(parser, seconds=60.0, warmup=5.0)
    parser.add_argument(
        "--workers", type=int, default=None, help="uvicorn workers for every server"
    )
    parser.add_argument("--sqlite-workers", type=int, default=1, help="workers on SQLite")
    parser.add_argument("--postgresql-workers", type=int, default=2, help="workers on PostgreSQL")
    parser.add_argument(
        "--backends",
        default=",".join(BACKENDS),
        help="comma-separated: sqlite, postgresql (default both)",
    )
    parser.add_argument("--no-bare", action="store_true", help="skip the bare baseline")
    parser.add_argument(
        "--isolation",
        choices=("process", "thread", "model"),
        default="model",
        help="TANDEM_MODEL_ISOLATION for Tandem ('model': unset, each model its own)",
    )
    parser.add_argument(
        "--linger-ms",
        type=float,
        default=None,
        help="TANDEM_LOG_LINGER_MS for Tandem (default: the writer's own)",
    )
    args = parser.parse_args(argv)
    args.backends = [b.strip() for b in args.backends.split(",") if b.strip()]
    if not set(args.backends) <= set(BACKENDS) or not args.backends:
        parser.error(f"--backends takes a comma-separated subset of {', '.join(BACKENDS)}")
    harness.check_load_args(parser, args)
    if args.workers is not None:
        args.sqlite_workers = args.postgresql_workers = args.workers
    args.backend_workers = {b: getattr(args, f"{b}_workers") for b in args.backends}
    if not all(1 <= w <= 16 for w in args.backend_workers.values()):
        parser.error("need 1 to 16 workers per server")
    return args


@dataclass
class StoreCheck:
    """What the store holds after a run, against what the client was answered."""

    answered: int  # distinct prediction ids the client received with a 200
    duplicates_answered: int  # ids the client received more than once (must be 0)
    stored: int  # predictions in the store
    missing: list[str] = field(default_factory=list)  # answered, not stored (must be none)
    extra: list[str] = field(default_factory=list)  # stored, never answered (must be none)
    intake: dict[str, int] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return (
            not self.missing
            and not self.extra
            and self.duplicates_answered == 0
            and self.stored == self.answered
            and self.intake.get("received")
            == self.intake.get("answered", 0) + self.intake.get("failed", 0)
            and self.intake.get("answered") == self.stored
            and self.intake.get("answered_unlogged") == 0
        )

    def summary(self) -> dict[str, Any]:
        return {
            "answered_200": self.answered,
            "duplicates_answered": self.duplicates_answered,
            "stored": self.stored,
            "missing": len(self.missing),
            "missing_sample": self.missing[:5],
            "extra": len(self.extra),
            "extra_sample": self.extra[:5],
            "intake": self.intake,
            "ok": self.ok,
        }


def check_store(url: str, ids: list[str]) -> StoreCheck:
    store = open_store(url, migrate=False)
    try:
        stored = store.list_prediction_ids(model=harness.MODEL)
        intake = store.intake_counts(model=harness.MODEL)
    finally:
        store.close()
    answered, kept = set(ids), set(stored)
    return StoreCheck(
        answered=len(answered),
        duplicates_answered=len(ids) - len(answered),
        stored=len(stored),
        missing=sorted(answered - kept),
        extra=sorted(kept - answered),
        intake=intake,
    )


@dataclass
class Run:
    name: str
    result: LoadResult
    check: StoreCheck | None = None
    busy_before: float = 0.0
    workers: int = 1

    @property
    def bare(self) -> bool:
        return self.check is None


def run_bare(args: argparse.Namespace, home: Path, bodies: list[bytes], workers: int) -> Run:
    data_dir: Path = args.data.resolve()
    env = harness.isolated_env(home, data_dir)
    name = f"bare x{workers}"
    server = harness.Server.bare(name.replace(" ", "-"), env, home, workers)
    try:
        server.wait_ready()
        busy = machine_busy_over(1.0)
        print(f"bare baseline up ({workers} workers); loading it", flush=True)
        result = harness.load(args, server, bodies, harness.auth_header(env))
        return Run(name, result, busy_before=busy, workers=workers)
    finally:
        server.stop()


def run_tandem(
    args: argparse.Namespace, backend: str, root: Path, bodies: list[bytes]
) -> tuple[Run, Path]:
    """Train into a fresh store on `backend`, serve, load, stop, check the store."""
    data_dir: Path = args.data.resolve()
    workers = args.backend_workers[backend]
    home = root / f"home-{backend}"
    env = harness.isolated_env(home, data_dir)
    postgres = harness.Postgres(root) if backend == "postgresql" else None
    try:
        if postgres is not None:
            env["TANDEM_DATABASE_URL"] = postgres.url
        if args.isolation != "model":
            env["TANDEM_MODEL_ISOLATION"] = args.isolation
        if args.linger_ms is not None:
            env["TANDEM_LOG_LINGER_MS"] = str(args.linger_ms)
        harness.train(env, data_dir, label=f"[{backend}] ")
        auth = harness.auth_header(env)
        server = harness.Server.tandem(f"tandem-{backend}", env, home, workers)
        try:
            server.wait_ready()
            busy = machine_busy_over(1.0)
            print(f"[{backend}] tandem up ({workers} workers); loading it", flush=True)
            db_pid = postgres.pid if postgres else None
            result = harness.load(args, server, bodies, auth, collect_ids=True, db_pid=db_pid)
        finally:
            server.stop()  # SIGTERM: uvicorn finishes in-flight requests, the writer drains
        url = postgres.url if postgres else f"sqlite:///{(home / 'tandem.db').resolve()}"
        check = check_store(url, result.ids or [])
        return Run(f"{backend} x{workers}", result, check, busy, workers), home
    finally:
        if postgres is not None:
            postgres.stop()


def pairs(runs: list[Run]) -> list[tuple[Run, Run]]:
    """Each Tandem run with the bare run that had as many workers."""
    bare = {r.workers: r for r in runs if r.bare}
    return [(r, bare[r.workers]) for r in runs if not r.bare and r.workers in bare]


def spread(result: LoadResult) -> str:
    """The connections each worker held, e.g. `9+7`; `?` where /proc could not tell."""
    counts = result.connections_by_worker
    return "+".join(map(str, counts)) if counts else "?"


def print_report(runs: list[Run], header: str) -> None:
    cols = (
        f"{'':<24}{'req/s':>8}{'p50 ms':>9}{'p99 ms':>9}{'max ms':>9}{'errors':>8}"
        f"{'client':>8}{'server':>8}{'db':>7}{'machine':>9}{'busy 0':>8}  conns"
    )
    print(header)
    print()
    print(cols)
    print("-" * len(cols))
    for run in runs:
        r = run.result
        busy = "-" if r.machine_busy is None else f"{100 * r.machine_busy:.0f}%"
        print(
            f"{run.name:<24}{r.requests_per_s:>8.0f}{r.latency_ms(50):>9.2f}"
            f"{r.latency_ms(99):>9.2f}{r.latency_ms(100):>9.2f}{r.errors_total:>8}"
            f"{harness.pct(r.client_cpu_s, r.duration_s):>8}"
            f"{harness.pct(r.server_cpu_s, r.duration_s):>8}"
            f"{harness.pct(r.db_cpu_s, r.duration_s):>7}{busy:>9}{100 * run.busy_before:>7.0f}%"
            f"  {spread(r)}"
        )
    for run, bare_run in pairs(runs):
        ratios = harness.over_bare(run.result, bare_run.result)
        print(
            f"{run.name + ' / ' + bare_run.name:<24}"
            f"{harness.fmt_ratio(ratios['throughput']):>8}"
            f"{harness.fmt_ratio(ratios['p50']):>9}{harness.fmt_ratio(ratios['p99']):>9}"
        )
    print()
    print(
        "CPU columns: share of one core during the measured window (server: all workers; "
        "db: PostgreSQL's processes); machine: all cores; busy 0: all cores, 1 s before "
        "the load (other people's work); conns: the client's connections each worker "
        "held as the window opened."
    )
    uneven = [
        run.name
        for run in runs
        if not evenly_spread(run.result.connections_by_worker, run.result.connections, run.workers)
    ]
    if uneven:
        print(
            f"uneven: {', '.join(uneven)}: a worker held more or less than its share of the "
            "connections (workers sharing one socket accept whatever arrives while they "
            "wait), so those figures measure fewer cores than the server has."
        )
    for run in runs:
        r = run.result
        for sample in r.error_samples:
            print(f"{run.name} error: {sample}")
        aim = r.requests_per_s >= AIM_RPS and r.latency_ms(99) <= AIM_P99_MS
        if run.check is not None:
            c = run.check
            print(
                f"{run.name}: aim (>= {AIM_RPS:.0f} req/s, p99 <= {AIM_P99_MS:.0f} ms) "
                f"{'met' if aim else 'NOT met'}; answered 200: {c.answered}, stored: {c.stored}, "
                f"missing: {len(c.missing)}, extra: {len(c.extra)}, duplicates: "
                f"{c.duplicates_answered}; intake {c.intake}  {'OK' if c.ok else 'MISMATCH'}"
            )


def benchmark(args: argparse.Namespace, root: Path) -> int:
    data_dir: Path = args.data.resolve()
    bodies = harness.load_bodies(data_dir, args.questions)
    runs: list[Run] = []
    homes: dict[str, Path] = {}
    for backend in args.backends:
        run, home = run_tandem(args, backend, root, bodies)
        runs.append(run)
        homes[backend] = home
    if not args.no_bare:  # the model trained on SQLite, served bare
        bare_home = homes.get("sqlite")
        if bare_home is None:
            bare_home = root / "home-bare"
            harness.train(harness.isolated_env(bare_home, data_dir), data_dir)
        counts = sorted(set(args.backend_workers.values()))
        runs = [run_bare(args, bare_home, bodies, w) for w in counts] + runs
    header = (
        f"POST {harness.PREDICT_PATH} ({harness.MODEL}), {len(bodies)} real questions, "
        f"{args.connections} keep-alive connections, {args.warmup:g} s warm-up + "
        f"{args.seconds:g} s measured "
        f"per server; uvicorn (uvloop, httptools, no access log), xN = N worker processes\n"
        f"{os.cpu_count()} CPUs shared by client, servers and PostgreSQL; Python "
        f"{platform.python_version()}; SQLite WAL synchronous=NORMAL (survives a process "
        f"crash); PostgreSQL fsync=on, synchronous_commit=on; model isolation: "
        f"{args.isolation} ('model': each model its own); log linger: "
        f"{'default' if args.linger_ms is None else f'{args.linger_ms:g} ms'}"
    )
    print()
    print_report(runs, header)
    ok = harness.all_answered(r.result for r in runs) and all(
        r.check.ok for r in runs if r.check is not None
    )
    return harness.save_results(
        "load",
        args,
        len(bodies),
        {
            "workers": args.backend_workers,
            "backends": args.backends,
            "isolation": args.isolation,
            "linger_ms": args.linger_ms,
        },
        {
            "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
            "runs": {
                r.name: {
                    "busy_before": round(r.busy_before, 3),
                    "load": r.result.summary(),
                    "store_check": r.check.summary() if r.check else None,
                }
                for r in runs
            },
            "ratios_over_bare": {
                r.name: {"bare": b.name} | harness.over_bare(r.result, b.result)
                for r, b in pairs(runs)
            },
        },
        ok,
    )


def main(argv: Sequence[str] | None = None) -> int:
    # PostgreSQL's own user must reach its data folder below the run's folder.
    return harness.run_benchmark(parse_args(argv), benchmark, prefix="tandem-load-", mode=0o755)


if __name__ == "__main__":
    sys.exit(main())
