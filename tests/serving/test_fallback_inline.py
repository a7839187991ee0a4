"""Models scored inline (on the event loop) keep the fallback's promises: a failure is
answered by the fallback, and a model that overran its budget once goes back to the
model threads, where the budget holds again."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tandem.app import create_app
from tandem.models.artifacts import ArtifactStore
from tandem.registry.versions import register
from tandem.settings import Settings
from tandem.store import open_store
from tests.conftest import bearer, make_key
from tests.fakes import FakeFamily, artifact


def _client(settings: Settings, behaviour: str) -> TestClient:
    store = open_store(settings.resolved_database_url)
    register(
        store,
        ArtifactStore(settings.artifacts_dir),
        "fake",
        artifact(behaviour, inline=True),
        {},
        production=True,
    )
    store.close()
    key = make_key(settings, "admin")
    return TestClient(create_app(settings, families={"fake": FakeFamily()}), headers=bearer(key))


def _predict(client: TestClient) -> dict[str, object]:
    response = client.post("/v1/predict", json={"model": "fake", "input": {"text": "hi"}})
    assert response.status_code == 200, response.text
    body: dict[str, object] = response.json()
    return body


def test_inline_model_answers_and_is_logged(settings: Settings) -> None:
    with _client(settings, "ok") as c:
        body = _predict(c)
        assert (body["route"], body["label"], body["fallback_reason"]) == ("model", "a", None)
        assert c.get(f"/v1/predictions/{body['id']}").json()["label"] == "a"


def test_failing_inline_model_gets_the_fallback(settings: Settings) -> None:
    with _client(settings, "raise") as c:
        body = _predict(c)
    assert (body["route"], body["fallback_reason"]) == ("fallback", "error: ZeroDivisionError")


def test_inline_model_over_budget_moves_to_the_threads(settings: Settings) -> None:
    with _client(settings, "pause") as c:
        first = _predict(c)  # 250 ms inline: nothing could interrupt it, so it answers
        second = _predict(c)  # on a model thread now: the 50 ms budget holds again
    assert (first["route"], first["fallback_reason"]) == ("model", None)
    assert first["latency_ms"] >= 250  # type: ignore[operator]
    assert (second["route"], second["fallback_reason"]) == ("fallback", "timeout")
