"""Second opinions and adjudication: a share of first decisions goes to a second
reviewer who does not see the first answer; a disagreement goes to an admin, whose
label is final. Kappa per model and reviewer pair, seconds per decision per reviewer."""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sklearn.metrics import cohen_kappa_score

from tandem.app import create_app
from tandem.domain import Prediction, ReviewItem
from tandem.ids import new_id
from tandem.monitor.agreement import (
    MIN_KAPPA_ITEMS,
    MIN_TIMED_DECISIONS,
    cohen_kappa,
    pace,
    reviewer_stats,
)
from tandem.review.service import second_opinion_wanted
from tandem.settings import Settings
from tandem.store import open_store
from tandem.store.base import Store
from tandem.store.review_queue import ClaimRequest, Decision
from tests.conftest import bearer, make_key
from tests.rows import log_prediction

LABELS = ("a", "b", "c")


@dataclass
class Team:
    ann: TestClient  # reviewer, named "annabel" (a name no page holds by chance)
    bob: TestClient  # reviewer
    boss: TestClient  # admin
    store: Store


@pytest.fixture
def team_at(settings: Settings) -> Iterator[Any]:
    """`team_at(rate)`: an app with TANDEM_SECOND_OPINION_RATE=rate and three people."""
    opened: list[Any] = []

    def make(rate: float) -> Team:
        app = create_app(settings.model_copy(update={"second_opinion_rate": rate}), families={})
        people = [("annabel", "reviewer"), ("bob", "reviewer"), ("boss", "admin")]
        keys = {n: make_key(settings, r, n) for n, r in people}
        first = TestClient(app, headers=bearer(keys["annabel"]))
        first.__enter__()
        store = open_store(settings.resolved_database_url)
        opened.append((first, store))
        return Team(
            first,
            TestClient(app, headers=bearer(keys["bob"])),
            TestClient(app, headers=bearer(keys["boss"])),
            store,
        )

    yield make
    for client, store in opened:
        client.__exit__(None, None, None)
        store.close()


def _logged(store: Store, label: str = "a", model: str = "m") -> tuple[str, str]:
    """A prediction of `model` (labels a, b, c) waiting for review: (prediction, item)."""
    pid, rid = new_id(), new_id()
    at = datetime.now(UTC)
    log_prediction(
        store,
        Prediction(
            id=pid,
            created_at=at,
            model=model,
            model_version="v1",
            input={"x": 1},
            features={"x": 1.0},
            label=label,
            confidence=0.5,
            alternatives=[{"label": lab, "probability": 1 / 3} for lab in LABELS],
            explanation=[],
            suggestions=[],
            route="review",
            latency_ms=1.0,
        ),
        ReviewItem(rid, pid, "pending", at, "low_confidence"),
    )
    return pid, rid


def _decide(client: TestClient, review_id: str, label: str) -> dict[str, Any]:
    done = client.post(f"/v1/reviews/{review_id}/decision", json={"label": label})
    assert done.status_code == 200, done.text
    body: dict[str, Any] = done.json()
    return body


def _queue(client: TestClient, reason: str) -> list[dict[str, Any]]:
    page = client.get("/v1/reviews", params={"reason": reason, "status": "pending", "limit": 500})
    assert page.status_code == 200, page.text
    items: list[dict[str, Any]] = page.json()["items"]
    return items


def _claim(client: TestClient, **body: Any) -> list[dict[str, Any]]:
    claimed = client.post("/v1/reviews/claim", json={"count": 10, **body})
    assert claimed.status_code == 200, claimed.text
    items: list[dict[str, Any]] = claimed.json()["items"]
    return items


def _answered_twice(
    team: Team, first: str, second: str, model: str = "m", bob_first: bool = False
) -> str:
    """A prediction of `model` that annabel labelled `first` and bob, asked for a
    second opinion, labelled `second` (the other way round with `bob_first`); its id."""
    one, two = (team.bob, team.ann) if bob_first else (team.ann, team.bob)
    pid, rid = _logged(team.store, model=model)
    _decide(one, rid, first)
    [item] = _claim(two)
    _decide(two, item["id"], second)
    return pid


# -- which items get a second opinion ------------------------------------------


