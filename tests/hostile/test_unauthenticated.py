"""Keyless traffic is counted, never stored: it cannot grow the store or fire alerts."""

from __future__ import annotations

from itertools import cycle

import sqlalchemy as sa
from fastapi.testclient import TestClient

from tandem.app import create_app
from tandem.settings import Settings
from tandem.store.base import Store
from tandem.store.tables import metadata
from tests.conftest import QUESTION, ROOT, bearer, make_key, predict

REQUESTS = 2000
JSON = {"content-type": "application/json"}
KEYLESS = [
    {"json": {"model": "ml-editor", "input": QUESTION}},
    {"json": {"model": "ml-editor", "input": QUESTION}, "headers": bearer("tk_not-a-key")},
    {"json": {"model": "ml-editor", "input": QUESTION}, "headers": {"authorization": "Basic x"}},
    {"content": b'{"model": "ml-', "headers": JSON},  # malformed: refused before the key check
    {"content": b"\xff\xfe", "headers": JSON},  # not UTF-8: refused by the input gate
    {"content": b"x" * 300_000, "headers": JSON},  # too large: refused before it is read
]


def row_counts(store: Store) -> dict[str, int]:
    engine: sa.Engine = store.engine  # type: ignore[attr-defined]
    with engine.connect() as conn:
        return {
            t.name: conn.execute(sa.select(sa.func.count()).select_from(t)).scalar_one()
            for t in metadata.sorted_tables
        }


def unauthenticated_total(client: TestClient, key: str) -> float:
    text = client.get("/metrics", headers=bearer(key)).text
    assert "# TYPE tandem_unauthenticated_total counter" in text
    (line,) = [x for x in text.splitlines() if x.startswith("tandem_unauthenticated_total ")]
    return float(line.split()[1])


def test_keyless_requests_are_counted_and_store_nothing(trained_home: Settings) -> None:
    admin = make_key(trained_home, "admin")
    rules = ROOT / "examples" / "monitoring.toml"  # has an error_rate alert rule
    with TestClient(create_app(trained_home.model_copy(update={"concerns_file": rules}))) as c:
        store: Store = c.app.state.store  # type: ignore[attr-defined]
        predict_with_key = TestClient(c.app, headers=bearer(admin))
        predict(predict_with_key)  # the intake and prediction tables are not empty
        assert unauthenticated_total(c, admin) == 0
        before = row_counts(store)
        assert before["intake"] == 1

        statuses = set()
        for _, request in zip(range(REQUESTS), cycle(KEYLESS), strict=False):
            statuses.add(c.post("/v1/predict", **request).status_code)  # type: ignore[arg-type]
        assert statuses == {400, 401, 413, 422}

        assert row_counts(store) == before
        assert unauthenticated_total(c, admin) == REQUESTS
        # The alert signal saw one request, answered; nothing fires.
        result = c.app.state.monitoring.check()  # type: ignore[attr-defined]
        (check,) = [x for x in result.checks if x.signal == "error_rate"]
        assert (check.value, check.ok) == (0.0, True)
        assert result.transitions == []


def test_refusals_with_a_valid_key_are_still_in_the_ledger(client: TestClient) -> None:
    """received = answered + failed, for everyone who holds a key."""
    predict(client)
    assert client.post("/v1/predict", json={"model": "nope", "input": QUESTION}).status_code == 404
    assert client.post("/v1/predict", content=b'{"model": "ml-', headers=JSON).status_code == 422
    assert client.post("/v1/predict", content=b"x" * 300_000, headers=JSON).status_code == 413
    store: Store = client.app.state.store  # type: ignore[attr-defined]
    counts = store.intake_counts()
    assert counts["received"] == 4 == counts["answered"] + counts["failed"]
    assert counts["failed"] == 3
