"""Concern metrics over real logged traffic, and nothing_lost noticing a lost or
mangled review item."""

from __future__ import annotations

import math
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from tandem.settings import Settings
from tandem.store import open_store
from tandem.store.base import PredictionFilter
from tests.conftest import QUESTION, app_client
from tests.conftest import predict as predict_ml_editor
from tests.monitor.helpers import concern, execute, fake_app, predict
from tests.rows import intake_rows

ROOT = Path(__file__).resolve().parents[2]
CONCERNS = Path(__file__).with_name("concerns.toml")


@pytest.fixture
def review_all(settings: Settings) -> Iterator[tuple[TestClient, Settings]]:
    """The fake model with every prediction sent to review, and the concerns in
    concerns.toml beside this file."""
    s = settings.model_copy(
        update={
            "review_threshold": 1.0,
            "concerns_file": CONCERNS,
            "alert_interval_s": 0.0,
        }
    )
    with fake_app(s) as client:
        yield client, s


def test_nothing_lost_is_zero_when_every_item_is_accounted_for(
    review_all: tuple[TestClient, Settings],
) -> None:
    client, _ = review_all
    bodies = [predict(client, f"text {i}") for i in range(4)]
    decided = client.post(
        f"/v1/reviews/{bodies[0]['review_id']}/decision", json={"label": "b", "reviewer": "ann"}
    )
    assert decided.status_code == 200
    value = concern(client, "nothing_lost")
    assert (value["value"], value["ok"], value["expected"]) == (0, True, {"equals": 0})
    review = value["parts"]["review_items"]
    assert (review["created"], review["decided"], review["pending"]) == (4, 1, 3)
    assert value["parts"]["requests"]["measured"] is True  # the intake ledger
    assert value["parts"]["requests"]["missing"] == 0


def test_an_acknowledged_prediction_missing_from_the_log_is_counted(
    review_all: tuple[TestClient, Settings],
) -> None:
    """The request half: the intake ledger says a request was answered, but its
    prediction is not in the predictions table (a bad script or disk lost it)."""
    client, settings = review_all
    for i in range(3):
        predict(client, f"text {i}")
    later = (datetime.now(UTC) + timedelta(minutes=1)).isoformat()
    ok = concern(client, "nothing_lost", until=later)
    assert ok["value"] == 0, ok["parts"]
    assert ok["parts"]["requests"]["received"] == 3
    execute(
        settings,
        "INSERT INTO intake (id, received_at, model, outcome, prediction_id, status_code) "
        "SELECT 'ghost', received_at, model, 'answered', 'no-such-prediction', 200 "
        "FROM intake WHERE outcome = 'answered' LIMIT 1",
    )
    lost = concern(client, "nothing_lost", until=later)
    assert (lost["value"], lost["ok"]) == (1, False)
    requests = lost["parts"]["requests"]
    assert (requests["received"], requests["answered"], requests["missing"]) == (4, 3, 1)


def test_a_window_never_splits_a_request_from_its_prediction(
    review_all: tuple[TestClient, Settings],
) -> None:
    """A request arrives, then is scored and logged: a window ending between the two
    must put both on the same side, or nothing_lost reads 1 for a request nothing lost
    (seen in a crash test whose check ran while its window's end crossed live load)."""
    client, settings = review_all
    for i in range(3):
        predict(client, f"text {i}")
    store = open_store(settings.resolved_database_url, migrate=False)
    try:
        arrivals = {i.prediction_id: i.received_at for i in intake_rows(store)}
        logged = store.list_predictions(PredictionFilter(model="fake"))
    finally:
        store.close()
    assert {p.id: p.created_at for p in logged} == arrivals
    for p in logged:
        for cut in (p.created_at, p.created_at + timedelta(microseconds=1)):
            value = concern(client, "nothing_lost", until=cut.isoformat())
            assert value["value"] == 0, value["parts"]


@pytest.mark.parametrize(
    ("sql", "unexpected"),
    [
        ("DELETE FROM review_items WHERE id = :rid", {}),
        ("UPDATE review_items SET status = 'misplaced' WHERE id = :rid", {"misplaced": 1}),
    ],
)
def test_nothing_lost_sees_a_lost_or_mangled_review_item(
    review_all: tuple[TestClient, Settings], sql: str, unexpected: dict[str, int]
) -> None:
    client, settings = review_all
    bodies = [predict(client, f"text {i}") for i in range(3)]
    assert execute(settings, sql, rid=bodies[1]["review_id"]) == 1
    value = concern(client, "nothing_lost")
    assert (value["value"], value["ok"]) == (1, False)
    review = value["parts"]["review_items"]
    assert (review["created"], review["pending"], review["missing"]) == (3, 2, 1)
    assert review["unexpected_status"] == unexpected


