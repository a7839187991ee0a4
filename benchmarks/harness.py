"""What the serving benchmarks (serve.py, load.py) share: the trained model, the server
subprocesses, the client key, the load client's options and run, what counts as a
passed run, the ratios and the saved results.

Each benchmark keeps its own steps, table and checks; only the plumbing lives here, so
both measure the same way.
"""

from __future__ import annotations

import argparse
import asyncio
import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import IO, Any

from loadgen import HOST, LoadResult, connections_by_worker, run_load
from pydantic import ValidationError

from tandem.errors import TandemError
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


def add_load_args(parser: argparse.ArgumentParser, seconds: float, warmup: float) -> None:
    """The options of the load itself, the same in every serving benchmark."""
    parser.add_argument("--seconds", type=float, default=seconds, help="measured window per server")
    parser.add_argument("--warmup", type=float, default=warmup, help="warm-up before each window")
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


def check_load_args(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    if args.seconds <= 0 or args.warmup < 0 or not 1 <= args.connections <= 1024:
        parser.error("need --seconds > 0, --warmup >= 0 and 1 <= --connections <= 1024")


def load_config(args: argparse.Namespace, questions: int) -> dict[str, Any]:
    """The load options as the results JSON records them."""
    return {
        "seconds": args.seconds,
        "warmup": args.warmup,
        "connections": args.connections,
        "questions": questions,
        "client_loop": args.client_loop,
    }


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


def predict_scope(body: bytes, headers: Iterable[tuple[bytes, bytes]]) -> dict[str, Any]:
    """The ASGI scope of one POST PREDICT_PATH carrying `body` with `headers` (its
    content-length added), as uvicorn would build it: for driving an app in process."""
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": PREDICT_PATH,
        "raw_path": PREDICT_PATH.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [*headers, (b"content-length", str(len(body)).encode())],
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8000),
        "state": {},
    }


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


def train(env: dict[str, str], data_dir: Path, label: str = "") -> None:
    """`tandem train ml-editor`: the production version the servers will load; says how
    long it took, after `label`."""
    started = time.perf_counter()
    cmd = [sys.executable, "-m", "tandem.cli.main", "train", MODEL, "--data", str(data_dir)]
    done = subprocess.run(cmd, env=env, cwd=REPO, capture_output=True, text=True, timeout=900)
    if done.returncode != 0:
        raise SetupError(f"training failed ({done.returncode}):\n{done.stderr[-2000:]}")
    took = time.perf_counter() - started
    print(f"{label}trained and registered {MODEL} in {took:.1f} s", flush=True)


@dataclass
class Server:
    """A server subprocess in its own session, so a terminal Ctrl-C reaches only us and
    we stop it in order; its output goes to a log file shown when it fails."""

    name: str
    port: int
    proc: subprocess.Popen[bytes]
    log_path: Path
    log: IO[bytes]
    workers: int = 1

    @classmethod
    def start(
        cls,
        name: str,
        cmd: list[str],
        port: int,
        env: dict[str, str],
        logs: Path,
        workers: int = 1,
    ) -> Server:
        log_path = logs / f"{name}.log"
        log = log_path.open("wb")
        proc = subprocess.Popen(
            cmd, env=env, cwd=REPO, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        return cls(name, port, proc, log_path, log, workers)

    @classmethod
    def tandem(cls, name: str, env: dict[str, str], logs: Path, workers: int = 1) -> Server:
        """`tandem serve --workers N` on a free port."""
        port = free_port()
        cmd = [sys.executable, "-m", "tandem.cli.main", "serve", "--port", str(port)]
        return cls.start(name, [*cmd, "--workers", str(workers)], port, env, logs, workers)

    @classmethod
    def bare(cls, name: str, env: dict[str, str], logs: Path, workers: int = 1) -> Server:
        """benchmarks/bare_app.py (the same model work, nothing else) on a free port."""
        port = free_port()
        cmd = [sys.executable, str(BENCH_DIR / "bare_app.py"), "--port", str(port)]
        return cls.start(name, [*cmd, "--workers", str(workers)], port, env, logs, workers)

    def log_tail(self, chars: int = 2000) -> str:
        self.log.flush()
        return self.log_path.read_text(errors="replace")[-chars:]

    def wait_ready(self) -> dict[str, Any]:
        """Poll GET /healthz until 200, and until every worker answers; its JSON names
        the model versions loaded.

        Why every worker: the first answer only says one worker is up. A worker still
        starting accepts no connection, so a load begun then puts every connection on
        the workers already up, and the run measures fewer cores than the server has."""
        deadline = time.monotonic() + READY_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise SetupError(
                    f"{self.name} exited with {self.proc.returncode}:\n{self.log_tail()}"
                )
            try:
                status, doc = get_json(self.port, "/healthz")
                if status == 200 and self.workers_answering() >= self.workers:
                    return doc
            except OSError:
                pass
            time.sleep(0.1)
        raise SetupError(f"{self.name} not ready after {READY_TIMEOUT_S:.0f} s:\n{self.log_tail()}")

    def workers_answering(self, probes: int = 8) -> int:
        """How many workers answered `probes` connections opened one after another and
        held open together (each one answered before the next opens: a worker still
        starting never accepts one)."""
        if self.workers == 1:
            return 1
        held: list[http.client.HTTPConnection] = []
        try:
            for _ in range(probes):
                conn = http.client.HTTPConnection(HOST, self.port, timeout=2)
                held.append(conn)
                conn.request("GET", "/healthz")
                conn.getresponse().read()
            counts = connections_by_worker(self.proc.pid, self.port)
            return sum(1 for count in counts if count > 0)
        finally:
            for conn in held:
                conn.close()

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


class Postgres:
    """A throwaway cluster from scripts/postgres.sh, fsync on (durable commits)."""

    def __init__(self, root: Path) -> None:
        self.dir = root / "pg"
        env = {**os.environ, "TANDEM_PG_FSYNC": "on"}
        done = subprocess.run(
            ["bash", str(REPO / "scripts" / "postgres.sh"), "start", str(self.dir)],
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
        )
        if done.returncode != 0:
            raise SetupError(f"could not start PostgreSQL:\n{done.stderr[-2000:]}")
        self.url = done.stdout.strip().splitlines()[-1]

    @property
    def pid(self) -> int | None:
        try:
            return int((self.dir / "data" / "postmaster.pid").read_text().split()[0])
        except (OSError, ValueError, IndexError):
            return None

    def stop(self) -> None:
        subprocess.run(
            ["bash", str(REPO / "scripts" / "postgres.sh"), "stop", str(self.dir)],
            capture_output=True,
            timeout=120,
        )


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


def loop_factory(name: str) -> Callable[[], asyncio.AbstractEventLoop] | None:
    if name == "uvloop":
        import uvloop

        return uvloop.new_event_loop
    return None


def auth_header(env: dict[str, str]) -> dict[str, str]:
    """The header a client sends: a fresh client key of the store in `env`."""
    return {"Authorization": f"Bearer {client_key(env)}"}


def load(
    args: argparse.Namespace,
    server: Server,
    bodies: list[bytes],
    auth: dict[str, str],
    **options: Any,
) -> LoadResult:
    """One closed-loop run against `server` with the benchmark's load options, as a
    client with a key (`auth_header`; a bare server ignores it, so both get the same
    bytes); `options` go to loadgen.run_load (collect_ids, db_pid)."""
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
                workers=server.workers,
                headers=auth,
                **options,
            )
        )


