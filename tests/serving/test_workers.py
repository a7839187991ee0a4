"""`tandem serve --workers 2` against one PostgreSQL: both processes answer, and every
prediction is stored exactly once (its intake row beside it), none extra."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tandem.settings import Settings
from tandem.store import make_engine, open_store, upgrade
from tests.conftest import QUESTION, TEST_DATABASE_URL, env_for, free_port, fresh_database, make_key
from tests.rows import settled

pytestmark = [
    pytest.mark.server,
    pytest.mark.skipif(
        TEST_DATABASE_URL is None,
        reason="several workers share one PostgreSQL; set TANDEM_TEST_DATABASE_URL "
        "(scripts/test.sh starts a throwaway cluster and runs the suite again with it)",
    ),
]

PREDICTIONS = 300
UNKNOWN = 20  # refused requests: the ledger counts them too


@pytest.fixture
def two_workers(trained_home: Settings) -> Iterator[str]:
    port = free_port()
    tandem = Path(sys.executable).parent / "tandem"
    log_path = trained_home.home / "serve.log"
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            [str(tandem), "serve", "--port", str(port), "--workers", "2"],
            env=env_for(trained_home),
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            url = f"http://127.0.0.1:{port}"
            _wait_for_workers(proc, url, log_path, 2)
            yield url
        finally:
            proc.terminate()
            proc.wait(timeout=30)


def _wait_for_workers(proc: subprocess.Popen[bytes], url: str, log_path: Path, count: int) -> None:
    """Until `count` different processes have answered /healthz (a new connection each
    time, so the kernel hands it to whichever worker is waiting)."""
    seen: set[str] = set()
    deadline = time.monotonic() + 120
    while len(seen) < count:
        if proc.poll() is not None:
            raise RuntimeError(f"tandem serve exited: {log_path.read_text()}")
        if time.monotonic() > deadline:
            raise RuntimeError(f"only workers {seen} answered within 120 s")
        try:
            r = httpx.get(f"{url}/healthz", timeout=2)
            if r.status_code == 200:
                seen.add(str(r.json()["pid"]))
                assert r.headers["x-tandem-worker"] == str(r.json()["pid"])
        except httpx.TransportError:
            time.sleep(0.2)


async def _send(url: str, key: str) -> list[httpx.Response]:
    # No keep-alive: every request is a new connection, accepted by either worker.
    limits = httpx.Limits(max_connections=32, max_keepalive_connections=0)
    headers = {"Authorization": f"Bearer {key}"}
    async with httpx.AsyncClient(base_url=url, timeout=30, limits=limits, headers=headers) as http:
        bodies = [{"model": "ml-editor", "input": QUESTION}] * PREDICTIONS
        bodies += [{"model": "nope", "input": QUESTION}] * UNKNOWN
        return await asyncio.gather(*(http.post("/v1/predict", json=b) for b in bodies))


def test_two_workers_store_every_prediction_once(two_workers: str, trained_home: Settings) -> None:
    responses = asyncio.run(_send(two_workers, make_key(trained_home, "client", "workers-client")))
    answered = [r for r in responses if r.status_code == 200]
    assert len(answered) == PREDICTIONS, [r.text for r in responses if r.status_code != 200][:3]
    assert sum(r.status_code == 404 for r in responses) == UNKNOWN
    workers = {r.headers["x-tandem-worker"] for r in answered}
    assert len(workers) == 2, f"only worker(s) {workers} answered"
    ids = [r.json()["id"] for r in answered]
    assert len(set(ids)) == PREDICTIONS

    store = open_store(trained_home.resolved_database_url, migrate=False)
    try:
        stored = store.list_prediction_ids(model="ml-editor")
        assert sorted(stored) == sorted(ids)  # each once, and nothing else
        assert store.intake_counts() == settled(answered=PREDICTIONS, failed=UNKNOWN)
    finally:
        store.close()


def test_concurrent_start_ups_migrate_a_fresh_database_once() -> None:
    with fresh_database("migrate") as url:
        assert url is not None
        errors: list[BaseException] = []

        def start_up() -> None:
            engine = make_engine(url)
            try:
                upgrade(engine)
            except BaseException as exc:
                errors.append(exc)
            finally:
                engine.dispose()

        threads = [threading.Thread(target=start_up) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)
        assert errors == []
        store = open_store(url, migrate=False)
        try:
            assert store.intake_counts()["received"] == 0  # the newest table is there
        finally:
            store.close()
