"""What Tandem's serving costs on top of a bare FastAPI app doing the same model work.

One run, end to end, nothing hard-coded:

1. trains the ML Editor on the real Stack Exchange dumps into a fresh TANDEM_HOME;
2. starts benchmarks/bare_app.py, then `tandem serve` (1 worker each; same uvicorn
   options: uvloop, httptools, no access log; same production predictor, same model
   work, but the bare app does no logging to the store, no routing, no review), one at
   a time, as subprocesses;
3. drives each in turn with the same closed-loop keep-alive client (benchmarks/loadgen.py):
   C connections, a warm-up, then a measured window, POSTing real questions to
   /v1/predict;
4. prints requests/s, p50/p99 latency and errors for both and the Tandem/bare ratios, plus
   the CPU used by client, server and machine during each window (on 2 cores the client
   and the server share the machine, so read the ratios, not the absolute numbers);
5. checks that Tandem logged exactly one prediction per 2xx answer it gave, and counts
   how many of those the fallback answered (a busy or overrun model).

With `--isolation thread process` Tandem is run once per model isolation, in turn,
against the same bare baseline: the cost of worker processes, from one run; likewise
`--writer process thread` for where the prediction log's writer runs.

Exit status: 0 when every request was answered 2xx and the logged count matches, 1
otherwise (a refusal counts as a failed request, never as throughput),
2 when the setup failed, 130 on Ctrl-C.

Run: .venv/bin/python benchmarks/serve.py --seconds 10
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import platform
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from importlib.metadata import version as package_version
from pathlib import Path

import harness
from loadgen import HOST, LoadResult, machine_busy_over

from tandem.settings import Settings
from tandem.store import open_store


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Benchmark Tandem's /v1/predict against a bare FastAPI baseline."
    )
    harness.add_load_args(parser, seconds=10.0, warmup=2.0)
    parser.add_argument(
        "--isolation",
        choices=("process", "thread", "model"),
        nargs="+",
        default=["model"],
        help="TANDEM_MODEL_ISOLATION for Tandem, one Tandem run per value, in turn, in "
        "this run ('model': unset, each model its own); e.g. --isolation thread process",
    )
    parser.add_argument(
        "--writer",
        choices=("process", "thread"),
        nargs="+",
        default=["process"],
        help="TANDEM_LOG_WRITER for Tandem (`tandem serve` uses process), one Tandem run "
        "per value and isolation; e.g. --writer process thread",
    )
    args = parser.parse_args(argv)
    harness.check_load_args(parser, args)
    return args


def first_prediction(
    server: harness.Server, body: bytes, auth: dict[str, str]
) -> tuple[float, str | None]:
    """One prediction before the load: (milliseconds, its fallback reason). With worker
    processes the first call starts them, which no warm-up should have to absorb."""
    conn = http.client.HTTPConnection(HOST, server.port, timeout=harness.READY_TIMEOUT_S)
    try:
        started = time.perf_counter()
        headers = {"Content-Type": "application/json", **auth}
        conn.request("POST", harness.PREDICT_PATH, body, headers)
        response = conn.getresponse()
        answer = response.read()
        if response.status != 200:
            raise harness.SetupError(
                f"{server.name}: the first prediction answered {response.status}"
            )
        reason: str | None = json.loads(answer)["fallback_reason"]
        return (time.perf_counter() - started) * 1000, reason
    finally:
        conn.close()


def logged_predictions(home: Path) -> int:
    """How many predictions of the model are in the run's store."""
    settings = Settings(home=home)
    store = open_store(settings.resolved_database_url, migrate=False)
    try:
        return store.count_predictions(harness.MODEL)
    finally:
        store.close()


def fallbacks(home: Path) -> dict[str, int]:
    """How many of the model's logged predictions the fallback answered, by reason
    (a run is only comparable when the model itself answered)."""
    settings = Settings(home=home)
    store = open_store(settings.resolved_database_url, migrate=False)
    try:
        out: dict[str, int] = {}
        for model, route, reason, n, _, _ in store.prediction_stats(()):
            if model == harness.MODEL and route == "fallback":
                key = (reason or "?").split(":")[0]
                out[key] = out.get(key, 0) + n
        return out
    finally:
        store.close()


