"""Drift as an alert: a rule over the drift signal fires on a unit change, keeps the
evidence, and publishes each feature's PSI on /metrics."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from tandem.models.artifacts import ArtifactStore
from tandem.registry.versions import register
from tandem.settings import Settings
from tandem.store import open_store
from tandem_examples.digits.family import family as digits
from tests.conftest import app_client
from tests.monitor.helpers import write_config
from tests.monitor.test_drift_live import held_out, send, unit_change

RULES = """
[[alerts]]
name = "digits_drift"
signal = "drift"
params = { model = "digits" }
window = "1d"
max = 0.2
"""


@pytest.fixture
def client(trained_home: Settings, digits_artifact: object, tmp_path: Path) -> Iterator[TestClient]:
    store = open_store(trained_home.resolved_database_url)
    register(
        store,
        ArtifactStore(trained_home.artifacts_dir),
        "digits",
        digits_artifact,  # type: ignore[arg-type]
        digits.card_defaults(),
        production=True,
    )
    store.close()
    settings = trained_home.model_copy(
        update={"concerns_file": write_config(tmp_path, RULES), "alert_interval_s": 0.0}
    )
    with app_client(settings) as c:
        yield c


def _check(client: TestClient) -> dict[str, dict[str, object]]:
    assert client.post("/v1/alerts/check").status_code == 200
    firing = client.get("/v1/alerts", params={"state": "firing"}).json()["alerts"]
    return {a["rule"]: a for a in firing}


def test_a_unit_change_fires_the_drift_rule(client: TestClient, data_dir: Path) -> None:
    inputs = held_out("digits", data_dir)[:300]
    send(client, "digits", inputs)
    assert "digits_drift" not in _check(client)
    metrics = client.get("/metrics").text
    calm = re.search(r'tandem_drift_psi\{[^}]*feature="px_r3_c3"[^}]*\} (\S+)', metrics)
    assert calm is not None and float(calm.group(1)) < 0.2

    changed = [c for c in (unit_change("digits", x) for x in inputs) if c is not None]
    send(client, "digits", changed + changed)
    firing = _check(client)
    assert "digits_drift" in firing
    evidence = firing["digits_drift"]["evidence"]
    assert isinstance(evidence, dict) and "px_r3_c3" in str(evidence)
    metrics = client.get("/metrics").text
    hot = re.search(r'tandem_drift_psi\{[^}]*feature="px_r3_c3"[^}]*\} (\S+)', metrics)
    assert hot is not None and float(hot.group(1)) > 0.2
    assert re.search(r'tandem_alert_firing\{rule="digits_drift"\} 1', metrics)
