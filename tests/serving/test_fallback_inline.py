"""Models scored inline (on the event loop) keep the fallback's promises: a failure is
answered by the fallback, and a model that overran its budget once goes back to the
model threads, where the budget holds again."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from tandem.settings import Settings
from tests.fakes import artifact, fake_client, fake_predict


def _client(settings: Settings, behaviour: str) -> TestClient:
    return fake_client(settings, artifact(behaviour, inline=True))


def _predict(client: TestClient) -> dict[str, Any]:
    return fake_predict(client, "hi")


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
