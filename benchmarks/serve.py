"""What Tandem's serving costs on top of a bare FastAPI app doing the same model work.

One run, end to end, nothing hard-coded:

1. trains the ML Editor on the real Stack Exchange dumps into a fresh TANDEM_HOME;
2. starts `tandem serve` (1 worker) and benchmarks/bare_app.py (same uvicorn options:
   uvloop, httptools, no access log, 1 worker; same production predictor, same model
   work, but no logging to the store, no routing, no review) as subprocesses;
3. drives each in turn with the same closed-loop keep-alive client (benchmarks/loadgen.py):
   C connections, a warm-up, then a measured window, POSTing real questions to
   /v1/predict;
4. prints requests/s, p50/p99 latency and errors for both and the Tandem/bare ratios, plus
   the CPU used by client, server and machine during each window (on 2 cores the client
   and the server share the machine, so read the ratios, not the absolute numbers);
5. checks that Tandem logged exactly one prediction per 2xx answer it gave.

Exit status: 0 when every request succeeded and the logged count matches, 1 otherwise,
2 when the setup failed, 130 on Ctrl-C.

Run: .venv/bin/python benchmarks/serve.py --seconds 10
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from importlib.metadata import version as package_version
from pathlib import Path

from harness import (
    BENCH_DIR,
    MODEL,
    PREDICT_PATH,
    REPO,
    Server,
    SetupError,
    add_load_args,
    check_load_args,
    client_key,
    fmt_ratio,
    free_port,
    git_commit,
    isolated_env,
    load,
    load_bodies,
    load_config,
    pct,
    ratio,
    run_benchmark,
    save_json,
    train,
)
from loadgen import LoadResult, machine_busy_over

from tandem.settings import Settings
from tandem.store import open_store


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Benchmark Tandem's /v1/predict against a bare FastAPI baseline."
    )
    add_load_args(parser, seconds=10.0, warmup=2.0)
    args = parser.parse_args(argv)
    check_load_args(parser, args)
    return args


def logged_predictions(home: Path) -> int:
    """How many predictions of the model are in the run's store."""
    settings = Settings(home=home)
    store = open_store(settings.resolved_database_url, migrate=False)
    try:
        return store.count_predictions(MODEL)
    finally:
        store.close()


def print_report(bare: LoadResult, tandem: LoadResult, logged: int, header: str) -> None:
    """The table: absolute numbers for both servers, then Tandem/bare ratios."""
    cols = (
        f"{'':<12}{'req/s':>9}{'p50 ms':>9}{'p99 ms':>9}{'max ms':>9}{'errors':>8}"
        f"{'client CPU':>12}{'server CPU':>12}{'machine':>9}{'resp B':>8}"
    )
    print(header)
    print()
    print(cols)
    print("-" * len(cols))
    for r in (bare, tandem):
        busy = "-" if r.machine_busy is None else f"{100 * r.machine_busy:.0f}%"
        size = r.response_bytes // r.measured if r.measured else 0
        print(
            f"{r.target:<12}{r.requests_per_s:>9.0f}{r.latency_ms(50):>9.2f}"
            f"{r.latency_ms(99):>9.2f}{r.latency_ms(100):>9.2f}{r.errors_total:>8}"
            f"{pct(r.client_cpu_s, r.duration_s):>12}{pct(r.server_cpu_s, r.duration_s):>12}"
            f"{busy:>9}{size:>8}"
        )
    print(
        f"{'tandem/bare':<12}{fmt_ratio(tandem.requests_per_s, bare.requests_per_s):>9}"
        f"{fmt_ratio(tandem.latency_ms(50), bare.latency_ms(50)):>9}"
        f"{fmt_ratio(tandem.latency_ms(99), bare.latency_ms(99)):>9}"
    )
    print()
    print("CPU columns: share of one core during the measured window; machine: all cores.")
    for r in (bare, tandem):
        if r.client_cpu_s / r.duration_s > 0.85:
            print(f"note: the client used most of a core against {r.target}; it may set the pace")
        for sample in r.error_samples:
            print(f"{r.target} error: {sample}")
    verdict = "OK" if logged == tandem.ok_total else "MISMATCH"
    print(
        f"predictions logged by Tandem: {logged}; 2xx answers from Tandem (warm-up included): "
        f"{tandem.ok_total}  {verdict}"
    )


@dataclass
class Measurement:
    version: str
    idle_busy: float  # machine load before ours, from other processes
    bare: LoadResult
    tandem: LoadResult
    logged: int  # predictions Tandem logged during the run


