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
against the same bare baseline: the cost of worker processes, from one run.

Exit status: 0 when every request succeeded and the logged count matches, 1 otherwise,
2 when the setup failed, 130 on Ctrl-C.

Run: .venv/bin/python benchmarks/serve.py --seconds 10
"""

from __future__ import annotations

import argparse
import asyncio
import http.client
import json
import os
import platform
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from importlib.metadata import version as package_version
from pathlib import Path
from typing import IO, Any

from loadgen import HOST, LoadResult, machine_busy_over, run_load
from pydantic import ValidationError

from tandem.errors import TandemError
from tandem.settings import Settings
from tandem.store import open_store
from tandem_examples.ml_editor.data import find_dumps, read_questions
from tandem_examples.ml_editor.schema import Question

BENCH_DIR = Path(__file__).resolve().parent
REPO = BENCH_DIR.parent
MODEL = "ml-editor"
PREDICT_PATH = "/v1/predict"
READY_TIMEOUT_S = 60.0
STOP_TIMEOUT_S = 10.0


class SetupError(Exception):
    """The benchmark could not get as far as measuring."""


def default_data_dir() -> Path:
    """TANDEM_DATA_DIR, else ../shared/data next to the repository (as Tandem's default)."""
    env = os.environ.get("TANDEM_DATA_DIR")
    return Path(env) if env else REPO.parent / "shared" / "data"


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Benchmark Tandem's /v1/predict against a bare FastAPI baseline."
    )
    parser.add_argument("--seconds", type=float, default=10.0, help="measured window per server")
    parser.add_argument("--warmup", type=float, default=2.0, help="warm-up before each window")
    parser.add_argument("--connections", type=int, default=16, help="concurrent connections")
    parser.add_argument("--data", type=Path, default=default_data_dir(), help="data folder")
    parser.add_argument(
        "--questions", type=int, default=400, help="distinct real questions to cycle through"
    )
    parser.add_argument(
        "--client-loop",
        choices=("uvloop", "asyncio"),
        default="uvloop",
        help="event loop of the load generator (uvloop keeps the client cheaper)",
    )
    parser.add_argument(
        "--isolation",
        choices=("process", "thread", "model"),
        nargs="+",
        default=["model"],
        help="TANDEM_MODEL_ISOLATION for Tandem, one Tandem run per value, in turn, in "
        "this run ('model': unset, each model its own); e.g. --isolation thread process",
    )
    args = parser.parse_args(argv)
    if args.seconds <= 0 or args.warmup < 0 or not 1 <= args.connections <= 1024:
        parser.error("need --seconds > 0, --warmup >= 0 and 1 <= --connections <= 1024")
    return args


def load_bodies(data_dir: Path, count: int) -> list[bytes]:
    """Request bodies from real questions, interleaved across sites so every stretch of
    the cycle mixes short and long posts; only inputs the model accepts, so any non-2xx
    in the run is a real error, not a bad sample."""
    per_site: list[list[bytes]] = []
    for dump in find_dumps(data_dir):
        bodies = []
        for q in read_questions(dump):
            try:
                Question.model_validate({"title": q.title, "body": q.body})
            except ValidationError:
                continue
            doc = {"model": MODEL, "input": {"title": q.title, "body": q.body}}
            bodies.append(json.dumps(doc).encode())
        per_site.append(bodies)
    out: list[bytes] = []
    for i in range(max(map(len, per_site), default=0)):
        out.extend(site[i] for site in per_site if i < len(site))
    if not out:
        raise SetupError(f"no usable questions under {data_dir}")
    return out[:count]


def free_port() -> int:
    """A port nobody listens on right now (the OS picks it)."""
    with socket.socket() as s:
        s.bind((HOST, 0))
        port: int = s.getsockname()[1]
        return port