def print_report(bare: LoadResult, runs: list[TandemRun], header: str) -> None:
    """The table: absolute numbers for every server, then each Tandem run over bare."""
    cols = (
        f"{'':<18}{'req/s':>9}{'p50 ms':>9}{'p99 ms':>9}{'max ms':>9}{'errors':>8}"
        f"{'client CPU':>12}{'server CPU':>12}{'machine':>9}{'resp B':>8}"
    )
    print(header)
    print()
    print(cols)
    print("-" * len(cols))
    for r in (bare, *(run.load for run in runs)):
        busy = "-" if r.machine_busy is None else f"{100 * r.machine_busy:.0f}%"
        size = r.response_bytes // r.measured if r.measured else 0
        print(
            f"{r.target:<18}{r.requests_per_s:>9.0f}{r.latency_ms(50):>9.2f}"
            f"{r.latency_ms(99):>9.2f}{r.latency_ms(100):>9.2f}{r.errors_total:>8}"
            f"{harness.pct(r.client_cpu_s, r.duration_s):>12}"
            f"{harness.pct(r.server_cpu_s, r.duration_s):>12}"
            f"{busy:>9}{size:>8}"
        )
    for run in runs:
        cells = "".join(
            f"{harness.fmt_ratio(x):>9}" for x in harness.over_bare(run.load, bare).values()
        )
        print(f"{run.load.target + '/bare':<18}{cells}")
    print()
    print("CPU columns: share of one core during the measured window; machine: all cores.")
    for r in (bare, *(run.load for run in runs)):
        if r.client_cpu_s / r.duration_s > 0.85:
            print(f"note: the client used most of a core against {r.target}; it may set the pace")
        for sample in r.error_samples:
            print(f"{r.target} error: {sample}")
    for run in runs:
        verdict = "OK" if run.logged == run.load.ok_total else "MISMATCH"
        by_fallback = sum(run.fallbacks.values())
        share = f"{100 * by_fallback / run.logged:.2f}%" if run.logged else "-"
        print(
            f"{run.load.target}: predictions logged {run.logged}; 2xx answers (warm-up "
            f"included) {run.load.ok_total}  {verdict}; answered by the fallback "
            f"{by_fallback} ({share})"
            + (f" {run.fallbacks}" if run.fallbacks else "")
            + f"; the first prediction (before the warm-up) took {run.first_ms:.0f} ms"
        )


@dataclass
class TandemRun:
    isolation: str  # TANDEM_MODEL_ISOLATION, or "model": unset
    load: LoadResult
    logged: int  # predictions Tandem logged during the run
    fallbacks: dict[str, int]  # of those, answered by the fallback, by reason
    first_ms: float  # the first prediction, before the warm-up (starts model workers)


@dataclass
class Measurement:
    version: str
    idle_busy: float  # machine load before ours, from other processes
    bare: LoadResult
    runs: list[TandemRun]


