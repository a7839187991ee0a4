"""Registry, cards, promotion with approval, rollback, shadow — through the API."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from tandem.models.artifacts import ArtifactStore
from tandem.registry.versions import register
from tandem.settings import Settings
from tandem.store import open_store
from tests.conftest import app_client
from tests.fakes import FakeFamily, artifact


@pytest.fixture
def two_versions(settings: Settings) -> Iterator[tuple[TestClient, str, str]]:
    """Production v1 (answers "a") and candidate v2 (answers "b")."""
    store = open_store(settings.resolved_database_url)
    artifacts = ArtifactStore(settings.artifacts_dir)
    v1 = register(
        store, artifacts, "fake", artifact(p_a=0.7), {"intended_use": "tests"}, production=True
    ).version
    v2 = register(store, artifacts, "fake", artifact(p_a=0.2), {}).version
    store.close()
    with app_client(settings, families={"fake": FakeFamily()}) as c:
        yield c, v1, v2


def _serving(client: TestClient) -> tuple[str, str]:
    body = client.post("/v1/predict", json={"model": "fake", "input": {"text": "x"}}).json()
    return body["model_version"], body["label"]


def test_registry_lists_every_version(two_versions: tuple[TestClient, str, str]) -> None:
    client, v1, v2 = two_versions
    [model] = client.get("/v1/models").json()["models"]
    assert model["production"] == v1
    assert {v["version"]: v["status"] for v in model["versions"]} == {
        v1: "production",
        v2: "candidate",
    }
    version = client.get(f"/v1/models/fake/versions/{v2}").json()
    assert version["data_hash"] == "d" * 64 and len(version["artifact_sha256"]) == 64
    assert version["card"]["sections"]["intended_use"] == ""


def test_promotion_needs_a_comment(two_versions: tuple[TestClient, str, str]) -> None:
    client, v1, v2 = two_versions
    for body in (
        {"version": v2},
        {"version": v2, "comment": " "},
        {"version": v2, "approver": "ann"},
    ):
        response = client.post("/v1/models/fake/promote", json=body)
        assert response.status_code == 422 and response.json()["error"]["message"]
    assert _serving(client) == (v1, "a")
    assert [e["action"] for e in client.get("/v1/models/fake/events").json()] == [
        "register",
        "promote",
        "register",
    ]


def test_promotion_and_rollback_take_effect_on_the_next_request(
    two_versions: tuple[TestClient, str, str],
) -> None:
    client, v1, v2 = two_versions
    promoted = client.post(
        "/v1/models/fake/promote",
        json={"version": v2, "approver": "mallory", "comment": "better on b"},
    )
    assert promoted.status_code == 200, promoted.text
    event = promoted.json()
    # The approver is the admin key's name; an approver in the body is ignored.
    assert (event["previous_version"], event["actor"]) == (v1, "test-admin")
    assert event["evidence"]["comparison"]["candidate"] == v2  # what the approver saw
    assert _serving(client) == (v2, "b")

    again = client.post("/v1/models/fake/promote", json={"version": v2, "comment": "twice"})
    assert again.status_code == 409

    rolled = client.post("/v1/models/fake/rollback", json={"actor": "bob", "comment": "oops"})
    assert rolled.status_code == 200 and rolled.json()["version"] == v1
    assert rolled.json()["actor"] == "test-admin"
    assert _serving(client) == (v1, "a")
    nothing = client.post("/v1/models/fake/rollback", json={})
    assert nothing.status_code == 409 and "nothing to roll back" in nothing.text


def test_each_rollback_goes_one_promotion_further_back(settings: Settings) -> None:
    store = open_store(settings.resolved_database_url)
    artifacts = ArtifactStore(settings.artifacts_dir)
    v1, v2, v3 = (
        register(store, artifacts, "fake", artifact(p_a=p), {}, production=i == 0).version
        for i, p in enumerate((0.7, 0.2, 0.9))
    )
    store.close()
    with app_client(settings, families={"fake": FakeFamily()}) as client:
        for version in (v2, v3):
            promoted = client.post(
                "/v1/models/fake/promote", json={"version": version, "comment": "next"}
            )
            assert promoted.status_code == 200, promoted.text
        assert _serving(client)[0] == v3
        for current, previous in ((v3, v2), (v2, v1)):
            rolled = client.post("/v1/models/fake/rollback", json={"comment": "back"})
            assert rolled.status_code == 200, rolled.text
            assert (rolled.json()["previous_version"], rolled.json()["version"]) == (
                current,
                previous,
            )
            assert _serving(client)[0] == previous
        last = client.post("/v1/models/fake/rollback", json={})
        assert last.status_code == 409 and "nothing to roll back" in last.text
        assert _serving(client)[0] == v1


def test_shadow_scores_live_traffic_without_answering(
    two_versions: tuple[TestClient, str, str],
) -> None:
    client, v1, v2 = two_versions
    assert client.post("/v1/models/fake/shadow", json={"version": v2}).status_code == 200
    answers = [_serving(client) for _ in range(4)]
    assert answers == [(v1, "a")] * 4  # users only ever see production
    services = client.app.state.services  # type: ignore[attr-defined]
    client.portal.call(services.predictions.drain)  # type: ignore[union-attr]
    comparison = client.get(f"/v1/models/fake/compare/{v2}").json()
    assert comparison["shadow_scored"] == 4 and comparison["agreement"] == 0.0
    assert len(comparison["disagreements"]) == 4
    assert comparison["latency"]["candidate"]["p50_ms"] is not None
    assert client.post("/v1/models/fake/shadow", json={"version": None}).status_code == 200
    _serving(client)
    client.portal.call(services.predictions.drain)  # type: ignore[union-attr]
    assert client.get(f"/v1/models/fake/compare/{v2}").json()["shadow_scored"] == 4


def test_card_is_editable_and_served_as_markdown(
    two_versions: tuple[TestClient, str, str],
) -> None:
    client, v1, _ = two_versions
    edited = client.put(
        f"/v1/models/fake/versions/{v1}/card",
        json={"sections": {"limitations": "Only test data."}},
    )
    assert edited.status_code == 200 and edited.json()["card"]["edited_by"] == "test-admin"
    markdown = client.get(f"/v1/models/fake/versions/{v1}/card.md")
    assert markdown.headers["content-type"].startswith("text/markdown")
    assert "## Known limitations\n\nOnly test data." in markdown.text
    assert "## Intended use\n\ntests" in markdown.text
    bad = client.put(
        f"/v1/models/fake/versions/{v1}/card",
        json={"sections": {"colour": "blue"}},
    )
    assert bad.status_code == 422 and "unknown card section" in bad.text


@pytest.mark.parametrize(
    ("method", "url", "status"),
    [
        ("get", "/v1/models/fake/versions/nope", 404),
        ("get", "/v1/models/ghost/events", 404),
        ("post", "/v1/models/ghost/rollback", 404),
    ],
)
def test_unknown_models_and_versions(
    two_versions: tuple[TestClient, str, str], method: str, url: str, status: int
) -> None:
    client = two_versions[0]
    kwargs = {"json": {}} if method == "post" else {}
    response = getattr(client, method)(url, **kwargs)
    assert response.status_code == status and response.json()["error"]["message"]
