"""Nothing acknowledged is lost when the server dies: the real `tandem serve` under
concurrent load (predictions, feedback, claims and decisions) is SIGKILLed mid-way,
restarted on the same store, and every answer a client received is checked against
what the store holds."""

from __future__ import annotations

import random
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from tandem.settings import Settings
from tandem.store import open_store
from tandem.store.base import PredictionFilter, Store
from tandem_examples.ml_editor.data import read_questions
from tests.conftest import ANSWER_ONLY, as_logged, bearer, make_key
from tests.live import Server

pytestmark = pytest.mark.server

PREDICTORS, FEEDBACKERS, REVIEWERS = 6, 3, 3
KEYS: dict[str, str] = {}
"""An API key per client role and per reviewer (the key's name is who decides)."""


@dataclass
class Load:
    """What clients sent and what the server acknowledged, per kind of request."""

    sent: Counter[str] = field(default_factory=Counter)
    acked: Counter[str] = field(default_factory=Counter)
    in_flight: Counter[str] = field(default_factory=Counter)  # no answer: the kill
    refused: Counter[str] = field(default_factory=Counter)  # after the kill
    underway: int = 0  # requests a client thread is sending or waiting on right now
    predictions: dict[str, dict[str, Any]] = field(default_factory=dict)
    feedback: dict[str, str] = field(default_factory=dict)  # feedback id -> prediction id
    decisions: dict[str, tuple[str, str]] = field(default_factory=dict)  # item -> who, label
    lock: threading.Lock = field(default_factory=threading.Lock)
    stop: threading.Event = field(default_factory=threading.Event)

    def post(
        self, kind: str, http: httpx.Client, url: str, body: dict[str, Any]
    ) -> httpx.Response | None:
        """POST and count it; None once the server is gone (and then every client stops)."""
        with self.lock:
            self.sent[kind] += 1
            self.underway += 1
        try:
            response = http.post(url, json=body)
        except httpx.ConnectError:
            with self.lock:
                self.refused[kind] += 1
            self.stop.set()
            return None
        except httpx.TransportError:  # sent, then the connection died with the server
            with self.lock:
                self.in_flight[kind] += 1
            self.stop.set()
            return None
        finally:
            with self.lock:
                self.underway -= 1
        if response.is_success:
            with self.lock:
                self.acked[kind] += 1
        return response


def _predictor(url: str, load: Load, questions: list[dict[str, str]], seed: int) -> None:
    rng = random.Random(seed)
    with httpx.Client(base_url=url, timeout=30, headers=bearer(KEYS["client"])) as http:
        while not load.stop.is_set():
            question = rng.choice(questions)
            body = {"model": "ml-editor", "input": question}
            r = load.post("predict", http, "/v1/predict", body)
            if r is not None:
                assert r.status_code == 200, r.text
                with load.lock:
                    load.predictions[r.json()["id"]] = r.json()


def _feedbacker(url: str, load: Load, seed: int) -> None:
    rng = random.Random(seed)
    with httpx.Client(base_url=url, timeout=30, headers=bearer(KEYS["client"])) as http:
        while not load.stop.is_set():
            with load.lock:
                known = list(load.predictions)
            if not known:
                time.sleep(0.01)
                continue
            pid = rng.choice(known)
            kind = rng.choice(["correct", "incorrect"])
            r = load.post("feedback", http, f"/v1/predictions/{pid}/feedback", {"kind": kind})
            if r is not None:
                assert r.status_code == 201, r.text
                with load.lock:
                    load.feedback[r.json()["id"]] = pid


def _reviewer(url: str, load: Load, name: str) -> None:
    rng = random.Random(name)
    with httpx.Client(base_url=url, timeout=30, headers=bearer(KEYS[name])) as http:
        while not load.stop.is_set():
            r = load.post("claim", http, "/v1/reviews/claim", {"count": 2})
            if r is None:
                return
            for item in r.json()["items"]:
                label = rng.choice([a["label"] for a in item["prediction"]["alternatives"]])
                decision = {"label": label}
                d = load.post("decision", http, f"/v1/reviews/{item['id']}/decision", decision)
                if d is None:
                    return
                assert d.status_code == 200, d.text
                with load.lock:
                    load.decisions[item["id"]] = (name, label)
            if not r.json()["items"]:
                time.sleep(0.02)