def isolated_env(home: Path, data_dir: Path) -> dict[str, str]:
    """The environment for every subprocess: only this run's TANDEM_* settings count."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TANDEM_")}
    env.update(TANDEM_HOME=str(home), TANDEM_DATA_DIR=str(data_dir), PYTHONUNBUFFERED="1")
    return env


def client_key(env: dict[str, str]) -> str:
    """`tandem keys create --role client`: predict needs a key (its last output line)."""
    cmd = [sys.executable, "-m", "tandem.cli.main", "keys", "create"]
    cmd += ["--role", "client", "--name", "benchmark"]
    done = subprocess.run(cmd, env=env, cwd=REPO, capture_output=True, text=True, timeout=60)
    if done.returncode != 0:
        raise SetupError(f"creating a key failed ({done.returncode}):\n{done.stderr[-2000:]}")
    return done.stdout.splitlines()[-1]


def train(env: dict[str, str], data_dir: Path) -> None:
    """`tandem train ml-editor`: the production version both servers will load."""
    cmd = [sys.executable, "-m", "tandem.cli.main", "train", MODEL, "--data", str(data_dir)]
    done = subprocess.run(cmd, env=env, cwd=REPO, capture_output=True, text=True, timeout=900)
    if done.returncode != 0:
        raise SetupError(f"training failed ({done.returncode}):\n{done.stderr[-2000:]}")


@dataclass
class Server:
    """A server subprocess in its own session, so a terminal Ctrl-C reaches only us and
    we stop it in order; its output goes to a log file shown when it fails."""

    name: str
    port: int
    proc: subprocess.Popen[bytes]
    log_path: Path
    log: IO[bytes]

    @classmethod
    def start(cls, name: str, cmd: list[str], port: int, env: dict[str, str], logs: Path) -> Server:
        log_path = logs / f"{name}.log"
        log = log_path.open("wb")
        proc = subprocess.Popen(
            cmd, env=env, cwd=REPO, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        return cls(name, port, proc, log_path, log)

    def log_tail(self, chars: int = 2000) -> str:
        self.log.flush()
        return self.log_path.read_text(errors="replace")[-chars:]

    def wait_ready(self) -> dict[str, Any]:
        """Poll GET /healthz until 200; its JSON names the model versions loaded."""
        deadline = time.monotonic() + READY_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise SetupError(
                    f"{self.name} exited with {self.proc.returncode}:\n{self.log_tail()}"
                )
            try:
                status, doc = get_json(self.port, "/healthz")
                if status == 200:
                    return doc
            except OSError:
                pass
            time.sleep(0.1)
        raise SetupError(f"{self.name} not ready after {READY_TIMEOUT_S:.0f} s:\n{self.log_tail()}")

    def stop(self) -> None:
        """SIGTERM (uvicorn finishes in-flight requests), then SIGKILL if it hangs."""
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(STOP_TIMEOUT_S)
        self.log.close()


def get_json(port: int, path: str) -> tuple[int, dict[str, Any]]:
    """GET over plain http.client (no proxy settings apply to it, unlike urllib)."""
    conn = http.client.HTTPConnection(HOST, port, timeout=2)
    try:
        conn.request("GET", path)
        response = conn.getresponse()
        body = response.read()
        return response.status, json.loads(body) if body else {}
    finally:
        conn.close()


def first_prediction(server: Server, body: bytes, auth: dict[str, str]) -> tuple[float, str | None]:
    """One prediction before the load: (milliseconds, its fallback reason). With worker
    processes the first call starts them, which no warm-up should have to absorb."""
    conn = http.client.HTTPConnection(HOST, server.port, timeout=READY_TIMEOUT_S)
    try:
        started = time.perf_counter()
        headers = {"Content-Type": "application/json", **auth}
        conn.request("POST", PREDICT_PATH, body, headers)
        response = conn.getresponse()
        answer = response.read()
        if response.status != 200:
            raise SetupError(f"{server.name}: the first prediction answered {response.status}")
        reason: str | None = json.loads(answer)["fallback_reason"]
        return (time.perf_counter() - started) * 1000, reason
    finally:
        conn.close()


def logged_predictions(home: Path) -> int:
    """How many predictions of the model are in the run's store."""
    settings = Settings(home=home)
    store = open_store(settings.resolved_database_url, migrate=False)
    try:
        return store.count_predictions(MODEL)
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
            if model == MODEL and route == "fallback":
                key = (reason or "?").split(":")[0]
                out[key] = out.get(key, 0) + n
        return out
    finally:
        store.close()


