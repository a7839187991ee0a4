"""Bug reports reach a triage list; an admin moves them along; the page escapes them."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from tandem.settings import Settings
from tests.monitor.helpers import fake_app, predict


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    with fake_app(settings.model_copy(update={"alert_interval_s": 0.0})) as c:
        yield c


def _feedback(client: TestClient, pid: str, kind: str, comment: str | None = None) -> str:
    response = client.post(
        f"/v1/predictions/{pid}/feedback", json={"kind": kind, "comment": comment}
    )
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def test_bug_reports_are_listed_newest_first(client: TestClient) -> None:
    first, second = predict(client, "one"), predict(client, "two")
    older = _feedback(client, first["id"], "bug", "label is wrong for code questions")
    _feedback(client, first["id"], "correct")  # not a bug: not listed
    newer = _feedback(client, second["id"], "bug", "explanation names a feature twice")
    page = client.get("/v1/bugs").json()
    assert [b["id"] for b in page["bugs"]] == [newer, older] and page["total"] == 2
    bug = page["bugs"][1]
    assert (bug["status"], bug["prediction_id"], bug["model"]) == ("new", first["id"], "fake")
    assert bug["predicted_label"] == first["label"] and bug["page"] == f"/predictions/{first['id']}"


def test_an_admin_changes_a_bugs_status(client: TestClient) -> None:
    bug = _feedback(client, predict(client)["id"], "bug", "broken")
    other = _feedback(client, predict(client)["id"], "bug", "also broken")
    changed = client.patch(
        f"/v1/bugs/{bug}", json={"status": "triaged", "note": "seen in v2 too", "actor": "ann"}
    )
    assert changed.status_code == 200, changed.text
    assert (changed.json()["status"], changed.json()["updated_by"]) == (
        "triaged",
        "test-admin",
    )  # the key, not the body
    triaged = client.get("/v1/bugs", params={"status": "triaged"}).json()
    assert [b["id"] for b in triaged["bugs"]] == [bug] and triaged["bugs"][0][
        "note"
    ] == "seen in v2 too"
    assert [b["id"] for b in client.get("/v1/bugs?status=new").json()["bugs"]] == [other]
    client.patch(f"/v1/bugs/{bug}", json={"status": "fixed"})
    assert client.get("/v1/bugs?status=fixed").json()["total"] == 1


def test_status_changes_refuse_what_is_not_a_bug(client: TestClient) -> None:
    pid = predict(client)["id"]
    praise = _feedback(client, pid, "correct")
    bug = _feedback(client, pid, "bug", "x")
    not_a_bug = client.patch(f"/v1/bugs/{praise}", json={"status": "fixed"})
    assert not_a_bug.status_code == 404 and "no bug report" in not_a_bug.json()["error"]["message"]
    assert client.patch("/v1/bugs/nope", json={"status": "fixed"}).status_code == 404
    bad = client.patch(f"/v1/bugs/{bug}", json={"status": "done"})
    assert bad.status_code == 422 and "status" in bad.json()["error"]["message"]
    assert client.get("/v1/bugs?status=closed").status_code == 422
    assert client.get("/v1/bugs").json()["bugs"][0]["status"] == "new"  # nothing changed


def test_the_triage_page_escapes_and_changes_status(client: TestClient) -> None:
    pid = predict(client)["id"]
    bug = _feedback(client, pid, "bug", "<script>alert('x')</script> looks wrong")
    page = client.get("/bugs").text
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;" in page and "<script>alert" not in page
    assert f'href="/predictions/{pid}"' in page and 'name="prediction_ids"' in page
    done = client.post(
        f"/bugs/{bug}/status",
        data={"status": "wont-fix", "actor": "bob", "note": "as designed"},
        follow_redirects=False,
    )
    assert done.status_code == 303 and done.headers["location"] == f"/bugs#bug-{bug}"
    assert "wont-fix (1)" in client.get("/bugs").text
    assert "as designed" in client.get("/bugs?status=wont-fix").text
    refused = client.post(f"/bugs/{bug}/status", data={"status": "maybe"})
    assert refused.status_code == 422 and "unknown bug status" in refused.text
