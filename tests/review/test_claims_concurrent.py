"""Fifty reviewers working one queue over real HTTP against the real server: every
item is decided exactly once, none is lost, every acknowledged decision is stored,
and items a reviewer walked away from come back once their claims expire."""

from __future__ import annotations

import random
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import httpx
import pytest

from tandem.settings import Settings
from tandem.store import open_store
from tests.conftest import QUESTION, bearer, make_key
from tests.live import running_server

pytestmark = pytest.mark.server

ITEMS = 300
REVIEWERS = 50
WALKERS = 5
"""Reviewers who claim a batch and leave without deciding: their items must come back."""
TTL_S = 2.0


@dataclass
class Log:
    decided: list[tuple[str, str, str]] = field(default_factory=list)  # (item, reviewer, label)
    statuses: Counter[int] = field(default_factory=Counter)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def record(self, status: int, ack: tuple[str, str, str] | None = None) -> None:
        with self.lock:
            self.statuses[status] += 1
            if ack is not None:
                self.decided.append(ack)


def _make_items(url: str, key: str) -> list[str]:
    with httpx.Client(base_url=url, timeout=30, headers=bearer(key)) as http:

        def one(i: int) -> str:
            question = {**QUESTION, "title": f"{QUESTION['title']} ({i})"}
            r = http.post("/v1/predict", json={"model": "ml-editor", "input": question})
            assert r.status_code == 200, r.text
            assert r.json()["review_id"], {k: r.json()[k] for k in ("route", "fallback_reason")}
            return str(r.json()["review_id"])

        with ThreadPoolExecutor(4) as pool:
            return list(pool.map(one, range(ITEMS)))


def _review(
    url: str, name: str, key: str, log: Log, everything: list[str], deadline: float
) -> None:
    """One reviewer with a key of their own: the key's name is who decides."""
    rng = random.Random(name)
    walker = name.startswith("walker")
    with httpx.Client(base_url=url, timeout=30, headers=bearer(key)) as http:
        while time.monotonic() < deadline:
            claimed = http.post("/v1/reviews/claim", json={"count": 3})
            log.record(claimed.status_code)
            items = claimed.json()["items"]
            if walker:
                return  # holds its batch until the claims expire
            if not items:
                if http.get("/v1/reviews", params={"status": "pending"}).json()["total"] == 0:
                    return
                time.sleep(0.1)  # the rest are held by others: decided soon, or expiring
                continue
            for item in items:
                if rng.random() < 0.1:  # try an item that is probably someone else's
                    _decide(http, rng.choice(everything), name, "good", log)
                if rng.random() < 0.05:
                    r = http.post(f"/v1/reviews/{item['id']}/release")
                    log.record(r.status_code)
                    continue
                labels = [a["label"] for a in item["prediction"]["alternatives"]]
                _decide(http, item["id"], name, rng.choice(labels), log)


def _decide(http: httpx.Client, review_id: str, name: str, label: str, log: Log) -> None:
    r = http.post(f"/v1/reviews/{review_id}/decision", json={"label": label})
    log.record(r.status_code, (review_id, name, label) if r.status_code == 200 else None)


def test_fifty_reviewers_decide_every_item_exactly_once(trained_home: Settings) -> None:
    # Every prediction to review, and no fallback answer (which skips review) even
    # when the machine is slow.
    env = {"review_threshold": "1.0", "latency_budget_ms": "60000", "model_workers": "16"}
    names = [f"walker{i}" for i in range(WALKERS)]
    names += [f"reviewer{i}" for i in range(REVIEWERS - WALKERS)]
    keys = {n: make_key(trained_home, "reviewer", n) for n in names}
    client_key = make_key(trained_home, "client", "traffic")
    with running_server(trained_home, workers=2, claim_ttl_s=str(TTL_S), **env) as server:
        created = _make_items(server.url, client_key)
        log = Log()
        deadline = time.monotonic() + 60
        with ThreadPoolExecutor(REVIEWERS) as pool:
            for done in [
                pool.submit(_review, server.url, n, keys[n], log, created, deadline) for n in names
            ]:
                done.result()

    print(f"\n{len(created)} items, {REVIEWERS} reviewers: statuses {dict(log.statuses)}")
    assert set(log.statuses) <= {200, 409}, log.statuses  # no 5xx, no 4xx but conflicts
    per_item = Counter(item for item, _, _ in log.decided)
    assert per_item.most_common(1)[0][1] == 1  # no item decided twice
    assert sorted(per_item) == sorted(created)  # every item decided, walkers' ones too
    store = open_store(trained_home.resolved_database_url)
    try:
        assert store.count_reviews("decided") + store.count_reviews("pending") == len(created)
        assert store.count_reviews("pending") == 0
        for review_id, reviewer, label in log.decided:
            item = store.get_review(review_id)
            assert (item.status, item.reviewer, item.label) == ("decided", reviewer, label)
        labels = Counter(lab.source_id for lab in store.list_labels() if lab.source == "review")
        assert labels == Counter(created)  # exactly one label per decision
    finally:
        store.close()