def _pct(seconds: float | None, window: float) -> str:
    return "-" if seconds is None else f"{100 * seconds / window:.0f}%"


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
            f"{_pct(r.client_cpu_s, r.duration_s):>12}{_pct(r.server_cpu_s, r.duration_s):>12}"
            f"{busy:>9}{size:>8}"
        )
    for run in runs:
        t = run.load
        print(
            f"{t.target + '/bare':<18}{fmt_ratio(t.requests_per_s, bare.requests_per_s):>9}"
            f"{fmt_ratio(t.latency_ms(50), bare.latency_ms(50)):>9}"
            f"{fmt_ratio(t.latency_ms(99), bare.latency_ms(99)):>9}"
        )
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


def ratio(a: float, b: float) -> float | None:
    """a / b, or None when b is zero or not a number."""
    return round(a / b, 3) if b and b == b else None


def fmt_ratio(a: float, b: float) -> str:
    r = ratio(a, b)
    return "-" if r is None else f"{r:.2f}x"


def save_json(payload: dict[str, Any]) -> Path:
    """benchmarks/results/serve-<timestamp>.json (the folder is gitignored)."""
    out_dir = BENCH_DIR / "results"
    out_dir.mkdir(exist_ok=True)
    path = out_dir / f"serve-{datetime.now():%Y%m%d-%H%M%S}.json"
    path.write_text(json.dumps(payload, indent=2) + "\n")
    return path


def git_commit() -> str | None:
    try:
        done = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True, text=True
        )
    except OSError:
        return None
    return done.stdout.strip() or None


def loop_factory(name: str) -> Callable[[], asyncio.AbstractEventLoop] | None:
    if name == "uvloop":
        import uvloop

        return uvloop.new_event_loop
    return None


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


def _load(
    args: argparse.Namespace, server: Server, bodies: list[bytes], auth: dict[str, str]
) -> LoadResult:
    with asyncio.Runner(loop_factory=loop_factory(args.client_loop)) as runner:
        return runner.run(
            run_load(
                server.name,
                server.port,
                PREDICT_PATH,
                bodies,
                connections=args.connections,
                warmup_s=args.warmup,
                duration_s=args.seconds,
                server_pid=server.proc.pid,
                headers=auth,
            )
        )


