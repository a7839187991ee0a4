"""Models scored inline (on the event loop) keep the fallback's promises: a failure is
answered by the fallback, and a model that overran its budget once goes back to the
model threads, where the budget holds again."""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tandem.models.interface import TrainedArtifact
from tandem.predict.guard import INLINE_RETRY_S, Guard
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
    """Best of up to 3 tries (each a new app), as the suite's other timing tests: on a
    busy machine the OS can preempt the sleeping model too, and the guard then blames
    the machine, not the model, and keeps it inline."""
    trained: TrainedArtifact | None = artifact("pause", inline=True)
    for _ in range(3):
        with fake_client(settings, trained) as c:
            first = _predict(c)  # 250 ms inline: nothing could interrupt it, so it answers
            second = _predict(c)  # on a model thread now: the 50 ms budget holds again
        if second["route"] == "fallback":
            break
        trained = None  # the store's production version from now on
    assert (first["route"], first["fallback_reason"]) == ("model", None)
    assert first["latency_ms"] >= 250  # type: ignore[operator]
    assert (second["route"], second["fallback_reason"]) == ("fallback", "timeout")


def test_an_inline_model_that_waited_comes_back_inline_later() -> None:
    """A wall-clock overrun sends a model to the threads only for a while: one stall
    must not cost the rest of the process's life on threads (and `busy` answers)."""
    guard = Guard(1)
    calls: list[str] = []

    def pause() -> str:
        calls.append(threading.current_thread().name)
        time.sleep(0.25)
        return "done"

    async def scenario() -> None:
        assert await guard.run_inline(pause, 0.05, "m") == "done"  # inline, overran
        with pytest.raises(TimeoutError):  # on a model thread now: the budget holds
            await guard.run_inline(pause, 0.05, "m")
        until, times = guard._waited["m"]
        assert times == 1 and until - time.monotonic() > INLINE_RETRY_S - 5
        guard._waited["m"] = (time.monotonic() - 1, times)  # the while has passed
        assert await guard.run_inline(lambda: calls.append("back") or "ok", 0.05, "m") == "ok"

    try:
        asyncio.run(scenario())
    finally:
        guard.close()
    assert calls[0] == threading.main_thread().name
    assert calls[1].startswith("tandem-model")
    assert calls[2] == "back"


def test_an_inline_model_over_its_cpu_budget_stays_on_the_threads() -> None:
    guard = Guard(1)

    def spin() -> int:
        end = time.thread_time() + 0.08
        while time.thread_time() < end:
            pass
        return threading.get_ident()

    async def scenario() -> list[int]:
        return [await guard.run_inline(spin, 0.05, "m"), await guard.run_inline(spin, 1.0, "m")]

    try:
        first, second = asyncio.run(scenario())
    finally:
        guard.close()
    assert first == threading.get_ident()
    assert second != threading.get_ident() and "m" in guard._too_slow_inline