@pytest.mark.parametrize(("rate", "expected"), [(0.0, 0), (1.0, 6)])
def test_rate_sends_none_or_all(team_at: Any, rate: float, expected: int) -> None:
    team = team_at(rate)
    made = [_logged(team.store) for _ in range(6)]
    for _pid, rid in made:
        _decide(team.ann, rid, "a")
    second = _queue(team.boss, "second_opinion")
    assert len(second) == expected
    assert {i["prediction_id"] for i in second} <= {pid for pid, _ in made}
    assert all(i["status"] == "pending" for i in second)


def test_sampling_is_a_fixed_share_decided_by_the_prediction_id() -> None:
    rng = random.Random(7)
    ids = [f"{rng.getrandbits(128):032x}" for _ in range(20_000)]
    chosen = [second_opinion_wanted(i, 0.05) for i in ids]
    assert 0.04 < sum(chosen) / len(ids) < 0.06
    assert chosen == [second_opinion_wanted(i, 0.05) for i in ids]  # the same every time
    assert not any(second_opinion_wanted(i, 0.0) for i in ids[:100])
    assert all(second_opinion_wanted(i, 1.0) for i in ids[:100])
    # A higher rate keeps every item a lower one chose: raising it only adds items.
    assert all(second_opinion_wanted(i, 0.2) for i, c in zip(ids, chosen, strict=True) if c)


# -- the second reviewer ---------------------------------------------------------


def test_the_first_reviewer_can_neither_claim_nor_decide_the_second_opinion(
    team_at: Any,
) -> None:
    team = team_at(1.0)
    _pid, rid = _logged(team.store)
    _decide(team.ann, rid, "b")
    [second] = _queue(team.boss, "second_opinion")
    assert _claim(team.ann, reason="second_opinion") == []
    assert _claim(team.ann) == []  # nor in an unaimed claim
    refused = team.ann.post(f"/v1/reviews/{second['id']}/decision", json={"label": "b"})
    assert refused.status_code == 403
    assert "second opinion on your own decision" in refused.json()["error"]["message"]
    assert [i["id"] for i in _claim(team.bob)] == [second["id"]]


def test_the_second_reviewer_does_not_see_the_first_answer(team_at: Any) -> None:
    team = team_at(1.0)
    pid, rid = _logged(team.store)
    _decide(team.ann, rid, "b")
    [claimed] = _claim(team.bob)
    assert claimed["reason"] == "second_opinion"
    assert (claimed["label"], claimed["reviewer"], claimed["answers"]) == (None, None, [])
    views = {
        "claim": claimed,
        "item": team.bob.get(f"/v1/reviews/{claimed['id']}").json(),
        "first item": team.bob.get(f"/v1/reviews/{rid}").json(),
        "prediction": team.bob.get(f"/v1/predictions/{pid}").json(),
        "decided list": team.bob.get("/v1/reviews", params={"status": "decided"}).json(),
        "labels": team.bob.get("/v1/labels").json(),
        "labels file": team.bob.get("/v1/labels", params={"format": "jsonl"}).text,
    }
    for name, view in views.items():
        assert "annabel" not in str(view), name
    first = views["first item"]
    assert (first["status"], first["label"], first["reviewer"]) == ("decided", None, None)
    prediction = views["prediction"]
    assert prediction["final_label"] is None and prediction["labels_hidden"] is True
    for page in (f"/predictions/{pid}", "/review"):
        html = team.bob.get(page).text
        assert "annabel" not in html, page
    assert "hidden while a second opinion is pending" in team.bob.get(f"/predictions/{pid}").text
    # An admin sees everything meanwhile.
    seen = team.boss.get(f"/v1/predictions/{pid}").json()
    assert (seen["final_label"]["author"], seen["labels_hidden"]) == ("annabel", False)
    assert team.boss.get(f"/v1/reviews/{rid}").json()["label"] == "b"
    [row] = team.boss.get("/v1/labels").json()["items"]
    assert (row["prediction_id"], row["label_author"]) == (pid, "annabel")


def test_when_the_two_agree_the_label_stands(team_at: Any) -> None:
    team = team_at(1.0)
    pid = _answered_twice(team, "b", "b")
    assert _queue(team.boss, "adjudication") == []
    assert _queue(team.boss, "second_opinion") == []
    detail = team.bob.get(f"/v1/predictions/{pid}").json()
    assert detail["labels_hidden"] is False and detail["disagreements"] == []
    assert (detail["final_label"]["label"], detail["final_label"]["source"]) == ("b", "review")
    # A second opinion asks for no third one.
    assert team.boss.get("/v1/reviews", params={"status": "pending"}).json()["total"] == 0


