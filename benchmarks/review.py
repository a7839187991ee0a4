"""What the review queue costs as it grows: p95 of each reviewer request at 100,000,
1,000,000 and 10,000,000 pending items.

One store (a temporary SQLite file, or --url for an empty PostgreSQL database) is
seeded through the store's own batch write (`add_predictions`, --batch entries a
transaction, as the group-commit writer writes them) up to each size in turn, and at
each size these are timed, --requests times each, in process through Starlette's
TestClient (the whole FastAPI stack, routing, auth and templates, without a socket):

- GET /v1/reviews: the first page; a page at a deep cursor (half-way down the queue,
  reached by one cursor taken there, not by paging); the first page filtered by model
  and reason; filtered by model and predicted label sorted by priority;
- GET /review: the review page, which claims the reviewer's batch of 5 on each load;
- POST /v1/reviews/claim {"count": 1, "model": ...}: a claim, by a new reviewer each time;
- POST /v1/reviews/{id}/decision: deciding a claimed item.

Each request must answer 200, or the run stops with the response. Seeding is not timed.

Run: python benchmarks/review.py [--sizes 100000,1000000,10000000] [--url URL]
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from fastapi.testclient import TestClient

from tandem.app import create_app
from tandem.auth.keys import create_key
from tandem.domain import Prediction, ReviewItem
from tandem.review.queue import encode_cursor
from tandem.settings import Settings
from tandem.store import open_store
from tandem.store.prediction_log import LogEntry

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


def entries(first: int, count: int, rng: random.Random) -> list[LogEntry]:
    """Predictions `first`.. each with a pending review item, one a second apart."""
    out = []
    models, reasons = list(MODELS), list(REASONS)
    weights = list(REASONS.values())
    for i in range(first, first + count):
        at = START + timedelta(seconds=i)
        model = models[0] if rng.random() < 0.6 else rng.choice(models[1:])
        label = rng.choice(MODELS[model])
        confidence = round(rng.random(), 6)
        pid = f"p{i:031d}"
        offered = [{"label": lab, "probability": 0.0} for lab in MODELS[model]]
        prediction = Prediction(
            pid, at, model, "v1", {}, {}, label, confidence, offered, [], [], "review", 1.0
        )
        reason = rng.choices(reasons, weights)[0]
        review = ReviewItem(f"r{i:031d}", pid, "pending", at, reason)
        out.append(LogEntry(prediction, review))
    return out


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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="100000,1000000,10000000")
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--batch", type=int, default=20_000)
    parser.add_argument("--url", help="SQLAlchemy URL of an empty store (default: temp SQLite)")
    args = parser.parse_args()
    sizes = sorted(int(s) for s in args.sizes.split(","))
    rng = random.Random(7)
    with tempfile.TemporaryDirectory() as tmp:
        url = args.url or f"sqlite:///{tmp}/bench.db"
        settings = Settings(home=Path(tmp) / "home", database_url=url)
        store = open_store(url)
        keys = [create_key(store, "reviewer", f"bench-{n}")[1] for n in range(args.requests)]
        app = create_app(settings, families={})
        results: dict[int, dict[str, tuple[float, float]]] = {}
        seeded = 0
        with TestClient(app, headers=_bearer(keys[0])) as client:
            for size in sizes:
                started = time.perf_counter()
                while seeded < size:
                    count = min(args.batch, size - seeded)
                    store.add_predictions(entries(seeded, count, rng))
                    seeded += count
                print(
                    f"seeded {seeded:,} pending in {time.perf_counter() - started:.0f} s "
                    f"({store.engine.dialect.name})",
                    flush=True,
                )
                results[size] = measure(client, size, args.requests, keys)
                for name, (median, high) in results[size].items():
                    print(f"  {name:<30} median {median:6.1f} ms   p95 {high:6.1f} ms", flush=True)
        store.close()
    print()
    print("| request | " + " | ".join(f"{s:,} pending" for s in sizes) + " |")
    print("|---|" + "---|" * len(sizes))
    for name in results[sizes[0]]:
        cells = " | ".join(f"{results[s][name][1]:.1f}" for s in sizes)
        print(f"| {name} (p95 ms) | {cells} |")


if __name__ == "__main__":
    main()
