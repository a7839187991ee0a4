"""The report leads with whether a model's suggestions help: per suggestion, shown,
rated helpful, followed and the score's change after following; drafts whose score rose."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from tandem.report.format import headline_lines

POOR = {
    "title": "sorting broken",
    "body": "Hi all. My sort returns the list unsorted. THANKS SO MUCH for any help!",
}


def _score(client: TestClient, draft: str, question: dict[str, str]) -> Any:
    r = client.post("/v1/predict", json={"model": "ml-editor", "input": question, "draft": draft})
    assert r.status_code == 200, r.text
    return r.json()


def _good(answer: dict[str, Any]) -> float:
    return next(a["probability"] for a in answer["alternatives"] if a["label"] == "good")


def test_followed_and_helpful_suggestions_are_counted(client: TestClient) -> None:
    first = _score(client, "a", POOR)
    ids = [s["id"] for s in first["suggestions"]]
    assert "title_question" in ids and len(ids) >= 2
    other = next(i for i in ids if i != "title_question")
    for sid, helpful in (("title_question", True), (other, False)):
        r = client.post(
            f"/v1/predictions/{first['id']}/feedback",
            json={"kind": "suggestion", "suggestion": sid, "helpful": helpful},
        )
        assert r.status_code == 201, r.text
    second = _score(client, "a", {**POOR, "title": "sorting broken?"})
    _score(client, "b", POOR)  # a draft scored once: no rise to count

    report = client.app.state.services.reports.report(None, None, "ml-editor")  # type: ignore[attr-defined]
    [use] = report.usefulness
    assert (use.model, use.drafts, use.revised, use.rose, use.share_rose) == (
        "ml-editor",
        2,
        1,
        1,
        1.0,
    )
    by_id = {s.suggestion: s for s in use.suggestions}
    title = by_id["title_question"]
    assert (title.rated, title.helpful, title.judged, title.followed) == (1, 1, 1, 1)
    assert title.shown == 2 + ("title_question" in [s["id"] for s in second["suggestions"]])
    assert title.mean_change_followed == pytest.approx(_good(second) - _good(first), abs=1e-6)
    assert (by_id[other].rated, by_id[other].helpful, by_id[other].followed) == (1, 0, 0)

    lines = headline_lines(report)
    assert lines[2].startswith("Do ml-editor's suggestions help? 1 of 1 revised drafts (100%)")
    assert any(line.strip().startswith("title_question: shown") for line in lines)

    page = client.get("/report?model=ml-editor")
    assert page.status_code == 200
    assert page.text.index("suggestions help writers?") < page.text.index("<h2>Volume</h2>")
    row = page.text.split('data-suggestion="title_question"')[1].split("</tr>")[0]
    assert '<td class="helpful">1 of 1</td>' in row and '<td class="followed">1 of 1</td>' in row


def test_a_model_without_drafts_has_no_usefulness_section(client: TestClient) -> None:
    assert client.post("/v1/predict", json={"model": "ml-editor", "input": POOR}).status_code == 200
    report = client.app.state.services.reports.report(None, None, None)  # type: ignore[attr-defined]
    assert report.usefulness == []
    assert "suggestions help" not in client.get("/report").text