def test_a_disagreement_goes_to_an_admin_whose_label_is_final(team_at: Any) -> None:
    team = team_at(1.0)
    pid = _answered_twice(team, "b", "c")
    [adjudication] = _queue(team.boss, "adjudication")
    assert adjudication["prediction_id"] == pid
    answers = {(a["author"], a["label"]) for a in adjudication["answers"]}
    assert answers == {("annabel", "b"), ("bob", "c")}  # the adjudicator sees both

    # Reviewers can neither claim nor decide it, and are told why.
    assert _claim(team.bob) == [] and _claim(team.ann) == []
    aimed = team.bob.post("/v1/reviews/claim", json={"count": 1, "reason": "adjudication"})
    assert aimed.status_code == 403 and "only an admin" in aimed.json()["error"]["message"]
    decided = team.ann.post(f"/v1/reviews/{adjudication['id']}/decision", json={"label": "b"})
    assert decided.status_code == 403
    assert "only an admin may claim or decide it" in decided.json()["error"]["message"]
    page = team.bob.get("/review", params={"reason": "adjudication"})
    assert page.status_code == 403 and "only an admin" in page.text

    [claimed] = _claim(team.boss, reason="adjudication")
    assert claimed["id"] == adjudication["id"] and len(claimed["answers"]) == 2
    _decide(team.boss, claimed["id"], "c")
    detail = team.ann.get(f"/v1/predictions/{pid}").json()
    final = detail["final_label"]
    assert (final["label"], final["source"], final["author"], final["role"]) == (
        "c",
        "adjudication",
        "boss",
        "admin",
    )
    assert [(d["author"], d["label"]) for d in detail["disagreements"]] == [("annabel", "b")]
    assert team.boss.get("/v1/reviews", params={"status": "pending"}).json()["total"] == 0


def test_the_admin_page_shows_both_answers_and_decides(team_at: Any) -> None:
    team = team_at(1.0)
    pid = _answered_twice(team, "b", "c")
    html = team.boss.get("/review", params={"reason": "adjudication"}).text
    assert "Two reviewers disagree" in html
    assert ">annabel</strong>" in html and ">bob</strong>" in html
    [item] = _queue(team.boss, "adjudication")
    done = team.boss.post(f"/review/{item['id']}", data={"label": "b"}, follow_redirects=False)
    assert done.status_code == 303
    final = team.boss.get(f"/v1/predictions/{pid}").json()["final_label"]
    assert (final["label"], final["source"]) == ("b", "adjudication")


# -- kappa and speed ---------------------------------------------------------------


@pytest.mark.parametrize("seed", range(6))
def test_kappa_is_scikit_learns(seed: int) -> None:
    rng = random.Random(seed)
    n = rng.randint(2, 200)
    first = [rng.choice(LABELS[: rng.randint(1, 3)]) for _ in range(n)]
    second = [x if rng.random() < 0.6 else rng.choice(LABELS) for x in first]
    ours = cohen_kappa(first, second)
    if len(set(first) | set(second)) == 1:
        assert ours is None  # undefined: scikit-learn answers nan
    else:
        assert ours == pytest.approx(cohen_kappa_score(first, second), abs=1e-12)


def test_kappa_per_model_and_pair_on_the_quality_figures(team_at: Any) -> None:
    """Double reviews made through the API: kappa per model and per reviewer pair is
    scikit-learn's on the same labels, and too few items say so."""
    team = team_at(1.0)
    rng = random.Random(3)
    pairs: list[tuple[str, str]] = []
    for _ in range(MIN_KAPPA_ITEMS + 4):
        first = rng.choice(LABELS)
        second = first if rng.random() < 0.7 else rng.choice(LABELS)
        _answered_twice(team, first, second)
        pairs.append((first, second))
        for adjudication in _claim(team.boss, reason="adjudication"):
            _decide(team.boss, adjudication["id"], second)
    # Another model, with one double review (bob's first this time).
    _answered_twice(team, "a", "a", model="n", bob_first=True)

    health = team.boss.app.state.services.health  # the service the pages use
    stats = health.reviewers(None)
    expected = cohen_kappa_score([a for a, _ in pairs], [b for _, b in pairs])
    by_model = {a.name: a for a in stats.by_model}
    assert by_model["m"].items == len(pairs)
    assert by_model["m"].agreed == sum(a == b for a, b in pairs)
    assert by_model["m"].kappa == pytest.approx(expected, abs=1e-4)
    assert (by_model["n"].items, by_model["n"].kappa) == (1, None)  # too few to tell
    [pair] = stats.by_pair  # annabel & bob, whichever of them went first
    assert pair.name == "annabel & bob" and pair.items == len(pairs) + 1
    both = [*pairs, ("a", "a")]
    assert pair.kappa == pytest.approx(
        cohen_kappa_score([a for a, _ in both], [b for _, b in both]), abs=1e-4
    )
    report = team.boss.get("/report").text
    assert f"{by_model['m'].kappa:.2f}" in report and "too few to tell" in report


