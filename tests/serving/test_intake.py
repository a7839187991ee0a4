"""Every POST /v1/predict leaves exactly one intake row: answered with its prediction,
or failed with the status and error code the client was sent."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from tandem.domain import Intake
from tandem.settings import Settings
from tandem.store import open_store
from tests.conftest import QUESTION, app_client, predict
from tests.rows import intake_rows, settled
from tests.serving.test_fallback import _client as fake_client
from tests.store.test_batch_writes import break_store, mend_store


def _intake(client: TestClient) -> list[Intake]:
    store = client.app.state.store  # type: ignore[attr-defined]
    rows: list[Intake] = intake_rows(store)
    return rows


def _only_row(client: TestClient, **request: Any) -> Intake:
    response = client.post("/v1/predict", **request)
    rows = _intake(client)
    assert len(rows) == 1, rows
    assert rows[0].status_code == response.status_code
    return rows[0]


def test_answered_request_is_stored_with_its_prediction(client: TestClient) -> None:
    p = predict(client)
    (row,) = _intake(client)
    assert (row.outcome, row.prediction_id, row.model, row.status_code) == (
        "answered",
        p["id"],
        "ml-editor",
        200,
    )
    assert row.received_at.isoformat() <= str(p["created_at"]).replace("Z", "+00:00")


@pytest.mark.parametrize(
    ("request_kwargs", "status", "code", "model"),
    [
        ({"json": {"model": "nope", "input": QUESTION}}, 404, "unknown_model", "nope"),
        (
            {"json": {"model": "ml-editor", "input": {"title": "t"}}},
            422,
            "invalid_input",
            "ml-editor",
        ),
        ({"json": {"model": "ml-editor"}}, 422, "invalid_request", "ml-editor"),
        ({"json": {"input": QUESTION}}, 422, "invalid_request", None),
        (
            {"content": b'{"model": "ml-', "headers": {"content-type": "application/json"}},
            422,
            "invalid_request",
            None,
        ),
        (
            {"content": b"\xff\xfe", "headers": {"content-type": "application/json"}},
            400,
            "bad_request",
            None,
        ),
        (
            {"json": {"model": "ml-editor", "input": {"body": "x" * 300_000}}},
            413,
            "payload_too_large",
            None,
        ),
    ],
    ids=[
        "unknown-model",
        "invalid-input",
        "missing-field",
        "no-model",
        "malformed-json",
        "not-utf8",
        "too-large",
    ],
)
def test_refused_request_leaves_a_failed_row(
    client: TestClient,
    request_kwargs: dict[str, Any],
    status: int,
    code: str,
    model: str | None,
) -> None:
    response = client.post("/v1/predict", **request_kwargs)
    assert response.status_code == status, response.text
    sent = response.json()["error"]
    assert sent["code"] == code
    (row,) = _intake(client)
    assert (row.outcome, row.status_code, row.error_code, row.model) == (
        "failed",
        status,
        code,
        model,
    )
    assert row.message == sent["message"] and row.prediction_id is None


def test_other_routes_and_methods_leave_no_row(client: TestClient) -> None:
    assert client.get("/v1/predict").status_code == 405
    assert client.get("/healthz").status_code == 200
    assert _intake(client) == []


def test_unavailable_model_is_recorded(settings: Settings) -> None:
    with fake_client(settings, "raise", fallback=False) as c:
        row = _only_row(c, json={"model": "fake", "input": {"text": "hi"}})
    assert (row.outcome, row.status_code, row.error_code, row.model) == (
        "failed",
        503,
        "model_unavailable",
        "fake",
    )


def test_prediction_that_could_not_be_stored_is_a_503_and_a_failed_row(
    trained_home: Settings,
) -> None:
    with app_client(trained_home) as c:
        predict(c)
        store = c.app.state.store  # type: ignore[attr-defined]
        break_store(store, "predictions")
        try:
            response = c.post("/v1/predict", json={"model": "ml-editor", "input": QUESTION})
        finally:
            mend_store(store, "predictions")
        assert response.status_code == 503
        assert response.json()["error"]["code"] == "store_error"
        assert "not answered" in response.json()["error"]["message"]
        predict(c)  # and the service carries on
    store = open_store(trained_home.resolved_database_url)
    try:
        counts = store.intake_counts()
        assert counts == settled(answered=2, failed=1)
        assert len(store.list_prediction_ids()) == 2
        assert intake_rows(store)[1].error_code == "store_error"
    finally:
        store.close()


def test_received_is_answered_plus_failed(client: TestClient) -> None:
    sent = 0
    for i in range(12):
        model = "ml-editor" if i % 3 else "unknown"
        client.post("/v1/predict", json={"model": model, "input": QUESTION})
        sent += 1
    store = client.app.state.store  # type: ignore[attr-defined]
    counts = store.intake_counts()
    assert counts["received"] == sent == counts["answered"] + counts["failed"]
    assert counts["answered"] == 8 == len(store.list_prediction_ids(model="ml-editor"))
    assert counts["answered_unlogged"] == 0