def measure(args: argparse.Namespace, home: Path, bodies: list[bytes]) -> Measurement:
    """Train, start bare and load it, then each Tandem in turn (one server at a time
    under load); always stop the servers."""
    data_dir: Path = args.data.resolve()
    env = harness.isolated_env(home, data_dir)
    harness.train(env, data_dir)
    # Both servers get the same bytes; the bare app ignores the key, Tandem checks it.
    auth = harness.auth_header(env)

    servers: list[harness.Server] = []
    runs: list[TandemRun] = []
    try:
        bare_srv = harness.Server.bare("bare", env, home)
        servers.append(bare_srv)
        version = bare_srv.wait_ready()["models"].get(harness.MODEL)
        idle_busy = machine_busy_over(1.0)  # the bare server idle: what else is running?
        print(f"bare up ({harness.MODEL} {version}); loading it", flush=True)
        bare = harness.load(args, bare_srv, bodies, auth)
        bare_srv.stop()
        plan = [(i, w) for i in args.isolation for w in args.writer]
        for n, (isolation, writer) in enumerate(plan):
            tandem_env = dict(env, TANDEM_LOG_WRITER=writer)
            if isolation != "model":
                tandem_env["TANDEM_MODEL_ISOLATION"] = isolation
            name = "tandem" if args.isolation == ["model"] else f"tandem {isolation}"
            if len(args.writer) > 1:
                name += f" {writer} writer"
            if plan.count((isolation, writer)) > 1:  # each run its own name in the JSON
                name += f" #{plan[: n + 1].count((isolation, writer))}"
            server = harness.Server.tandem(name, tandem_env, home)
            servers.append(server)
            served = server.wait_ready()["models"].get(harness.MODEL)
            if served is None or served != version:
                raise harness.SetupError(
                    f"the servers do not serve the same {harness.MODEL} version: {served}"
                )
            before, fallen_before = logged_predictions(home), fallbacks(home)
            first_ms, first_reason = first_prediction(server, bodies[0], auth)
            if first_reason is not None:  # counted with the run's by the store
                key = first_reason.split(":")[0]
                fallen_before[key] = fallen_before.get(key, 0) + 1
            print(f"{name} up, first prediction in {first_ms:.0f} ms; loading it", flush=True)
            result = harness.load(args, server, bodies, auth)
            server.stop()  # counted after: any request still in flight has finished by now
            fallen = {
                k: n - fallen_before.get(k, 0)
                for k, n in fallbacks(home).items()
                if n > fallen_before.get(k, 0)
            }
            logged = logged_predictions(home) - before - 1  # not the first prediction
            runs.append(TandemRun(isolation, result, logged, fallen, first_ms))
    finally:
        for server in reversed(servers):
            server.stop()
    return Measurement(version, idle_busy, bare, runs)


def benchmark(args: argparse.Namespace, home: Path) -> int:
    """Measure, print the table, save the JSON; 0 only when everything checked out."""
    data_dir: Path = args.data.resolve()
    bodies = harness.load_bodies(data_dir, args.questions)
    m = measure(args, home, bodies)
    bare = m.bare
    header = (
        f"POST {harness.PREDICT_PATH} ({harness.MODEL} {m.version}), {len(bodies)} real questions, "
        f"{args.connections} keep-alive connections, {args.warmup:g} s warm-up + "
        f"{args.seconds:g} s measured per server\n"
        f"{os.cpu_count()} CPUs, Python {platform.python_version()}, client loop "
        f"{args.client_loop}, 1 uvicorn worker each (uvloop, httptools, no access log), "
        f"model isolation: {', '.join(args.isolation)} ('model': each model its own), "
        f"log writer: {', '.join(args.writer)}\n"
        f"machine busy before the load (1 s, servers idle): {100 * m.idle_busy:.0f}% of all cores"
    )
    if m.idle_busy > 0.1:
        header += "  <- other processes are using the CPU; expect noisier numbers"
    print()
    print_report(bare, m.runs, header)
    ok = harness.all_answered([bare, *(r.load for r in m.runs)]) and all(
        r.logged == r.load.ok_total for r in m.runs
    )
    return harness.save_results(
        "serve",
        args,
        len(bodies),
        {"isolation": args.isolation, "writer": args.writer, "data": str(data_dir)},
        {
            "machine": {
                "cpus": os.cpu_count(),
                "busy_before_load": round(m.idle_busy, 3),
                "python": platform.python_version(),
                "platform": platform.platform(),
                "packages": {p: package_version(p) for p in ("fastapi", "uvicorn", "sqlalchemy")},
            },
            "model_version": m.version,
            "results": {"bare": bare.summary()} | {r.load.target: r.load.summary() for r in m.runs},
            "ratios": {
                r.load.target: {
                    f"{key}_over_bare": value
                    for key, value in harness.over_bare(r.load, bare).items()
                }
                for r in m.runs
            },
            "logged_check": {
                r.load.target: {
                    "logged": r.logged,
                    "ok_2xx": r.load.ok_total,
                    "match": r.logged == r.load.ok_total,
                    "fallbacks": r.fallbacks,
                    "first_prediction_ms": round(r.first_ms, 1),
                }
                for r in m.runs
            },
        },
        ok,
    )


def main(argv: Sequence[str] | None = None) -> int:
    return harness.run_benchmark(parse_args(argv), benchmark, prefix="tandem-bench-")


if __name__ == "__main__":
    sys.exit(main())