def measure(args: argparse.Namespace, home: Path, bodies: list[bytes]) -> Measurement:
    """Train, start bare and load it, then each Tandem in turn (one server at a time
    under load); always stop the servers."""
    data_dir: Path = args.data.resolve()
    env = isolated_env(home, data_dir)
    started = time.perf_counter()
    train(env, data_dir)
    print(f"trained and registered {MODEL} in {time.perf_counter() - started:.1f} s", flush=True)
    # Both servers get the same bytes; the bare app ignores the key, Tandem checks it.
    auth = {"Authorization": f"Bearer {client_key(env)}"}

    servers: list[Server] = []
    runs: list[TandemRun] = []
    try:
        bare_port = free_port()
        bare_cmd = [sys.executable, str(BENCH_DIR / "bare_app.py"), "--port", str(bare_port)]
        bare_srv = Server.start("bare", bare_cmd, bare_port, env, home)
        servers.append(bare_srv)
        version = bare_srv.wait_ready()["models"].get(MODEL)
        idle_busy = machine_busy_over(1.0)  # the bare server idle: what else is running?
        print(f"bare up ({MODEL} {version}); loading it", flush=True)
        bare = _load(args, bare_srv, bodies, auth)
        bare_srv.stop()
        for n, isolation in enumerate(args.isolation):
            port = free_port()
            cmd = [sys.executable, "-m", "tandem.cli.main", "serve", "--port", str(port)]
            tandem_env = dict(env)
            if isolation != "model":
                tandem_env["TANDEM_MODEL_ISOLATION"] = isolation
            name = "tandem" if args.isolation == ["model"] else f"tandem {isolation}"
            if args.isolation.count(isolation) > 1:  # each run its own name in the JSON
                name += f" #{args.isolation[: n + 1].count(isolation)}"
            server = Server.start(name, cmd, port, tandem_env, home)
            servers.append(server)
            served = server.wait_ready()["models"].get(MODEL)
            if served is None or served != version:
                raise SetupError(f"the servers do not serve the same {MODEL} version: {served}")
            before, fallen_before = logged_predictions(home), fallbacks(home)
            first_ms, first_reason = first_prediction(server, bodies[0], auth)
            if first_reason is not None:  # counted with the run's by the store
                key = first_reason.split(":")[0]
                fallen_before[key] = fallen_before.get(key, 0) + 1
            print(f"{name} up, first prediction in {first_ms:.0f} ms; loading it", flush=True)
            load = _load(args, server, bodies, auth)
            server.stop()  # counted after: any request still in flight has finished by now
            fallen = {
                k: n - fallen_before.get(k, 0)
                for k, n in fallbacks(home).items()
                if n > fallen_before.get(k, 0)
            }
            logged = logged_predictions(home) - before - 1  # not the first prediction
            runs.append(TandemRun(isolation, load, logged, fallen, first_ms))
    finally:
        for server in reversed(servers):
            server.stop()
    return Measurement(version, idle_busy, bare, runs)


def benchmark(args: argparse.Namespace, home: Path) -> int:
    """Measure, print the table, save the JSON; 0 only when everything checked out."""
    data_dir: Path = args.data.resolve()
    bodies = load_bodies(data_dir, args.questions)
    m = measure(args, home, bodies)
    bare = m.bare
    header = (
        f"POST {PREDICT_PATH} ({MODEL} {m.version}), {len(bodies)} real questions, "
        f"{args.connections} keep-alive connections, {args.warmup:g} s warm-up + "
        f"{args.seconds:g} s measured per server\n"
        f"{os.cpu_count()} CPUs, Python {platform.python_version()}, client loop "
        f"{args.client_loop}, 1 uvicorn worker each (uvloop, httptools, no access log), "
        f"model isolation: {', '.join(args.isolation)} ('model': each model its own)\n"
        f"machine busy before the load (1 s, servers idle): {100 * m.idle_busy:.0f}% of all cores"
    )
    if m.idle_busy > 0.1:
        header += "  <- other processes are using the CPU; expect noisier numbers"
    print()
    print_report(bare, m.runs, header)
    ok = bare.errors_total == 0 and all(
        r.load.errors_total == 0 and r.logged == r.load.ok_total for r in m.runs
    )
    path = save_json(
        {
            "timestamp": datetime.now().astimezone().isoformat(timespec="seconds"),
            "commit": git_commit(),
            "config": {
                "seconds": args.seconds,
                "warmup": args.warmup,
                "connections": args.connections,
                "questions": len(bodies),
                "client_loop": args.client_loop,
                "isolation": args.isolation,
                "data": str(data_dir),
            },
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
                    "throughput_over_bare": ratio(r.load.requests_per_s, bare.requests_per_s),
                    "p50_over_bare": ratio(r.load.latency_ms(50), bare.latency_ms(50)),
                    "p99_over_bare": ratio(r.load.latency_ms(99), bare.latency_ms(99)),
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
            "passed": ok,
        }
    )
    print(f"results: {path.relative_to(REPO)}")
    return 0 if ok else 1


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    # A plain `kill` should still stop the servers: turn SIGTERM into an exception.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    try:
        with tempfile.TemporaryDirectory(prefix="tandem-bench-") as home:
            return benchmark(args, Path(home))
    except KeyboardInterrupt:
        print("\ninterrupted; servers stopped", file=sys.stderr)
        return 130
    except (SetupError, TandemError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