def test_seconds_per_decision_run_from_the_claim_or_the_previous_decision(
    store: Store,
) -> None:
    t0 = datetime(2026, 3, 2, 9, tzinfo=UTC)
    hour = timedelta(hours=1)
    made = [_logged(store)[1] for _ in range(MIN_TIMED_DECISIONS + 4)]
    # One item at a time: 4 s from each claim to its decision.
    at = t0
    for rid in made[:4]:
        [(item, _p)] = store.claim_reviews(ClaimRequest("ann", 1, at, at + hour))
        assert item.id == rid
        store.decide_review(Decision(rid, "a", "ann", None, at + timedelta(seconds=4)))
        at += timedelta(seconds=60)
    # A batch of six claimed at once, decided 3 s apart: 3 s each, not 3, 6, 9, ...
    batch = store.claim_reviews(ClaimRequest("ann", 6, at, at + hour))
    for i, (item, _p) in enumerate(batch, 1):
        store.decide_review(Decision(item.id, "a", "ann", None, at + timedelta(seconds=3 * i)))
    # Renewing a claim does not restart its clock.
    at += timedelta(seconds=100)
    [(item, _p)] = store.claim_reviews(ClaimRequest("bob", 1, at, at + hour))
    store.claim_reviews(ClaimRequest("bob", 1, at + timedelta(seconds=5), at + hour))
    store.decide_review(Decision(item.id, "a", "bob", None, at + timedelta(seconds=8)))
    # Decided without a claim, or over another reviewer's lapsed claim: not timed.
    rest = [rid for rid in made if store.get_review(rid).status == "pending"]
    store.decide_review(Decision(rest[0], "a", "bob", None, at + timedelta(seconds=20)))
    store.claim_reviews(ClaimRequest("ann", 1, at, at + timedelta(seconds=1)))
    store.decide_review(Decision(rest[1], "a", "bob", None, at + timedelta(seconds=30)))

    timed = store.decision_times(None, None, None)
    assert len(timed) == 11
    assert ("bob", 8.0) in {
        (d.reviewer, (d.decided_at - d.claimed_at).total_seconds()) for d in timed
    }

    stats = reviewer_stats(store)
    paced = {p.reviewer: p for p in stats.pace}
    assert paced["ann"].decisions == 10 and paced["ann"].median_s == pytest.approx(3.0)
    assert paced["bob"].decisions == 1 and paced["bob"].median_s is None  # too few to tell
    # Within a window: only decisions made in it.
    early = pace(store.decision_times("m", t0, t0 + timedelta(seconds=200)))
    assert [(p.reviewer, p.decisions) for p in early] == [("ann", 4)]


def test_undo_withdraws_the_second_opinion_it_called_for(team_at: Any) -> None:
    """Undoing a first decision takes its pending second opinion out of the queue; once
    the second reviewer has answered, the first decision can no longer be undone."""
    team = team_at(1.0)
    _pid, rid = _logged(team.store)
    _decide(team.ann, rid, "b")
    assert len(_queue(team.boss, "second_opinion")) == 1
    undone = team.ann.post(f"/v1/reviews/{rid}/undo")
    assert undone.status_code == 200, undone.text
    assert _queue(team.boss, "second_opinion") == []
    counts = team.boss.get("/v1/reviews", params={"status": "pending"}).json()
    assert counts["total"] == 1  # the first item only, pending again

    _decide(team.ann, rid, "b")
    [second] = _claim(team.bob)
    _decide(team.bob, second["id"], "b")
    refused = team.ann.post(f"/v1/reviews/{rid}/undo")
    assert refused.status_code == 409
    assert "second_opinion it called for" in refused.json()["error"]["message"]
