"""The drift API and page: answers for every case a caller can get wrong, and the page a
person reads (histograms, drifted features first)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from tandem.models.artifacts import ArtifactStore
from tandem.monitor.model_drift import drift_for
from tandem.registry.versions import register
from tandem.settings import Settings
from tandem.store import open_store
from tests.conftest import app_client
from tests.fakes import FakeFamily, artifact
from tests.monitor.test_drift_live import held_out, send, unit_change


@pytest.fixture
def fake_client(settings: Settings) -> Iterator[TestClient]:
    """A model registered without a drift reference (as `tandem models add` without
    --reference leaves one)."""
    store = open_store(settings.resolved_database_url)
    register(store, ArtifactStore(settings.artifacts_dir), "fake", artifact(), {}, production=True)
    store.close()
    with app_client(settings, {"fake": FakeFamily()}) as c:
        yield c


def _error(client: TestClient, status: int, **params: str) -> str:
    response = client.get("/v1/monitor/drift", params=params)
    assert response.status_code == status, response.text
    message: str = response.json()["error"]["message"]
    return message


@pytest.mark.parametrize(
    ("params", "status", "says"),
    [
        ({"model": "spam"}, 404, "unknown model 'spam'; registered models: digits, ml-editor"),
        ({"model": "digits", "version": "nope"}, 404, "no version 'nope' of model 'digits'"),
        ({"model": "digits", "since": "2026-02-01", "until": "2026-01-01"}, 422, "must be before"),
        ({"model": "digits", "since": "last tuesday"}, 422, "since"),
        ({"model": "digits", "psi_threshold": "-1"}, 422, "psi_threshold"),
        ({}, 422, "model"),
    ],
)
def test_bad_requests_are_clear_4xx(
    digits_client: TestClient, params: dict[str, str], status: int, says: str
) -> None:
    assert says in _error(digits_client, status, **params)


def test_a_version_without_reference_says_how_to_add_one(fake_client: TestClient) -> None:
    response = fake_client.get("/v1/monitor/drift", params={"model": "fake"})
    assert response.status_code == 409
    error = response.json()["error"]
    assert error["code"] == "no_drift_reference"
    assert "tandem models reference fake" in error["message"]
    page = fake_client.get("/monitor/drift", params={"model": "fake"})
    assert page.status_code == 409 and "tandem models reference fake" in page.text


def test_too_few_live_rows_is_an_answer_not_an_error(digits_client: TestClient) -> None:
    send(digits_client, "digits", [{"pixels": [0] * 64}] * 3)
    body = digits_client.get("/v1/monitor/drift", params={"model": "digits"}).json()
    assert body["enough_data"] is False and body["drifted"] is False
    assert body["live_rows"] == 3 and body["features"] == []
    assert "only 3 live prediction(s)" in body["message"] and "at least 30" in body["message"]
    page = digits_client.get("/monitor/drift", params={"model": "digits"})
    assert page.status_code == 200 and "Not enough data" in page.text


@pytest.mark.parametrize(("min_rows", "enough"), [(4, True), (5, False)])
def test_exactly_min_rows_live_rows_are_enough(
    digits_client: TestClient, data_dir: Path, min_rows: int, enough: bool
) -> None:
    send(digits_client, "digits", held_out("digits", data_dir)[:4])
    store = digits_client.app.state.store  # type: ignore[attr-defined]
    result = drift_for(store, "digits", min_rows=min_rows)
    assert (result.live_rows, result.enough_data) == (4, enough)
    assert (len(result.features.features) if result.features else 0) == (64 if enough else 0)
    # The model's outputs are compared under the same rule, on the answered rows.
    assert (result.predictions is not None, result.confidence is not None) == (enough, enough)
    assert ("only 4 live prediction(s)" in result.message) is not enough


def test_thresholds_come_from_settings_and_the_query(
    trained_home: Settings, digits_client: TestClient, data_dir: Path
) -> None:
    send(digits_client, "ml-editor", held_out("ml-editor", data_dir)[:60])
    strict = trained_home.model_copy(update={"drift_psi_threshold": 0.001})
    with app_client(strict) as client:
        body = client.get("/v1/monitor/drift", params={"model": "ml-editor"}).json()
    assert body["thresholds"]["psi"] == 0.001 and body["drifted"]  # any noise is over 0.001
    lax = digits_client.get(
        "/v1/monitor/drift",
        params={"model": "ml-editor", "psi_threshold": "50", "ks_pvalue": "1e-9"},
    ).json()
    assert lax["thresholds"]["psi"] == 50 and lax["drifted_features"] == []
    assert lax["reference_rows"] == 2046 and lax["window_rows"] == 60


def test_the_page_draws_training_vs_live_drifted_first(
    digits_client: TestClient, data_dir: Path
) -> None:
    inputs = held_out("digits", data_dir)[:100]
    send(digits_client, "digits", [c for c in (unit_change("digits", x) for x in inputs) if c])
    page = digits_client.get("/monitor/drift", params={"model": "digits"}).text
    assert "Drift</span>" in page and "px_r3_c3 (PSI" in page
    figures = re.findall(r'<figure id="plot-\d+" data-feature="([^"]+)">\s*<svg', page)
    # the model's outputs first, then the drifted pixel, then the 11 most shifted others
    assert figures[:3] == ["predicted label", "confidence", "px_r3_c3"] and len(figures) == 14
    assert "52 more features not drawn" in page
    everything = digits_client.get("/monitor/drift", params={"model": "digits", "all": "1"}).text
    assert everything.count("<svg") == 66


def test_model_pages_link_to_monitoring(digits_client: TestClient) -> None:
    listing = digits_client.get("/models").text
    assert "/monitor/drift?model=digits&amp;version=" in listing
    assert "/monitor/quality?model=ml-editor" in listing
    chooser = digits_client.get("/monitor/drift").text
    assert 'href="/monitor/drift?model=digits"' in chooser
