"""Whatever a model's code does, nothing else stalls: a model that holds the GIL in
native code for seconds, or crashes its process, costs its own request the fallback
at the budget, while /healthz and other models keep answering; the worker it ran in
is killed (or found dead) and replaced."""

from __future__ import annotations

import asyncio
import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tandem.models.artifacts import ArtifactStore
from tandem.predict.isolation import KILL_MARGIN_S, MAX_LOADED, Isolation, ProcessPool, Source
from tandem.predict.service import FALLBACK_BUDGET_FACTOR
from tandem.registry.versions import register
from tandem.settings import Settings
from tandem.store import open_store
from tests.conftest import app_client
from tests.fakes import FakeFamily, artifact

BUDGET_MS = 50.0  # the fake model's budget
HEALTHZ_MS = 100.0
SLACK_MS = 1000.0  # what a loaded machine may add: still a tenth of the hog's 10 s
CRASH_BUDGET_MS = 5000.0


@contextmanager
def _serve(settings: Settings, behaviours: dict[str, tuple[str, bool]]) -> Iterator[TestClient]:
    """An app serving one fake model per name, in worker processes: (behaviour, has a
    fallback)."""
    store = open_store(settings.resolved_database_url)
    for name, (behaviour, fallback) in behaviours.items():
        register(
            store,
            ArtifactStore(settings.artifacts_dir),
            name,
            artifact(behaviour, fallback=fallback, isolation="process"),
            {},
            production=True,
        )
    store.close()
    with app_client(settings, {name: FakeFamily(name) for name in behaviours}) as c:
        yield c


@pytest.fixture
def hog(settings: Settings) -> Iterator[TestClient]:
    """`hog` holds the GIL for 10 s in C on every call; `fake` answers at once."""
    with _serve(settings, {"hog": ("gil", True), "fake": ("ok", True)}) as client:
        yield client


def _isolation(client: TestClient) -> Isolation:
    isolation = client.app.state.services.predictions.isolation  # type: ignore[attr-defined]
    assert isinstance(isolation, Isolation)
    return isolation


def _pool(client: TestClient) -> ProcessPool:
    """The worker pool, once a call has started it."""
    assert _isolation(client).started
    return _isolation(client).pool


def _pids(client: TestClient) -> set[int]:
    return _pool(client).pids


def _predict(client: TestClient, model: str) -> tuple[float, Any]:
    """(milliseconds the request took, the response)."""
    started = time.perf_counter()
    response = client.post("/v1/predict", json={"model": model, "input": {"text": "aaa"}})
    return (time.perf_counter() - started) * 1000, response


def _in_background(client: TestClient, model: str) -> tuple[threading.Thread, list[Any]]:
    out: list[Any] = []
    thread = threading.Thread(target=lambda: out.append(_predict(client, model)))
    thread.start()
    return thread, out


def _stays_under(times_ms: list[float], limit_ms: float) -> bool:
    """Every time under the limit, bar one in ten over it by the machine's own hiccups
    (on a shared, loaded machine any request may wait for a core); none anywhere near
    what one GIL hold of the hog (300 ms or more) would cost."""
    over = [t for t in times_ms if t >= limit_ms]
    return len(times_ms) >= 10 and len(over) <= len(times_ms) // 10 and max(times_ms) < 250