def measure(args: argparse.Namespace, home: Path, bodies: list[bytes]) -> Measurement:
    """Train, start both servers, load bare then Tandem, and always stop the servers."""
    data_dir: Path = args.data.resolve()
    env = isolated_env(home, data_dir)
    started = time.perf_counter()
    train(env, data_dir)
    print(f"trained and registered {MODEL} in {time.perf_counter() - started:.1f} s", flush=True)
    # Both servers get the same bytes; the bare app ignores the key, Tandem checks it.
    auth = {"Authorization": f"Bearer {client_key(env)}"}

    tandem_port, bare_port = free_port(), free_port()
    servers: list[Server] = []
    try:
        tandem_cmd = [sys.executable, "-m", "tandem.cli.main", "serve", "--port", str(tandem_port)]
        bare_cmd = [sys.executable, str(BENCH_DIR / "bare_app.py"), "--port", str(bare_port)]
        servers.append(Server.start("tandem", tandem_cmd, tandem_port, env, home))
        servers.append(Server.start("bare", bare_cmd, bare_port, env, home))
        tandem_srv, bare_srv = servers
        versions = {s.name: s.wait_ready()["models"].get(MODEL) for s in servers}
        version = versions["tandem"]
        if version is None or version != versions["bare"]:
            raise SetupError(f"the servers do not serve the same {MODEL} version: {versions}")
        before = logged_predictions(home)
        idle_busy = machine_busy_over(1.0)  # both servers idle: what else is running?
        print(f"both servers up ({MODEL} {version}); loading bare, then tandem", flush=True)
        bare, tandem = [  # in turn, never at the same time
            load(args, server, bodies, headers=auth) for server in (bare_srv, tandem_srv)
        ]
    finally:
        for server in reversed(servers):
            server.stop()
    # Counted after Tandem has stopped: any request still in flight has finished by now.
    logged = logged_predictions(home) - before
    return Measurement(version, idle_busy, bare, tandem, logged)


def benchmark(args: argparse.Namespace, home: Path) -> int:
    """Measure, print the table, save the JSON; 0 only when everything checked out."""
    data_dir: Path = args.data.resolve()
    bodies = load_bodies(data_dir, args.questions)
    m = measure(args, home, bodies)
    bare, tandem = m.bare, m.tandem
    header = (
        f"POST {PREDICT_PATH} ({MODEL} {m.version}), {len(bodies)} real questions, "
        f"{args.connections} keep-alive connections, {args.warmup:g} s warm-up + "
        f"{args.seconds:g} s measured per server\n"
        f"{os.cpu_count()} CPUs, Python {platform.python_version()}, client loop "
        f"{args.client_loop}, 1 uvicorn worker each (uvloop, httptools, no access log)\n"
        f"machine busy before the load (1 s, servers idle): {100 * m.idle_busy:.0f}% of all cores"
    )
    if m.idle_busy > 0.1:
        header += "  <- other processes are using the CPU; expect noisier numbers"
    print()
    print_report(bare, tandem, m.logged, header)
    ok = bare.errors_total == 0 and tandem.errors_total == 0 and m.logged == tandem.ok_total
    path = save_json(
        "serve",
        {
            "timestamp": datetime.now().astimezone().isoformat(timespec="seconds"),
            "commit": git_commit(),
            "config": {**load_config(args, len(bodies)), "data": str(data_dir)},
            "machine": {
                "cpus": os.cpu_count(),
                "busy_before_load": round(m.idle_busy, 3),
                "python": platform.python_version(),
                "platform": platform.platform(),
                "packages": {p: package_version(p) for p in ("fastapi", "uvicorn", "sqlalchemy")},
            },
            "model_version": m.version,
            "results": {"bare": bare.summary(), "tandem": tandem.summary()},
            "ratios": {
                "throughput_tandem_over_bare": ratio(tandem.requests_per_s, bare.requests_per_s),
                "p50_tandem_over_bare": ratio(tandem.latency_ms(50), bare.latency_ms(50)),
                "p99_tandem_over_bare": ratio(tandem.latency_ms(99), bare.latency_ms(99)),
            },
            "logged_check": {
                "logged": m.logged,
                "ok_2xx": tandem.ok_total,
                "match": m.logged == tandem.ok_total,
            },
            "passed": ok,
        },
    )
    print(f"results: {path.relative_to(REPO)}")
    return 0 if ok else 1


def main(argv: Sequence[str] | None = None) -> int:
    return run_benchmark(parse_args(argv), benchmark, prefix="tandem-bench-")


if __name__ == "__main__":
    sys.exit(main())
