"""Post-mortems through the API and the pages: opened from predictions with their data
attached and frozen, then a timeline, five whys and action points."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tandem.settings import Settings
from tests.monitor.helpers import execute, fake_app, predict


@pytest.fixture
def app(settings: Settings) -> Iterator[tuple[TestClient, Settings]]:
    s = settings.model_copy(update={"alert_interval_s": 0.0})
    with fake_app(s) as c:
        yield c, s


def _open(
    client: TestClient, ids: list[str], title: str = "Wrong labels on code"
) -> dict[str, Any]:
    response = client.post(
        "/v1/postmortems", json={"title": title, "prediction_ids": ids, "author": "ann"}
    )
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def test_opening_attaches_the_logged_predictions(app: tuple[TestClient, Settings]) -> None:
    client, _ = app
    first, second = predict(client, "short"), predict(client, "a longer text")
    client.post(f"/v1/predictions/{first['id']}/feedback", json={"kind": "bug", "comment": "off"})
    pm = _open(client, [first["id"], second["id"]])
    snaps = {s["id"]: s for s in pm["predictions"]}
    assert list(snaps) == [first["id"], second["id"]]
    for body in (first, second):
        snap = snaps[body["id"]]
        for key in ("input", "features", "label", "confidence", "explanation", "model_version"):
            assert snap[key] == body[key], key
    assert snaps[first["id"]]["feedback"][0]["comment"] == "off"
    facts = [e["text"] for e in pm["timeline"]]
    assert any(f"Prediction {first['id']} by fake" in f for f in facts)
    assert any("Feedback 'bug'" in f and "off" in f for f in facts)
    assert facts[-1] == "Post-mortem opened." and pm["created_by"] == "test-admin"
    assert client.get(f"/v1/postmortems/{pm['id']}").json() == pm
    linked = client.get("/v1/postmortems", params={"prediction_id": second["id"]}).json()
    assert [p["id"] for p in linked["postmortems"]] == [pm["id"]]


def test_the_snapshot_does_not_follow_later_changes(app: tuple[TestClient, Settings]) -> None:
    client, settings = app
    body = predict(client)
    pm = _open(client, [body["id"]])
    execute(settings, "UPDATE predictions SET label = 'edited' WHERE id = :p", p=body["id"])
    client.post(f"/v1/predictions/{body['id']}/feedback", json={"kind": "bug", "comment": "late"})
    again = client.get(f"/v1/postmortems/{pm['id']}").json()
    assert again["predictions"] == pm["predictions"]
    assert again["predictions"][0]["label"] == body["label"] != "edited"


def test_writing_the_record(app: tuple[TestClient, Settings]) -> None:
    client, _ = app
    pm = _open(client, [predict(client)["id"]])
    url = f"/v1/postmortems/{pm['id']}"
    whys = [{"why": f"why {i}?", "because": f"because {i}"} for i in range(1, 6)]
    edited = client.patch(url, json={"title": "Labels flipped", "summary": "Facts.", "whys": whys})
    assert edited.status_code == 200, edited.text
    assert (edited.json()["title"], edited.json()["whys"]) == ("Labels flipped", whys)
    entry = client.post(
        f"{url}/timeline", json={"text": "Deploy of v2", "at": "2020-01-01T10:00:00Z"}
    )
    assert entry.status_code == 201
    timeline = client.get(url).json()["timeline"]
    assert timeline[0]["text"] == "Deploy of v2"  # ordered by when it happened
    action = client.post(f"{url}/actions", json={"text": "Add a unit test", "owner": "bob"})
    assert action.status_code == 201 and action.json()["status"] == "open"
    done = client.patch(f"{url}/actions/{action.json()['id']}", json={"status": "done"})
    assert done.json()["status"] == "done" and done.json()["owner"] == "bob"
    final = client.get(url).json()
    assert [(a["text"], a["status"]) for a in final["actions"]] == [("Add a unit test", "done")]
    assert final["updated_at"] > pm["updated_at"]


@pytest.mark.parametrize(
    ("method", "path", "body", "status", "says"),
    [
        (
            "post",
            "",
            {"title": "t", "prediction_ids": ["nope"]},
            422,
            "no prediction with id 'nope'",
        ),
        ("post", "", {"title": "t", "prediction_ids": []}, 422, "prediction_ids"),
        ("post", "", {"title": " ", "prediction_ids": ["{pid}"]}, 422, "title"),
        ("post", "", {"title": "t", "prediction_ids": ["{pid}"], "owner": "x"}, 422, "owner"),
        ("patch", "/{pm}", {"whys": [{"why": "w"}] * 6}, 422, "whys"),
        ("patch", "/{pm}", {"title": ""}, 422, "title"),
        ("patch", "/missing", {"title": "x"}, 404, "no post-mortem with id 'missing'"),
        ("post", "/{pm}/timeline", {"text": ""}, 422, "text"),
        ("post", "/{pm}/timeline", {"text": "x", "at": "noon"}, 422, "at"),
        # A number would be read as Unix seconds: -795 is 1969 (found by the fuzzer).
        ("post", "/{pm}/timeline", {"text": "x", "at": -795}, 422, "ISO 8601"),
        ("post", "/{pm}/timeline", {"text": "x", "at": 1.7e9}, 422, "ISO 8601"),
        ("post", "/missing/timeline", {"text": "x"}, 404, "no post-mortem"),
        ("post", "/{pm}/actions", {"text": "x"}, 422, "owner"),
        ("patch", "/{pm}/actions/nope", {"status": "done"}, 404, "has no action 'nope'"),
        ("get", "/missing", None, 404, "no post-mortem"),
    ],
)
def test_bad_input_is_a_clear_4xx(
    app: tuple[TestClient, Settings],
    method: str,
    path: str,
    body: dict[str, Any] | None,
    status: int,
    says: str,
) -> None:
    client, _ = app
    pid = predict(client)["id"]
    pm = _open(client, [pid])
    fill = {"pid": pid, "pm": pm["id"]}
    if body is not None:
        body = {
            k: [v.format(**fill) for v in val] if k == "prediction_ids" else val
            for k, val in body.items()
        }
    response = client.request(method, "/v1/postmortems" + path.format(**fill), json=body)
    assert response.status_code == status, response.text
    assert says in response.json()["error"]["message"]
    assert client.get(f"/v1/postmortems/{pm['id']}").json() == pm  # nothing changed


def test_the_pages_open_edit_and_escape(app: tuple[TestClient, Settings]) -> None:
    client, _ = app
    pid = predict(client, "<b>bold</b>")["id"]
    assert 'action="/postmortems"' in client.get(f"/predictions/{pid}").text
    opened = client.post(
        "/postmortems",
        data={"prediction_ids": pid, "title": "<script>alert(1)</script>", "author": "ann"},
        follow_redirects=False,
    )
    assert opened.status_code == 303
    here = opened.headers["location"]
    page = client.get(here).text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page and "<script>alert(1)" not in page
    assert "&lt;b&gt;bold&lt;/b&gt;" in page and f'href="/predictions/{pid}"' in page

    client.post(here, data={"title": "Bold text misread", "summary": "Markup in input."})
    client.post(f"{here}/timeline", data={"text": "Noticed by a user", "at": "2021-05-01 09:30"})
    client.post(f"{here}/whys", data={"why_1": "Why misread?", "because_1": "Tags counted"})
    client.post(f"{here}/actions", data={"text": "Strip tags first", "owner": "bob"})
    record = client.get(f"/v1{here}").json()
    assert (record["title"], record["summary"]) == ("Bold text misread", "Markup in input.")
    assert record["timeline"][0]["at"].startswith("2021-05-01T09:30")
    assert record["whys"] == [{"why": "Why misread?", "because": "Tags counted"}]
    action = record["actions"][0]
    toggled = client.post(
        f"{here}/actions/{action['id']}", data={"status": "done"}, follow_redirects=False
    )
    assert toggled.status_code == 303 and toggled.headers["location"].endswith("#actions")
    page = client.get(here).text
    assert "Bold text misread" in page and "Reopen" in page and "Tags counted" in page
    listing = client.get("/postmortems").text
    assert "Bold text misread" in listing and "0 of 1" in listing
    assert "Bold text misread" in client.get(f"/predictions/{pid}").text


def test_pages_refuse_bad_forms_with_a_message(app: tuple[TestClient, Settings]) -> None:
    client, _ = app
    missing = client.post("/postmortems", data={"title": "x", "pasted_ids": "nope, gone"})
    assert missing.status_code == 422 and "no prediction with id &#39;nope&#39;" in missing.text
    pid = predict(client)["id"]
    client.post("/postmortems", data={"title": "t", "pasted_ids": pid})
    pm = client.get("/v1/postmortems").json()["postmortems"][0]["id"]
    bad_time = client.post(f"/postmortems/{pm}/timeline", data={"text": "x", "at": "noonish"})
    assert bad_time.status_code == 422 and "is not a time" in bad_time.text
    assert client.get("/postmortems/missing").status_code == 404