def _wait_for(check: Any, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        assert time.monotonic() < deadline, "not within the time allowed"
        time.sleep(0.05)


def _model_answers(client: TestClient, model: str) -> bool:
    """Whether the model itself answers (not its fallback): of three calls, so that one
    a loaded machine pushed past its budget does not decide."""
    for _ in range(3):
        _, response = _predict(client, model)
        assert response.status_code == 200, response.text
        if response.json()["route"] == "model":
            return True
    return False


def _warm(client: TestClient, model: str) -> None:
    """Calls that start the pool (a one-time cost no budget is charged with)."""
    assert _model_answers(client, model)


def _settled(client: TestClient) -> set[int]:
    """The workers, once none is starting."""
    _wait_for(lambda: _pool(client).starting == 0, 30)
    return _pids(client)


def test_a_model_holding_the_gil_stalls_nothing_else(hog: TestClient) -> None:
    """The time limits are checked as the best of up to 3 tries (as the other timing
    tests are): on a loaded machine any one window may catch a hiccup of its own."""
    for _ in range(3):
        fallback_ms, health, others = _one_hog_call(hog)
        fast = fallback_ms < BUDGET_MS + 250  # the model's budget, then a quick fallback
        if fast and _stays_under(health, HEALTHZ_MS) and _stays_under(others, BUDGET_MS):
            break
    assert fallback_ms < BUDGET_MS + 250
    assert _stays_under(health, HEALTHZ_MS), health
    assert _stays_under(others, BUDGET_MS), others


def _one_hog_call(hog: TestClient) -> tuple[float, list[float], list[float]]:
    """One GIL-holding call: (its answer's latency_ms, what /healthz took meanwhile, what
    the other model took meanwhile). The call gets its fallback, and its worker is
    killed and replaced."""
    _warm(hog, "fake")
    workers = _settled(hog)
    thread, out = _in_background(hog, "hog")
    # While the hog's worker backtracks (it keeps at it until killed), the server answers.
    health: list[float] = []
    others: list[float] = []
    until = time.monotonic() + 1.5
    while time.monotonic() < until:
        started = time.perf_counter()
        assert hog.get("/healthz").status_code == 200
        health.append((time.perf_counter() - started) * 1000)
        took, response = _predict(hog, "fake")
        assert response.status_code == 200, response.text
        body = response.json()
        # The model's answer; the fallback only where the machine kept the call past
        # its budget (counted as over the budget below), never for an error.
        assert body["fallback_reason"] in (None, "timeout", "busy"), body
        others.append(body["latency_ms"] if body["route"] == "model" else float(BUDGET_MS))
        time.sleep(0.02)
    thread.join(10)
    took, response = out[0]
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["route"], body["fallback_reason"]) == ("fallback", "timeout")
    assert body["explanation"][0]["feature"] == "rule: short"
    assert took < BUDGET_MS + SLACK_MS

    # Past its budget by the margin, the hog's worker is killed and another takes its place.
    _wait_for(lambda: not (_pids(hog) >= workers), KILL_MARGIN_S + 10)
    _wait_for(lambda: len(_pids(hog)) >= len(workers), 30)
    assert len(workers - _pids(hog)) == 1  # the hog's, and only it
    assert _model_answers(hog, "fake")
    return float(body["latency_ms"]), health, others


def test_runaway_calls_cannot_take_the_fallbacks_worker(settings: Settings) -> None:
    """More runaway calls than workers: the extra ones are `busy`, and every one still
    gets the fallback promptly (one worker is kept for fallbacks)."""
    settings = settings.model_copy(update={"model_workers": 2})
    with _serve(settings, {"hog": ("gil", True), "fake": ("ok", True)}) as client:
        _warm(client, "fake")
        for expected in ("timeout", "timeout", "busy", "busy"):
            took, response = _predict(client, "hog")
            assert response.status_code == 200, response.text
            assert response.json()["fallback_reason"] == expected
            assert took < BUDGET_MS + SLACK_MS
        started = time.perf_counter()
        assert client.get("/healthz").status_code == 200
        assert (time.perf_counter() - started) * 1000 < HEALTHZ_MS


def test_a_fallback_holding_the_gil_answers_the_documented_error(settings: Settings) -> None:
    """The fallback runs in a worker too, under its own budget: when it also runs
    away, the answer is 503 model_unavailable once both budgets are spent, never a hang."""
    with _serve(settings, {"hog": ("gil everywhere", True), "fake": ("ok", True)}) as client:
        _warm(client, "fake")
        took, response = _predict(client, "hog")
        assert response.status_code == 503, response.text
        error = response.json()["error"]
        assert error["code"] == "model_unavailable"
        assert "(timeout)" in error["message"] and "fallback (timeout)" in error["message"]
        assert took < (1 + FALLBACK_BUDGET_FACTOR) * BUDGET_MS + SLACK_MS
        started = time.perf_counter()
        assert client.get("/healthz").status_code == 200
        assert (time.perf_counter() - started) * 1000 < HEALTHZ_MS


def test_a_segfaulting_model_gets_the_fallback_and_its_worker_is_replaced(
    settings: Settings,
) -> None:
    """Found dead at once, not at the budget: a budget of seconds, which the fallback
    must beat by far, makes that robust on a loaded machine."""
    settings = settings.model_copy(update={"latency_budget_ms": CRASH_BUDGET_MS})
    with _serve(settings, {"crash": ("segfault", True), "fake": ("ok", True)}) as client:
        _warm(client, "fake")
        workers = _settled(client)
        took, response = _predict(client, "crash")
        assert response.status_code == 200, response.text
        body = response.json()
        assert (body["route"], body["fallback_reason"]) == ("fallback", "error: crashed")
        assert took < CRASH_BUDGET_MS / 2
        logged = client.get(f"/v1/predictions/{body['id']}").json()
        assert logged["fallback_reason"] == "error: crashed"

        assert client.get("/healthz").status_code == 200
        assert _model_answers(client, "fake")
        _wait_for(lambda: len(_settled(client)) >= len(workers), 30)
        assert len(workers - _pids(client)) == 1  # the crashed one, and only it, replaced
        # Again and again: each crash costs one worker, which comes back.
        for _ in range(3):
            _, response = _predict(client, "crash")
            assert response.json()["fallback_reason"] == "error: crashed"
        _wait_for(lambda: len(_settled(client)) >= len(workers), 30)
        assert _model_answers(client, "fake")


