"""What concern metrics and an alert check cost on a large log.

Builds a store (SQLite file by default, or --url) with --rows logged predictions, a
share of them routed to review (half of those decided), some fallbacks and bug
reports, then times, best of --repeat:

- every concern of examples/monitoring.toml (nothing_lost included), as
  GET /v1/monitor/concerns computes them;
- one alert check of every rule whose signal this store can read (as the server's timer
  and POST /v1/alerts/check do); the others are named;
- the monitoring gauges /metrics adds.

Run: python benchmarks/concerns.py --rows 1000000
"""

from __future__ import annotations

import argparse
import logging
import random
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from tandem.monitor.monitoring import Monitoring
from tandem.monitor.monitoring_config import load_config
from tandem.store import open_store
from tandem.store import tables as t
from tandem.store.sql import SqlStore

ROOT = Path(__file__).resolve().parent.parent


def fill(store: SqlStore, rows: int, seed: int = 7) -> None:
    rng = random.Random(seed)
    start = datetime.now(UTC) - timedelta(days=2)
    batch: list[dict[str, object]] = []
    reviews: list[dict[str, object]] = []
    feedback: list[dict[str, object]] = []

    def flush() -> None:
        with store.engine.begin() as conn:
            conn.execute(t.predictions.insert(), batch)
            if reviews:
                conn.execute(t.review_items.insert(), reviews)
            if feedback:
                conn.execute(t.feedback.insert(), feedback)
        batch.clear(), reviews.clear(), feedback.clear()

    for i in range(rows):
        at = start + timedelta(seconds=i * 172_800 / rows)
        route = rng.choices(["model", "review", "fallback"], [0.8, 0.18, 0.02])[0]
        pid = f"p{i:031d}"
        batch.append(
            {
                "id": pid,
                "created_at": at,
                "model": "ml-editor",
                "model_version": "v1",
                "input": {},
                "features": {},
                "label": rng.choice(["good", "poor"]),
                "confidence": rng.random(),
                "alternatives": [],
                "explanation": [],
                "suggestions": [],
                "route": route,
                "latency_ms": rng.lognormvariate(0, 0.5),
                "holdout": False,
                "fallback_reason": "timeout" if route == "fallback" else None,
            }
        )
        if route == "review":
            decided = rng.random() < 0.5
            reviews.append(
                {
                    "id": f"r{i:031d}",
                    "prediction_id": pid,
                    "status": "decided" if decided else "pending",
                    "reason": "low_confidence",
                    "created_at": at,
                    "decided_at": at if decided else None,
                }
            )
        if rng.random() < 0.001:
            feedback.append(
                {
                    "id": f"f{i:031d}",
                    "prediction_id": pid,
                    "kind": "bug",
                    "label": None,
                    "comment": "x",
                    "created_at": at,
                }
            )
        if len(batch) == 20_000:
            flush()
    if batch:
        flush()


def best(fn: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--url", help="SQLAlchemy URL of an empty store (default: temp SQLite)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = args.url or f"sqlite:///{tmp}/bench.db"
        store = open_store(url)
        assert isinstance(store, SqlStore)
        started = time.perf_counter()
        fill(store, args.rows)
        print(f"filled {args.rows:,} predictions in {time.perf_counter() - started:.1f} s")
        mon = Monitoring(store, load_config(ROOT / "examples" / "monitoring.toml"))
        values = mon.concern_values()
        for v in values:
            print(f"  {v.name:<22} {v.value!s:<24} ok={v.ok}")
        print(f"concerns (all {len(values)}): {best(mon.concern_values, args.repeat):.3f} s")
        # A rule whose signal needs what this store does not hold (a registered model
        # for quality or drift) would fail at once and make the check look cheap: it is
        # named and left out of the timed check, which fails if no rule remains.
        logging.getLogger("tandem").setLevel(logging.CRITICAL)
        unreadable = {c.rule: c.error for c in mon.check().checks if c.error}
        logging.getLogger("tandem").setLevel(logging.NOTSET)
        for rule, error in unreadable.items():
            print(f"  left out of the timed check: {rule} ({error})")
        mon.rules = [r for r in mon.rules if r.name not in unreadable]
        if not mon.rules:
            sys.exit("FAILED: no alert rule could read its signal")
        print(f"alert check ({len(mon.rules)} rules): {best(mon.check, args.repeat):.3f} s")
        print(f"/metrics monitoring gauges: {best(mon.gauges, args.repeat):.3f} s")
        store.close()


if __name__ == "__main__":
    main()
