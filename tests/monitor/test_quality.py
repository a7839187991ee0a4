"""Quality over time from real reviews and feedback through the API, across two days:
the model, the rule baseline on the same items, and agreement between two people."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient
from sklearn.metrics import f1_score

from tandem.domain import ReviewItem
from tandem.ids import new_id
from tandem.monitor.quality import f1_macro, quality_over_time
from tandem.settings import Settings
from tandem.store.base import LogEntry
from tests.conftest import bearer, make_key
from tests.monitor.test_drift_live import held_out

TWO_DAYS_AGO = datetime.now(UTC) - timedelta(days=2)


def _predict(client: TestClient, data: dict[str, Any]) -> dict[str, Any]:
    response = client.post("/v1/predict", json={"model": "digits", "input": data})
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def _logged_earlier(client: TestClient, body: dict[str, Any]) -> dict[str, Any]:
    """The same prediction as if made two days ago (the API always logs "now"), with its
    review item pending like any other."""
    store = client.app.state.store  # type: ignore[attr-defined]
    old = replace(store.get_prediction(body["id"]), id=new_id(), created_at=TWO_DAYS_AGO)
    review = ReviewItem(new_id(), old.id, "pending", old.created_at, "low_confidence")
    store.add_predictions([LogEntry(old, review)])
    return {**body, "id": old.id, "review_id": review.id}


def _decide(client: TestClient, item: dict[str, Any], label: str, reviewer: str) -> None:
    url = f"/v1/reviews/{item['review_id']}/decision"
    response = client.post(url, json={"label": label, "reviewer": reviewer})
    assert response.status_code == 200, response.text


def _feedback(
    client: TestClient, item: dict[str, Any], kind: str, label: str | None, key: str
) -> None:
    url = f"/v1/predictions/{item['id']}/feedback"
    response = client.post(url, json={"kind": kind, "label": label}, headers=bearer(key))
    assert response.status_code == 201, response.text


@pytest.fixture
def labelled(
    digits_client: TestClient, trained_home: Settings, data_dir: Path
) -> dict[str, list[tuple[str, str, str]]]:
    """Three items two days ago and three today, each decided by a reviewer; one a day
    also gets client feedback. Returns per day (model label, truth, baseline label)."""
    inputs = held_out("digits", data_dir)[:6]
    bodies = [_predict(digits_client, x) for x in inputs]
    items = [_logged_earlier(digits_client, b) for b in bodies[:3]] + bodies[3:]
    second = [b["alternatives"][1]["label"] for b in bodies]
    # Reviewers: the model's label, except items 0 and 3 where they pick the runner-up.
    truth = [second[i] if i in (0, 3) else b["label"] for i, b in enumerate(bodies)]
    for i, item in enumerate(items):
        _decide(digits_client, item, truth[i], "ann" if i % 2 else "bob")
    # Feedback, a second person: disagrees on item 1 (kept as a disagreement: the
    # reviewer's label stays final); agrees on item 4. It comes from a client's key, so
    # it counts as another person than the reviewers.
    shop = make_key(trained_home, "client", "shop")
    _feedback(digits_client, items[1], "incorrect", second[1], shop)
    _feedback(digits_client, items[4], "correct", None, shop)

    services = digits_client.app.state.services  # type: ignore[attr-defined]
    predictor = services.models.get("digits", bodies[0]["model_version"])
    rules = [
        predictor.labels[
            int(np.argmax(predictor.fallback(predictor.input_schema(**x)).probabilities))
        ]
        for x in inputs
    ]
    rows = [(b["label"], truth[i], rules[i]) for i, b in enumerate(bodies)]
    return {"earlier": rows[:3], "today": rows[3:]}


def _expected(rows: list[tuple[str, str, str]], who: int) -> tuple[float, float]:
    truth = [r[1] for r in rows]
    answers = [r[who] for r in rows]
    accuracy = sum(a == t for a, t in zip(answers, truth, strict=True)) / len(rows)
    return round(accuracy, 4), round(float(f1_score(truth, answers, average="macro")), 4)


def test_quality_per_day_model_baseline_and_people(
    digits_client: TestClient, labelled: dict[str, list[tuple[str, str, str]]]
) -> None:
    response = digits_client.get("/v1/monitor/quality", params={"model": "digits", "by": "day"})
    assert response.status_code == 200, response.text
    body = response.json()
    earlier, middle, today = body["periods"]
    assert earlier["label"] == TWO_DAYS_AGO.date().isoformat() and middle["items"] == 0
    assert (earlier["items"], today["items"], body["overall"]["items"]) == (3, 3, 6)
    for period, rows in ((earlier, labelled["earlier"]), (today, labelled["today"])):
        assert (period["model"]["accuracy"], period["model"]["f1_macro"]) == _expected(rows, 0)
        assert (period["baseline"]["accuracy"], period["baseline"]["f1_macro"]) == _expected(
            rows, 2
        )
        assert period["model"]["n"] == period["baseline"]["n"] == 3
        assert (period["reviewed"], period["feedback"], period["holdout"]) == (3, 1, 0)
    assert (earlier["agreement"], earlier["agreement_items"]) == (0.0, 1)  # item 1: disagree
    assert (today["agreement"], today["agreement_items"]) == (1.0, 1)  # item 4: agree
    assert body["overall"]["agreement"] == 0.5 and body["has_baseline"] is True


def test_quality_by_week_and_window(
    digits_client: TestClient, labelled: dict[str, list[tuple[str, str, str]]]
) -> None:
    weeks = digits_client.get("/v1/monitor/quality", params={"model": "digits", "by": "week"})
    periods = weeks.json()["periods"]
    assert sum(p["items"] for p in periods) == 6 and all("-W" in p["label"] for p in periods)
    since = (datetime.now(UTC) - timedelta(hours=1)).isoformat()
    recent = digits_client.get("/v1/monitor/quality", params={"model": "digits", "since": since})
    assert [p["items"] for p in recent.json()["periods"]] == [3]


def test_quality_page_plots_it(
    digits_client: TestClient, labelled: dict[str, list[tuple[str, str, str]]]
) -> None:
    page = digits_client.get("/monitor/quality", params={"model": "digits"})
    assert page.status_code == 200 and "<svg" in page.text
    table = page.text.split('<table class="quality">')[1].split("</table>")[0]
    assert table.count("<tr") == 1 + 3 + 1  # header, three days, overall


@pytest.mark.parametrize(
    ("params", "status"),
    [
        ({"model": "spam"}, 404),
        ({"model": "digits", "by": "month"}, 422),
        ({"model": "digits", "since": "2026-02-01", "until": "2026-01-01"}, 422),
        ({"model": "digits", "until": "yesterday"}, 422),
    ],
)
def test_quality_bad_requests(
    digits_client: TestClient, params: dict[str, str], status: int
) -> None:
    response = digits_client.get("/v1/monitor/quality", params=params)
    assert response.status_code == status and response.json()["error"]["message"]


def test_no_labels_yet_is_an_empty_report(digits_client: TestClient) -> None:
    store = digits_client.app.state.store  # type: ignore[attr-defined]
    report = quality_over_time(store, "ml-editor")
    assert report.periods == () and report.overall.items == 0
    assert report.overall.model.accuracy is None
    assert any("no labelled predictions" in n for n in report.notes)


def test_f1_macro_equals_scikit_learns() -> None:
    rng = np.random.default_rng(3)
    for _ in range(20):
        truth = [str(v) for v in rng.integers(0, 4, 30)]
        answers = [str(v) for v in rng.integers(0, 5, 30)]
        assert f1_macro(truth, answers) == pytest.approx(
            f1_score(truth, answers, average="macro", zero_division=0)
        )