def all_answered(results: Iterable[LoadResult]) -> bool:
    """Every request of every run answered 2xx, and each run measured some: the
    condition for a benchmark's exit status 0 (with its own store checks)."""
    return all(r.errors_total == 0 and r.measured > 0 for r in results)


def pct(seconds: float | None, window: float) -> str:
    return "-" if seconds is None else f"{100 * seconds / window:.0f}%"


def ratio(a: float, b: float) -> float | None:
    """a / b, or None when b is zero or not a number."""
    return round(a / b, 3) if b and b == b else None


def over_bare(result: LoadResult, bare: LoadResult) -> dict[str, float | None]:
    """Throughput and p50/p99 latency of a run as multiples of the bare run's."""
    return {
        "throughput": ratio(result.requests_per_s, bare.requests_per_s),
        "p50": ratio(result.latency_ms(50), bare.latency_ms(50)),
        "p99": ratio(result.latency_ms(99), bare.latency_ms(99)),
    }


def fmt_ratio(r: float | None) -> str:
    return "-" if r is None else f"{r:.2f}x"


def save_json(kind: str, payload: dict[str, Any]) -> Path:
    """benchmarks/results/<kind>-<timestamp>.json (the folder is gitignored)."""
    out_dir = BENCH_DIR / "results"
    out_dir.mkdir(exist_ok=True)
    path = out_dir / f"{kind}-{datetime.now():%Y%m%d-%H%M%S}.json"
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


def save_results(
    kind: str,
    args: argparse.Namespace,
    questions: int,
    config: dict[str, Any],
    results: dict[str, Any],
    passed: bool,
) -> int:
    """Save the run as benchmarks/results/<kind>-<timestamp>.json, stamped with the time,
    the commit and the load options (`config` adds the benchmark's own), say where, and
    give the exit status: 0 when everything checked out, 1 otherwise."""
    path = save_json(
        kind,
        {
            "timestamp": datetime.now().astimezone().isoformat(timespec="seconds"),
            "commit": git_commit(),
            "config": load_config(args, questions) | config,
            **results,
            "passed": passed,
        },
    )
    print(f"results: {path.relative_to(REPO)}")
    return 0 if passed else 1


def run_benchmark(
    args: argparse.Namespace,
    benchmark: Callable[[argparse.Namespace, Path], int],
    prefix: str,
    mode: int = 0o700,
) -> int:
    """Run `benchmark` in a throwaway folder (`mode`: who may enter it) and map its ends
    to the exit status: its own, 130 on Ctrl-C, 2 when the setup failed."""
    # A plain `kill` should still stop the servers: turn SIGTERM into an exception.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    try:
        with tempfile.TemporaryDirectory(prefix=prefix) as root:
            os.chmod(root, mode)
            return benchmark(args, Path(root))
    except KeyboardInterrupt:
        print("\ninterrupted; servers stopped", file=sys.stderr)
        return 130
    except (SetupError, TandemError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