def test_an_extra_review_item_is_a_difference_too(review_all: tuple[TestClient, Settings]) -> None:
    client, settings = review_all
    body = predict(client)
    execute(
        settings,
        "INSERT INTO review_items (id, prediction_id, status, reason, created_at) "
        "SELECT 'extra', prediction_id, 'pending', reason, created_at FROM review_items "
        "WHERE id = :rid",
        rid=body["review_id"],
    )
    value = concern(client, "nothing_lost")
    assert value["value"] == 1 and value["parts"]["review_items"]["missing"] == -1


def test_configured_concerns_match_the_log(review_all: tuple[TestClient, Settings]) -> None:
    client, settings = review_all
    bodies = [predict(client, "x" * n) for n in range(1, 8)]
    for body in bodies[:2]:
        client.post(
            f"/v1/reviews/{body['review_id']}/decision", json={"label": "a", "reviewer": "ann"}
        )
    store = open_store(settings.resolved_database_url, migrate=False)
    logged = store.list_predictions(PredictionFilter(model="fake"))
    store.close()
    latencies = sorted(p.latency_ms for p in logged)
    share_a = concern(client, "share_a")
    assert share_a["value"] == pytest.approx(sum(p.label == "a" for p in logged) / len(logged))
    assert share_a["parts"] == {"matching": len(logged), "among": len(logged)}  # p_a = 0.7
    assert share_a["ok"] is False and share_a["expected"] == {"max": 0.5}
    p95 = concern(client, "latency_p95")
    assert p95["value"] == pytest.approx(latencies[math.ceil(0.95 * len(latencies)) - 1])
    assert concern(client, "reviewed")["value"] == 2
    oldest = concern(client, "oldest_pending_s")
    first_pending = min(p.created_at for p in logged if p.id not in {b["id"] for b in bodies[:2]})
    until = datetime.fromisoformat(oldest["window"]["until"])
    assert oldest["value"] == pytest.approx((until - first_pending).total_seconds(), abs=1e-3)


def test_a_window_counts_only_what_happened_in_it(review_all: tuple[TestClient, Settings]) -> None:
    client, _ = review_all
    predict(client)
    middle = datetime.now(UTC).isoformat()
    for _ in range(2):
        predict(client)
    later = concern(client, "nothing_lost", since=middle)
    assert later["parts"]["review_items"]["created"] == 2
    assert later["window"]["span"] == "custom"
    earlier = concern(client, "nothing_lost", until=middle)
    assert earlier["parts"]["review_items"]["created"] == 1
    empty = concern(client, "share_a", until=middle, since="2000-01-01T00:00:00")
    assert empty["parts"]["among"] == 1


@pytest.mark.parametrize(
    ("query", "says"),
    [
        ({"since": "2030-01-02T00:00:00", "until": "2030-01-01T00:00:00"}, "since must be before"),
        ({"since": "yesterday"}, "since"),
    ],
)
def test_bad_windows_are_422(
    review_all: tuple[TestClient, Settings], query: dict[str, str], says: str
) -> None:
    client, _ = review_all
    response = client.get("/v1/monitor/concerns", params=query)
    assert response.status_code == 422 and says in response.json()["error"]["message"]


def test_built_in_concerns_on_the_ml_editor(client: TestClient) -> None:
    """The defaults (no TANDEM_CONCERNS_FILE) over real predictions of the real model."""
    for _ in range(3):
        predict_ml_editor(client, QUESTION)
    names = [c["name"] for c in client.get("/v1/monitor/concerns").json()["concerns"]]
    assert names == ["nothing_lost", "fallback_rate", "review_backlog_age_s"]
    assert concern(client, "fallback_rate")["parts"] == {"matching": 0, "among": 3}
    assert concern(client, "nothing_lost")["ok"] is True


def test_the_example_file_on_the_ml_editor(trained_home: Settings) -> None:
    settings = trained_home.model_copy(
        update={"concerns_file": ROOT / "examples" / "monitoring.toml", "alert_interval_s": 0.0}
    )
    with app_client(settings) as c:
        labels = [predict_ml_editor(c, QUESTION)["label"] for _ in range(2)]
        poor = concern(c, "share_poor")
        assert poor["value"] == labels.count("poor") / 2
        assert poor["parts"]["among"] == 2
        assert concern(c, "low_confidence_p50")["value"] is not None
        rules = {r["name"] for r in c.get("/v1/alerts/rules").json()}
        assert {"nothing_lost", "latency_p99", "error_rate", "fallback_rate"} <= rules
        assert "share_poor" not in rules  # alert = false
