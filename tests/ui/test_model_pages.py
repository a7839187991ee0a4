"""The governance and debugging pages, driven as a person would submit them."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from tandem.models.artifacts import ArtifactStore
from tandem.registry.versions import register
from tandem.settings import Settings
from tandem.store import open_store
from tests.conftest import app_client, predict
from tests.fakes import FakeFamily, artifact


@pytest.fixture
def fake(settings: Settings) -> Iterator[tuple[TestClient, str, str]]:
    store = open_store(settings.resolved_database_url)
    artifacts = ArtifactStore(settings.artifacts_dir)
    v1 = register(store, artifacts, "fake", artifact(p_a=0.7), {}, production=True).version
    v2 = register(store, artifacts, "fake", artifact(p_a=0.2), {}).version
    store.close()
    with app_client(settings, families={"fake": FakeFamily()}) as c:
        yield c, v1, v2


def _serving(client: TestClient) -> str:
    body = client.post("/v1/predict", json={"model": "fake", "input": {"text": "x"}}).json()
    return str(body["model_version"])


def test_promote_and_roll_back_by_clicking(fake: tuple[TestClient, str, str]) -> None:
    client, v1, v2 = fake
    page = client.get(f"/models/fake/{v2}").text
    # The approver is the logged-in key; the page has no field to name another.
    assert "Approve as test-admin and promote" in page and "accuracy on" in page
    assert 'name="approver"' not in page
    refused = client.post(f"/models/fake/{v2}/promote", data={"comment": " "})
    assert refused.status_code == 422 and "needs a comment" in refused.text
    assert _serving(client) == v1
    done = client.post(
        f"/models/fake/{v2}/promote",
        data={"approver": "mallory", "comment": "looks right"},
        follow_redirects=False,
    )
    assert done.status_code == 303 and _serving(client) == v2
    assert "Roll back" in client.get(f"/models/fake/{v2}").text
    client.post("/models/fake/rollback", data={"comment": "back"})
    assert _serving(client) == v1
    trail = client.get(f"/models/fake/{v2}").text
    assert "test-admin" in trail and "looks right" in trail and "rollback" in trail
    assert "mallory" not in trail  # a form field cannot name the approver


def test_shadow_and_card_from_the_page(fake: tuple[TestClient, str, str]) -> None:
    client, _v1, v2 = fake
    client.post(f"/models/fake/{v2}/shadow", data={"on": "1"})
    assert "· shadow" in client.get("/models").text
    client.post(f"/models/fake/{v2}/card", data={"limitations": "Says <b>a</b> too often."})
    page = client.get(f"/models/fake/{v2}").text
    assert "Says &lt;b&gt;a&lt;/b&gt; too often." in page and "last edited by test-admin" in page


def test_prediction_page_replays(client: TestClient) -> None:
    body = predict(client)
    page = client.get(f"/predictions/{body['id']}").text
    assert body["label"] in page and "Replay" in page
    replayed = client.get(
        f"/predictions/{body['id']}", params={"replay_version": body["model_version"]}
    ).text
    assert "Same label" in replayed and "largest probability change 0.0" in replayed
    missing = client.get("/predictions/nope")
    assert missing.status_code == 404 and "no prediction" in missing.text
