"""Drafts: each re-score of a writer's draft is its next revision; the suggestions of
one revision are judged followed or ignored from the next; writers rate suggestions
through the feedback route. Anonymous use only with TANDEM_EDITOR_ACCESS=public."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tandem.app import create_app
from tandem.settings import Settings
from tandem.store.base import Store
from tandem.store.editor_store import SuggestionFeedbackFilter
from tandem.store.writer_process import ProcessWriter
from tests.conftest import app_client

POOR = {
    "title": "sorting broken",
    "body": "Hi all. My sort returns the list unsorted. THANKS SO MUCH for any help!",
}


def _score(client: TestClient, draft: str | None, question: dict[str, str]) -> Any:
    body: dict[str, Any] = {"model": "ml-editor", "input": question}
    if draft is not None:
        body["draft"] = draft
    response = client.post("/v1/predict", json=body)
    assert response.status_code == 200, response.text
    return response.json()


def _store(client: TestClient) -> Store:
    store: Store = client.app.state.store  # type: ignore[attr-defined]
    return store


def _good(answer: dict[str, Any]) -> float:
    return next(a["probability"] for a in answer["alternatives"] if a["label"] == "good")


def test_revisions_are_numbered_and_linked(client: TestClient) -> None:
    first = _score(client, "d-1", POOR)
    second = _score(client, "d-1", {**POOR, "title": "Why is my sort broken?"})
    other = _score(client, "d-2", POOR)
    plain = _score(client, None, POOR)
    assert (first["draft"], first["revision"]) == ("d-1", 1)
    assert (second["draft"], second["revision"]) == ("d-1", 2)
    assert (other["revision"], plain["draft"], plain["revision"]) == (1, None, None)
    latest, prediction = _store(client).latest_revision("d-1")  # type: ignore[misc]
    assert (latest.prediction_id, latest.previous_id) == (second["id"], first["id"])
    assert latest.author == "test-admin" and latest.score == pytest.approx(_good(second))
    assert prediction.id == second["id"]


def test_a_draft_answer_carries_highlights_a_plain_one_does_not(client: TestClient) -> None:
    drafted = _score(client, "d-h", POOR)
    assert drafted["highlights"], "the greeting and the shouted thanks pull the score down"
    for h in drafted["highlights"]:
        assert POOR[h["field"]][h["start"] : h["end"]] == h["text"] and h["reason"]
    assert _score(client, None, POOR)["highlights"] == []


def test_the_next_revision_says_which_suggestions_were_followed(client: TestClient) -> None:
    first = _score(client, "d-f", POOR)
    ids = [s["id"] for s in first["suggestions"]]
    assert "title_question" in ids
    fix = next(s["fix"] for s in first["suggestions"] if s["id"] == "title_question")
    second = _score(client, "d-f", {**POOR, fix["field"]: fix["value"]})
    rows = _store(client).list_suggestion_outcomes(SuggestionFeedbackFilter(first["id"]))
    assert {r.suggestion for r in rows} == {s for s in ids}
    by_id = {r.suggestion: r for r in rows}
    assert by_id["title_question"].followed is True
    assert all(r.followed is False for sid, r in by_id.items() if sid != "title_question")
    change = _good(second) - _good(first)
    assert change > 0
    assert all(r.score_change == pytest.approx(change, abs=1e-6) for r in rows)
    assert all(
        (r.draft, r.next_prediction_id, r.author) == ("d-f", second["id"], "test-admin")
        for r in rows
    )
    assert _store(client).list_suggestion_ratings(SuggestionFeedbackFilter(first["id"])) == []


def test_an_unchanged_revision_infers_nothing(client: TestClient) -> None:
    first = _score(client, "d-same", POOR)
    second = _score(client, "d-same", POOR)
    assert second["revision"] == 2
    assert _store(client).list_suggestion_outcomes(SuggestionFeedbackFilter(first["id"])) == []


def test_outcomes_reach_the_store_through_a_writer_process(trained_home: Settings) -> None:
    settings = trained_home.model_copy(update={"log_writer": "process"})
    with app_client(settings) as c:
        assert isinstance(_store(c)._writer, ProcessWriter)  # type: ignore[attr-defined]
        first = _score(c, "d-p", POOR)
        second = _score(c, "d-p", {**POOR, "title": "Why is my sort broken?"})
        rows = _store(c).list_suggestion_outcomes(SuggestionFeedbackFilter(first["id"]))
    advised = {s["id"] for s in first["suggestions"] if s["feature"]}
    assert advised and {r.suggestion for r in rows} == advised
    by_id = {r.suggestion: r for r in rows}
    assert by_id["title_question"].followed is True
    assert all((r.draft, r.next_prediction_id) == ("d-p", second["id"]) for r in rows)


def test_writers_rate_a_suggestion_through_the_feedback_route(client: TestClient) -> None:
    answer = _score(client, "d-r", POOR)
    sid = answer["suggestions"][0]["id"]
    url = f"/v1/predictions/{answer['id']}/feedback"
    body = {"kind": "suggestion", "suggestion": sid, "helpful": False, "comment": "not my problem"}
    response = client.post(url, json=body)
    assert response.status_code == 201, response.text
    out = response.json()
    assert (out["kind"], out["suggestion"], out["helpful"], out["stored_label"]) == (
        "suggestion",
        sid,
        False,
        None,
    )
    [row] = _store(client).list_suggestion_ratings(SuggestionFeedbackFilter(answer["id"]))
    assert _store(client).list_suggestion_outcomes(SuggestionFeedbackFilter(answer["id"])) == []
    assert (row.helpful, row.comment, row.author, row.role) == (
        False,
        "not my problem",
        "test-admin",
        "admin",
    )
    listed = client.get(url).json()
    assert [(f["kind"], f["suggestion"]) for f in listed] == [("suggestion", sid)]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"kind": "suggestion", "suggestion": "no_such", "helpful": True}, "gave no suggestion"),
        ({"kind": "suggestion", "suggestion": "title_question"}, "needs `suggestion`"),
        ({"kind": "suggestion", "helpful": True}, "needs `suggestion`"),
        ({"kind": "bug", "comment": "x", "suggestion": "title_question"}, "kind 'suggestion' only"),
    ],
)
def test_bad_ratings_are_refused_with_a_reason(
    client: TestClient, body: dict[str, Any], message: str
) -> None:
    answer = _score(client, None, POOR)
    response = client.post(f"/v1/predictions/{answer['id']}/feedback", json=body)
    assert response.status_code == 422, response.text
    assert message in response.json()["error"]["message"]


@pytest.mark.parametrize("draft", ["", "a b", "x" * 65, "ü", 7])
def test_a_bad_draft_id_is_refused(client: TestClient, draft: object) -> None:
    response = client.post(
        "/v1/predict", json={"model": "ml-editor", "input": POOR, "draft": draft}
    )
    assert response.status_code == 422
    assert "draft" in response.text


def test_a_draft_belongs_to_one_model(digits_client: TestClient) -> None:
    _score(digits_client, "d-m", POOR)
    response = digits_client.post(
        "/v1/predict", json={"model": "digits", "input": {"pixels": [0] * 64}, "draft": "d-m"}
    )
    assert response.status_code == 422
    assert "draft 'd-m' is a draft for model 'ml-editor'" in response.json()["error"]["message"]


@pytest.fixture
def keyless(trained_home: Settings) -> Iterator[TestClient]:
    settings = trained_home.model_copy(update={"editor_access": "public"})
    with TestClient(create_app(settings)) as c:
        yield c


def test_public_editor_lets_anyone_score_and_rate_a_draft_and_nothing_else(
    keyless: TestClient,
) -> None:
    answer = _score(keyless, "anon-1", POOR)
    assert answer["revision"] == 1
    url = f"/v1/predictions/{answer['id']}/feedback"
    sid = answer["suggestions"][0]["id"]
    rated = keyless.post(url, json={"kind": "suggestion", "suggestion": sid, "helpful": True})
    assert rated.status_code == 201, rated.text
    [row] = _store(keyless).list_suggestion_ratings(SuggestionFeedbackFilter(answer["id"]))
    assert (row.author, row.role, row.helpful) == (None, None, True)
    refused = [
        keyless.post("/v1/predict", json={"model": "ml-editor", "input": POOR}),
        keyless.post(url, json={"kind": "bug", "comment": "odd"}),
        keyless.get(f"/v1/predictions/{answer['id']}"),
    ]
    assert [r.status_code for r in refused] == [401, 401, 401]
    assert "needs an API key" in refused[0].json()["error"]["message"]
    bad_key = keyless.post(
        "/v1/predict",
        json={"model": "ml-editor", "input": POOR, "draft": "anon-2"},
        headers={"Authorization": "Bearer nope"},
    )
    assert bad_key.status_code == 401  # a key that is sent is checked, public or not


def test_by_default_a_draft_needs_a_key(trained_home: Settings) -> None:
    with TestClient(create_app(trained_home)) as c:
        r = c.post("/v1/predict", json={"model": "ml-editor", "input": POOR, "draft": "k-1"})
    assert r.status_code == 401
    with app_client(trained_home, role="client") as c:
        assert _score(c, "k-1", POOR)["revision"] == 1
