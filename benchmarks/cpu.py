"""Where a prediction's CPU goes: Tandem's ASGI app and the bare baseline's, driven in
process (no sockets, no HTTP parsing, no load client sharing the cores), CPU time per
request by thread and for the whole process tree (model workers included).

On a shared machine wall-clock figures move with everyone else's load; CPU time per
request moves far less, so this is the benchmark to compare two versions of the code
with, one after the other; benchmarks/serve.py gives the end-to-end figures.

1. trains the ML Editor into a fresh TANDEM_HOME and creates a client key (harness);
2. builds benchmarks/bare_app.py's app, then Tandem's (`create_app`, lifespan started)
   once per `--isolation` value, and sends each `--requests` POST /v1/predict (after a
   warm-up) from `--connections` concurrent tasks, straight into the ASGI app;
3. prints CPU µs per request: the process tree, each thread (the event loop, the store
   writer, the model threads or the workers' I/O thread), the writer's mean batch, and
   the share of model calls sent to a worker in batches. The log's writer runs where
   `tandem serve` runs it (`--writer`; by default a process of its own, its CPU shown
   beside the threads).

Exit status: 0 when every request was answered 200, 1 otherwise, 2 when the setup failed.

Run: .venv/bin/python benchmarks/cpu.py --requests 5000
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import sys
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import bare_app
import uvloop
from harness import (
    MODEL,
    PREDICT_PATH,
    SetupError,
    auth_header,
    default_data_dir,
    isolated_env,
    load_bodies,
    predict_scope,
    run_benchmark,
    train,
)
from loadgen import tree_cpu_s

from tandem.app import create_app
from tandem.settings import load_settings

WARMUP_REQUESTS = 400
Measured = tuple[int, float, dict[str, float], float, float | None, tuple[float, float] | None]
"""(non-200 answers, process tree CPU s, CPU s by thread, wall s, mean writer batch,
(share of model calls sent in batches, their mean batch) when model workers ran)"""


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--requests", type=int, default=5000, help="measured requests per app")
    parser.add_argument("--connections", type=int, default=16, help="concurrent requests")
    parser.add_argument("--questions", type=int, default=400, help="distinct real questions")
    parser.add_argument("--data", type=Path, default=default_data_dir(), help="data folder")
    parser.add_argument(
        "--isolation", choices=("process", "thread"), nargs="+", default=["process", "thread"]
    )
    parser.add_argument(
        "--writer",
        choices=("process", "thread"),
        default="process",
        help="where the log's writer runs (TANDEM_LOG_WRITER; `tandem serve` uses process)",
    )
    args = parser.parse_args(argv)
    if args.requests < 1 or args.connections < 1:
        parser.error("need --requests >= 1 and --connections >= 1")
    return args


def _thread_cpu() -> dict[str, float]:
    """CPU seconds so far of each live thread of this process, by thread name."""
    names = {t.native_id: t.name for t in threading.enumerate()}
    out: dict[str, float] = {}
    tick = os.sysconf("SC_CLK_TCK")
    for task in Path("/proc/self/task").iterdir():
        try:
            fields = (task / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        name = names.get(int(task.name), "other").rstrip("0123456789_-")
        name = name.split("_")[0]  # thread pools number their threads
        out[name] = out.get(name, 0.0) + (int(fields[11]) + int(fields[12])) / tick
    return out


async def _drive(app: Any, bodies: list[bytes], auth: dict[str, str], n: int, conns: int) -> int:
    """Send `n` predictions into `app` from `conns` tasks; the count answered non-200."""
    headers = [
        (b"host", b"127.0.0.1"),
        (b"content-type", b"application/json"),
        *((k.lower().encode(), v.encode()) for k, v in auth.items()),
    ]
    sent, failed = [0], [0]

    async def one(body: bytes) -> None:
        scope = predict_scope(body, headers)
        given = False
        status: list[int] = []

        async def receive() -> dict[str, Any]:
            nonlocal given
            if not given:
                given = True
                return {"type": "http.request", "body": body, "more_body": False}
            await asyncio.Event().wait()  # no disconnect: the answer is awaited
            raise AssertionError

        async def send(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                status.append(message["status"])

        await app(scope, receive, send)
        if status != [200]:
            failed[0] += 1

    async def connection() -> None:
        while sent[0] < n:
            body = bodies[sent[0] % len(bodies)]
            sent[0] += 1
            await one(body)

    await asyncio.gather(*(connection() for _ in range(conns)))
    return failed[0]


async def _measure(
    app: Any, args: argparse.Namespace, bodies: list[bytes], auth: dict[str, str]
) -> Measured:
    lifespan_in: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    lifespan_out: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    await lifespan_in.put({"type": "lifespan.startup"})
    scope = {"type": "lifespan", "asgi": {"version": "3.0"}, "state": {}}
    task = asyncio.create_task(app(scope, lifespan_in.get, lifespan_out.put))
    started = await lifespan_out.get()
    if started["type"] != "lifespan.startup.complete":
        raise SetupError(f"the app did not start: {started}")
    try:
        failed = await _drive(app, bodies, auth, WARMUP_REQUESTS, args.connections)
        writer = getattr(getattr(app.state, "store", None), "_writer", None)
        batches0 = (writer.batches, writer.entries) if writer is not None else None
        pool0 = _pool_counts(app)
        child = getattr(writer, "pid", None)  # the writer's own process, if it has one
        child0 = tree_cpu_s(child) if child else 0.0
        tree0, threads0 = tree_cpu_s(os.getpid()), _thread_cpu()
        wall0 = time.perf_counter()
        failed += await _drive(app, bodies, auth, args.requests, args.connections)
        wall = time.perf_counter() - wall0
        tree, threads = tree_cpu_s(os.getpid()) - tree0, _thread_cpu()
        per_thread = {k: v - threads0.get(k, 0.0) for k, v in threads.items()}
        if child:
            per_thread["writer process"] = tree_cpu_s(child) - child0
        batch = None
        if writer is not None and batches0 is not None:
            done = writer.batches - batches0[0]
            batch = (writer.entries - batches0[1]) / done if done else None
        return failed, tree, per_thread, wall, batch, _model_batches(pool0, _pool_counts(app))
    finally:
        await lifespan_in.put({"type": "lifespan.shutdown"})
        await lifespan_out.get()
        await task


def _pool_counts(app: Any) -> tuple[int, int, int] | None:
    """(calls, batches, calls in batches) of the model workers, when they run."""
    services = getattr(app.state, "services", None)
    isolation = getattr(getattr(services, "predictions", None), "isolation", None)
    if isolation is None or not isolation.started:
        return None
    pool = isolation.pool
    return pool.calls, pool.batches, pool.batched


def _model_batches(
    before: tuple[int, int, int] | None, after: tuple[int, int, int] | None
) -> tuple[float, float] | None:
    if after is None:
        return None
    calls, batches, batched = (a - b for a, b in zip(after, before or (0, 0, 0), strict=True))
    return (batched / calls if calls else 0.0), (batched / batches if batches else 0.0)


def _report(name: str, n: int, result: Measured) -> None:
    failed, tree, per_thread, wall, batch, model = result
    threads = ", ".join(
        f"{k} {1e6 * v / n:.0f}"
        for k, v in sorted(per_thread.items(), key=lambda kv: -kv[1])
        if 1e6 * v / n >= 1
    )
    extra = f"; writer batch {batch:.1f} entries" if batch else ""
    if model is not None:
        extra += f"; {100 * model[0]:.0f} % of model calls in batches (mean {model[1]:.1f})"
    print(
        f"{name:<16} {1e6 * tree / n:6.0f} µs CPU/request (process tree); by thread: "
        f"{threads}{extra}; {1e6 * wall / n:.0f} µs wall/request; non-200: {failed}",
        flush=True,
    )


def _built(build: Callable[[], Any]) -> Any:
    """The app as a server holds it: what exists once it is built is collected once and
    frozen, as `tandem.app.app_from_env` does. Otherwise a full collection walks it all
    during the run (~150 ms of CPU), and one that starts inside an inline model call is
    charged to the model, which then moves to the model threads for good."""
    app = build()
    gc.collect()
    gc.freeze()
    return app


def benchmark(args: argparse.Namespace, home: Path) -> int:
    data_dir: Path = args.data.resolve()
    bodies = load_bodies(data_dir, args.questions)
    env = isolated_env(home, data_dir)
    train(env, data_dir)
    auth = auth_header(env)
    os.environ.update({k: v for k, v in env.items() if k.startswith("TANDEM_")})
    print(
        f"POST {PREDICT_PATH} ({MODEL}) into the ASGI app, {args.requests} requests, "
        f"{args.connections} at a time, {os.cpu_count()} CPUs"
    )
    failed = 0
    runs: list[tuple[str, Any]] = [("bare", bare_app.create_app)]
    for isolation in args.isolation:

        def build(isolation: str = isolation) -> Any:
            os.environ["TANDEM_MODEL_ISOLATION"] = isolation
            os.environ["TANDEM_LOG_WRITER"] = args.writer
            return create_app(load_settings())

        runs.append((f"tandem {isolation}", build))
    for name, build in runs:
        result = uvloop.run(_measure(_built(build), args, bodies, auth))
        _report(name, args.requests, result)
        failed += result[0]
    return 0 if failed == 0 else 1


def main(argv: Sequence[str] | None = None) -> int:
    return run_benchmark(parse_args(argv), benchmark, prefix="tandem-cpu-")


if __name__ == "__main__":
    sys.exit(main())