def test_a_segfaulting_model_without_fallback_is_unavailable(settings: Settings) -> None:
    settings = settings.model_copy(update={"latency_budget_ms": CRASH_BUDGET_MS})
    with _serve(settings, {"crash": ("segfault", False), "fake": ("ok", True)}) as client:
        _warm(client, "fake")
        _, response = _predict(client, "crash")
        assert response.status_code == 503, response.text
        assert response.json()["error"]["code"] == "model_unavailable"
        assert "(error: crashed)" in response.json()["error"]["message"]
        assert client.get("/healthz").status_code == 200


def test_thread_isolation_runs_the_fallback_off_the_event_loop(settings: Settings) -> None:
    """TANDEM_MODEL_ISOLATION=thread: no worker processes, and a fallback that runs
    away still ends at its own budget (it runs on the fallback threads)."""
    settings = settings.model_copy(update={"model_isolation": "thread"})
    with _serve(settings, {"slow": ("sleep everywhere", True)}) as client:
        assert client.app.state.services.predictions.isolation is None  # type: ignore[attr-defined]
        took, response = _predict(client, "slow")
        assert response.status_code == 503, response.text
        assert "fallback (timeout)" in response.json()["error"]["message"]
        assert took < (1 + FALLBACK_BUDGET_FACTOR) * BUDGET_MS + SLACK_MS


def _children(parents: set[int]) -> set[int]:
    found = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(stat[1]) in parents and stat[0] != "Z":
                found.add(int(entry.name))
    return found


def _processes() -> set[int]:
    """This process's children and grandchildren: model workers are the zygote's."""
    children = _children({os.getpid()})
    return children | _children(children)


def test_an_app_whose_models_run_on_threads_starts_no_process(settings: Settings) -> None:
    store = open_store(settings.resolved_database_url)
    register(
        store, ArtifactStore(settings.artifacts_dir), "fake", artifact("ok"), {}, production=True
    )
    store.close()
    before = _processes()
    with app_client(settings, {"fake": FakeFamily("fake")}) as client:
        assert _model_answers(client, "fake")
        assert not _isolation(client).started
        assert _processes() <= before


def test_apps_share_one_pool_whose_workers_the_last_one_out_stops(settings: Settings) -> None:
    # The second app's store is its own (SQLite in its home): this is about the pool.
    other = settings.model_copy(update={"home": settings.home / "other", "database_url": None})
    with _serve(settings, {"fake": ("ok", True)}) as first:
        _warm(first, "fake")
        with _serve(other, {"fake": ("ok", True)}) as second:
            _warm(second, "fake")
            assert _pool(first) is _pool(second)
        # The second app is gone; the first still has its workers.
        assert not _isolation(second).started
        assert _pids(first) <= _processes()
        _warm(first, "fake")
        pids = _settled(first)
    _wait_for(lambda: not pids & _processes(), 10)


def test_a_worker_holds_the_versions_it_used_last(settings: Settings) -> None:
    """Versions past MAX_LOADED push the least recently used out of a worker; one
    asked for again is loaded again, and answers as before."""
    artifacts = ArtifactStore(settings.artifacts_dir)
    family = FakeFamily("fake")
    versions = []
    for i in range(MAX_LOADED + 2):
        content = artifact("ok", p_a=0.5 + i / 100, isolation="process").content
        sha = artifacts.put(content)
        versions.append((("fake", f"v{i}", sha), Source(family, artifacts.root, sha, f"v{i}")))

    async def scores() -> list[float]:
        pool = ProcessPool(1)
        try:
            out = []
            for key, source in [*versions, versions[0], versions[-1]]:
                answer = await pool.run("score", source, key, {"text": "aaa"}, 5.0)
                out.append(round(float(answer.probabilities[0]), 2))
            return out
        finally:
            await asyncio.to_thread(pool.close)

    expected = [0.5 + i / 100 for i in range(MAX_LOADED + 2)]
    assert asyncio.run(scores()) == [round(p, 2) for p in [*expected, expected[0], expected[-1]]]