def assert_nothing_lost(base_url: str, store: Store) -> None:
    """Tandem's 'nothing lost' invariant: every prediction routed to review has exactly
    one review item (pending or decided), every item its prediction, and every decided
    item exactly one label from its decision. Checked in the store itself; `base_url`
    is where the same figure is served as a concern metric (GET /v1/monitor/concerns,
    `nothing_lost`, which must read 0)."""
    routed = store.list_predictions(PredictionFilter(route="review", limit=1_000_000))
    items = [item for item, _ in store.list_reviews(None, limit=1_000_000)]
    # A fallback answer keeps its route and may also go to a person (reason `fallback`).
    people = [i for i in items if i.reason != "fallback"]
    assert Counter(i.prediction_id for i in people) == Counter(p.id for p in routed)
    for item in items:
        if item.reason == "fallback":
            assert store.get_prediction(item.prediction_id).route == "fallback", item
    decided = {i.id for i in items if i.status == "decided"}
    labels = Counter(lab.source_id for lab in store.list_labels() if lab.source == "review")
    assert labels == Counter(decided)
    assert len(decided) + store.count_reviews("pending") == len(items)
    concerns = httpx.get(
        f"{base_url}/v1/monitor/concerns", headers=bearer(KEYS["admin"]), timeout=30
    )
    assert concerns.status_code == 200, concerns.text
    (lost,) = [c for c in concerns.json()["concerns"] if c["name"] == "nothing_lost"]
    assert (lost["value"], lost["ok"]) == (0, True), lost


def _check_acknowledged(server: Server, load: Load, store: Store) -> None:
    with httpx.Client(base_url=server.url, timeout=30, headers=bearer(KEYS["admin"])) as http:
        for pid, answer in load.predictions.items():  # through the restarted server
            stored = http.get(f"/v1/predictions/{pid}")
            assert stored.status_code == 200, f"acknowledged prediction {pid} was lost"
            assert as_logged(stored.json()) == {
                k: v for k, v in answer.items() if k not in ANSWER_ONLY
            }
            if answer["review_id"]:
                assert store.get_review(answer["review_id"]).prediction_id == pid
    for fid, pid in load.feedback.items():
        assert fid in {f.id for f in store.list_feedback(pid)}, f"feedback {fid} was lost"
    for review_id, (reviewer, label) in load.decisions.items():
        item = store.get_review(review_id)
        assert (item.status, item.reviewer, item.label) == ("decided", reviewer, label)


@pytest.mark.parametrize("workers", [1, 2])
def test_acknowledged_work_survives_sigkill(
    trained_home: Settings, data_dir: Path, workers: int
) -> None:
    questions = [
        {"title": q.title, "body": q.body}
        for q in read_questions(data_dir / "stackexchange" / "ai" / "Posts.xml")[:300]
    ]
    KEYS.update(
        {role: make_key(trained_home, role, f"crash-{role}") for role in ("client", "admin")}
    )
    KEYS.update({f"r{i}": make_key(trained_home, "reviewer", f"r{i}") for i in range(REVIEWERS)})
    server = Server(trained_home, {"TANDEM_REVIEW_THRESHOLD": "0.8"}, workers)
    server.start()
    try:
        load = Load()
        threads = [
            *(
                threading.Thread(target=_predictor, args=(server.url, load, questions, i))
                for i in range(PREDICTORS)
            ),
            *(
                threading.Thread(target=_feedbacker, args=(server.url, load, i))
                for i in range(FEEDBACKERS)
            ),
            *(
                threading.Thread(target=_reviewer, args=(server.url, load, f"r{i}"))
                for i in range(REVIEWERS)
            ),
        ]
        for thread in threads:
            thread.start()
        started = time.monotonic()
        deadline = started + 30
        while time.monotonic() < deadline and not (
            load.acked["predict"] >= 200 and load.acked["decision"] >= 20
        ):
            time.sleep(0.05)
        loaded = time.monotonic() - started
        # Mid-way: on a machine busy with other work the client threads can all sit
        # between requests for a moment, so wait until several are underway.
        busy_until = time.monotonic() + 10
        while load.underway < PREDICTORS and time.monotonic() < busy_until:
            time.sleep(0.001)
        killed = server.kill()
        for thread in threads:
            thread.join(timeout=60)
        print(
            f"\nafter {loaded:.1f} s of load, killed pids {killed}: sent {dict(load.sent)}, "
            f"acknowledged {dict(load.acked)}, in flight at the kill {dict(load.in_flight)}, "
            f"refused after {dict(load.refused)}"
        )
        assert load.acked["predict"] >= 200 and load.acked["decision"] >= 20
        assert sum(load.in_flight.values()) > 0  # the kill did land mid-request

        server.start()  # same port, same store
        store = open_store(trained_home.resolved_database_url)
        try:
            _check_acknowledged(server, load, store)
            # Stored: every acknowledged prediction, some in flight, none never sent.
            assert load.acked["predict"] <= store.count_predictions() <= load.sent["predict"]
            assert_nothing_lost(server.url, store)
        finally:
            store.close()
    finally:
        server.stop()
