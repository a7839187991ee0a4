"""What the app's pure-ASGI middleware cost a prediction request: each layer alone and the
five together, against the same request with none (the baseline of the same run).

The layers are Tandem's own classes, built as `tandem.app.create_app` stacks them
(security headers, intake ledger, same-origin check, body limit, input gate), around an
inner app that stands for the prediction route: it reads the body, marks the request's
intake row as written (as the prediction service does) and answers 200. Each request is
a POST /v1/predict with a real question as its body and the headers the load client
sends, driven on one event loop (uvloop), one request at a time: no model, no store, no
sockets, so what is left is the layers' own work. CPU time per request
(`time.process_time`), the median of `--rounds` rounds run round robin.

Exit status: 0 when every request was answered 200, 1 otherwise.

Run: .venv/bin/python benchmarks/middleware.py --requests 30000
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time
from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path
from typing import cast

import uvloop
from harness import (
    PREDICT_PATH,
    REPO,
    default_data_dir,
    git_commit,
    load_bodies,
    predict_scope,
    save_json,
)
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from tandem.predict.service import PredictionService
from tandem.settings import Settings
from tandem.web.gate import InputGate
from tandem.web.headers import SecurityHeaders
from tandem.web.intake import IntakeLedger, ticket
from tandem.web.limits import BodyLimit, read_body
from tandem.web.origin import SameOrigin

LAYERS: dict[str, Callable[[ASGIApp], ASGIApp]] = {
    "security headers": SecurityHeaders,
    # Failure rows only: every request here is answered, so no service is called.
    "intake ledger": lambda app: IntakeLedger(app, predictions=cast(PredictionService, None)),
    "same origin": SameOrigin,
    "body limit": lambda app: BodyLimit(app, max_bytes=Settings().max_body_bytes),
    "input gate": InputGate,
}
"""Outermost first, as create_app stacks them."""


async def route(scope: Scope, receive: Receive, send: Send) -> None:
    """Stands for the prediction route: reads the body, answers a small JSON 200."""
    await read_body(receive)
    t = ticket(scope)
    if t is not None:
        t.recorded = True  # its intake row went with the prediction
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [(b"content-type", b"application/json"), (b"content-length", b"2")],
        }
    )
    await send({"type": "http.response.body", "body": b"{}"})


def stacked(names: Sequence[str]) -> ASGIApp:
    app: ASGIApp = route
    for name in reversed(names):
        app = LAYERS[name](app)
    return app


HEADERS = (
    (b"host", b"127.0.0.1:8000"),
    (b"content-type", b"application/json"),
    (b"authorization", b"Bearer tdm_benchmark_key"),
)
"""What the load client sends with every prediction (content-length aside)."""


async def drive(app: ASGIApp, bodies: list[bytes], requests: int) -> int:
    """Send `requests` predictions through `app`, one at a time; how many were not 200."""
    failed = 0
    for i in range(requests):
        body = bodies[i % len(bodies)]
        status: list[int] = []
        scope = predict_scope(body, HEADERS)

        async def receive(body: bytes = body) -> Message:
            return {"type": "http.request", "body": body, "more_body": False}

        async def send(message: Message, status: list[int] = status) -> None:
            if message["type"] == "http.response.start":
                status.append(message["status"])

        await app(scope, receive, send)
        failed += status != [200]
    return failed


def measure(app: ASGIApp, bodies: list[bytes], requests: int) -> tuple[float, int]:
    """CPU µs per request, and how many were not answered 200."""
    started = time.process_time()
    failed = uvloop.run(drive(app, bodies, requests))
    return (time.process_time() - started) / requests * 1e6, failed


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--requests", type=int, default=30000, help="requests per round")
    parser.add_argument("--rounds", type=int, default=3, help="rounds, run round robin")
    parser.add_argument("--questions", type=int, default=400, help="distinct real questions")
    parser.add_argument("--data", type=Path, default=default_data_dir(), help="data folder")
    args = parser.parse_args(argv)
    if args.requests < 1 or args.rounds < 1:
        parser.error("need --requests >= 1 and --rounds >= 1")
    bodies = load_bodies(args.data.resolve(), args.questions)
    stacks: dict[str, list[str]] = {"none (baseline)": []}
    stacks.update({name: [name] for name in LAYERS})
    stacks["all five"] = list(LAYERS)
    apps = {label: stacked(names) for label, names in stacks.items()}
    measure(apps["all five"], bodies, min(args.requests, 2000))  # warm-up, not counted
    times: dict[str, list[float]] = {label: [] for label in apps}
    failed = 0
    for _ in range(args.rounds):
        for label, app in apps.items():
            us, bad = measure(app, bodies, args.requests)
            times[label].append(us)
            failed += bad
    median = {label: statistics.median(values) for label, values in times.items()}
    base = median["none (baseline)"]
    print(
        f"POST {PREDICT_PATH} through the app's middleware, {args.requests} requests a round, "
        f"{args.rounds} rounds; {os.cpu_count()} CPUs; Python {platform.python_version()}"
    )
    print(f"{'layers':<20}{'µs CPU/request':>16}{'over none':>11}")
    for label, us in median.items():
        over = "" if label == "none (baseline)" else f"+{us - base:.2f}"
        print(f"{label:<20}{us:>16.2f}{over:>11}")
    print(f"not answered 200: {failed}")
    path = save_json(
        "middleware",
        {
            "timestamp": datetime.now().astimezone().isoformat(timespec="seconds"),
            "commit": git_commit(),
            "config": {"requests": args.requests, "rounds": args.rounds},
            "us_per_request": {label: round(us, 3) for label, us in median.items()},
            "failed": failed,
        },
    )
    print(f"results: {path.relative_to(REPO)}")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
