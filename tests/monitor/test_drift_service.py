"""drift_for on a real store: which logged rows it reads (model, version, window, limit)
and what its answer says when there are too few."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest
from fastapi.testclient import TestClient

from tandem.models.artifacts import ArtifactStore
from tandem.models.interface import ModelFamily
from tandem.models.reference_sample import ReferenceSample
from tandem.monitor.model_drift import drift_for
from tandem.monitor.results import DriftConfig
from tandem.registry.versions import register
from tandem.settings import Settings
from tandem.store import open_store
from tandem.store.base import Store
from tests.conftest import app_client
from tests.fakes import FakeFamily, artifact
from tests.monitor.helpers import log_traffic
from tests.monitor.test_drift_live import held_out, send

LENGTHS = np.arange(1.0, 201.0)
REFERENCE = ReferenceSample(
    feature_names=("length",),
    values=LENGTHS.reshape(-1, 1),
    predicted=("a",) * LENGTHS.size,
    confidences=np.full(LENGTHS.size, 0.7),
    source="lengths 1-200",
    total_rows=1_000,
)


@pytest.fixture
def fake(settings: Settings) -> Iterator[tuple[TestClient, Store, str, str]]:
    """The fake model in production (v1) and a candidate (v2), both with a reference."""
    store = open_store(settings.resolved_database_url)
    artifacts = ArtifactStore(settings.artifacts_dir)
    v1, v2 = (
        register(
            store, artifacts, "fake", replace(artifact(p_a=p), reference=REFERENCE), {}, i == 0
        ).version
        for i, p in enumerate((0.7, 0.2))
    )
    with app_client(settings, families={"fake": FakeFamily()}) as client:
        yield client, store, v1, v2
    store.close()


def _texts(*lengths: int) -> list[dict[str, object]]:
    return [{"text": "x" * n} for n in lengths]


def test_too_few_rows_is_an_answer_that_says_what_was_read(
    fake: tuple[TestClient, Store, str, str],
) -> None:
    client, store, v1, _ = fake
    since = datetime.now(UTC) - timedelta(minutes=1)
    send(client, "fake", _texts(10, 20, 30))
    until = datetime.now(UTC) + timedelta(minutes=1)
    result = drift_for(store, "fake", since, until, min_rows=4)
    assert (result.model, result.version, result.since, result.until) == ("fake", v1, since, until)
    assert (result.live_rows, result.window_rows) == (3, 3)
    assert (result.reference_rows, result.reference_source) == (200, "lengths 1-200")
    assert (result.enough_data, result.drifted, result.drifted_features) == (False, False, ())
    assert (result.min_rows, result.config, result.features) == (4, DriftConfig(), None)
    assert result.message == (
        f"only 3 live prediction(s) of fake {v1} between {since:%Y-%m-%d %H:%M} and "
        f"{until:%Y-%m-%d %H:%M} UTC; drift needs at least 4: widen the window (since/until) "
        "or wait for more traffic"
    )
    assert set(result.timings) == {"read_s"}
    read = result.timings["read_s"]
    assert isinstance(read, float) and 0 <= read < 60


def test_rows_are_read_by_version_window_and_limit(
    fake: tuple[TestClient, Store, str, str],
) -> None:
    client, store, v1, v2 = fake
    start = datetime.now(UTC)
    send(client, "fake", _texts(10, 20, 30))
    middle = datetime.now(UTC)
    send(client, "fake", _texts(40, 50))
    end = datetime.now(UTC) + timedelta(seconds=1)

    def rows(**kwargs: object) -> tuple[int, int]:
        found = drift_for(store, "fake", min_rows=1, **kwargs)  # type: ignore[arg-type]
        return found.live_rows, found.window_rows

    assert rows(since=start, until=middle) == (3, 3)
    assert rows(since=middle, until=end) == (2, 2)
    assert rows(since=start, until=end, max_rows=2) == (2, 5)  # the newest 2
    assert rows(since=start, until=end, version=v2) == (0, 0)  # v2 served nothing
    whole = drift_for(store, "fake", until=end, default_window=timedelta(hours=1), min_rows=1)
    assert (whole.since, whole.live_rows, whole.enough_data) == (end - timedelta(hours=1), 5, True)
    assert whole.missing_features == () and "not logged" not in whole.message
    assert set(whole.timings) == {"read_s", "statistics_s"}


def _served(settings: Settings, **behaviour: object) -> TestClient:
    store = open_store(settings.resolved_database_url)
    sample = replace(artifact(**behaviour), reference=REFERENCE)  # type: ignore[arg-type]
    register(store, ArtifactStore(settings.artifacts_dir), "fake", sample, {}, production=True)
    store.close()
    # A generous budget: on a busy machine no answer may fall back unless the case says so.
    patient = settings.model_copy(update={"latency_budget_ms": 10_000})
    return app_client(patient, families={"fake": FakeFamily()})


SAME = [int(n) for n in LENGTHS[::4]]  # 50 rows spread like the reference
LONG = [1_000] * 50


@pytest.mark.parametrize(
    ("behaviour", "lengths", "features", "outputs"),
    [
        ({"p_a": 0.7}, SAME, False, False),  # answers "a" at 0.7, like the reference
        ({"p_a": 0.7}, LONG, True, False),
        ({"p_a": 0.2}, SAME, False, True),  # answers "b" at 0.8: only the outputs moved
        ({"behaviour": "raise"}, LONG, True, None),  # every answer a fallback: no outputs
    ],
)
def test_drifted_is_any_feature_or_any_model_output(
    settings: Settings,
    behaviour: dict[str, object],
    lengths: list[int],
    features: bool,
    outputs: bool | None,
) -> None:
    with _served(settings, **behaviour) as client:
        send(client, "fake", _texts(*lengths))
        store = client.app.state.store  # type: ignore[attr-defined]
        result = drift_for(store, "fake", min_rows=50)
    assert result.enough_data is True and result.features is not None
    assert [f.name for f in result.features.features] == ["length"]
    assert result.drifted_features == (("length",) if features else ())
    assert result.drifted is (features or bool(outputs))
    if outputs is None:
        assert (result.predictions, result.confidence) == (None, None)
    else:
        assert result.predictions is not None and result.confidence is not None
        assert (result.predictions.name, result.confidence.name) == (
            "predicted label",
            "confidence",
        )
        assert (result.predictions.live_size, result.confidence.live_size) == (50, 50)
        assert result.predictions.drifted is outputs and result.confidence.drifted is outputs
        assert result.predictions.kind == "categorical"
    # 50 rows give 2 PSI bins, not the configured 10
    assert result.config.psi_bins == 2 and result.features.config.psi_bins == 2
    moved = "1 of 1 features drifted: length (PSI " if features else "none of 1 features drifted"
    assert result.message.startswith(moved)
    assert ("the predicted label distribution drifted" in result.message) is bool(outputs)
    assert result.message.endswith("; PSI on 2 bins, not 10: 50 live rows give under 25 a bin")
    assert result.missing_features == ()
    assert set(result.timings) == {"read_s", "statistics_s"}
    assert all(isinstance(v, float) and 0 <= v < 60 for v in result.timings.values())


def test_the_thresholds_apply_to_the_model_outputs_too(settings: Settings) -> None:
    lax = DriftConfig(psi_threshold=50, ks_pvalue_threshold=1e-300, chi2_pvalue_threshold=1e-300)
    with _served(settings, p_a=0.2) as client:
        send(client, "fake", _texts(*SAME))
        store = client.app.state.store  # type: ignore[attr-defined]
        result = drift_for(store, "fake", config=lax, min_rows=50)
    assert result.predictions is not None and result.confidence is not None
    assert (result.drifted, result.predictions.drifted, result.confidence.drifted) == (
        False,
        False,
        False,
    )


def test_categorical_reference_features_are_compared_as_categories(settings: Settings) -> None:
    store = open_store(settings.resolved_database_url)
    sample = replace(artifact(), reference=replace(REFERENCE, categorical=("length",)))
    register(store, ArtifactStore(settings.artifacts_dir), "fake", sample, {}, production=True)
    store.close()
    with app_client(settings, families={"fake": FakeFamily()}) as client:
        send(client, "fake", _texts(*SAME[:10]))
        store = client.app.state.store  # type: ignore[attr-defined]
        result = drift_for(store, "fake", min_rows=10)
    assert result.features is not None
    assert result.features.feature("length").kind == "categorical"


def test_rows_of_other_models_are_not_read(digits_client: TestClient, data_dir: Path) -> None:
    send(digits_client, "digits", held_out("digits", data_dir)[:3])
    send(digits_client, "ml-editor", held_out("ml-editor", data_dir)[:4])
    store = digits_client.app.state.store  # type: ignore[attr-defined]
    assert drift_for(store, "digits", min_rows=1).live_rows == 3
    assert drift_for(store, "ml-editor", min_rows=1).live_rows == 4


class _Twin(FakeFamily):
    name = "twin"


def test_rows_of_another_model_with_the_same_version_are_not_read(settings: Settings) -> None:
    """A version is its artifact's hash, so two models trained to the same bytes share
    it: only the model's own rows count."""
    store = open_store(settings.resolved_database_url)
    artifacts = ArtifactStore(settings.artifacts_dir)
    sample = replace(artifact(p_a=0.7), reference=REFERENCE)
    versions = {register(store, artifacts, n, sample, {}, True).version for n in ("fake", "twin")}
    assert len(versions) == 1
    families: dict[str, ModelFamily] = {"fake": FakeFamily(), "twin": _Twin()}
    with app_client(settings, families=families) as client:
        send(client, "fake", _texts(10, 20, 30))
        send(client, "twin", _texts(40, 50))
    assert drift_for(store, "fake", min_rows=1).live_rows == 3
    assert drift_for(store, "twin", min_rows=1).live_rows == 2
    store.close()


def test_a_reference_feature_never_logged_is_named_not_compared(settings: Settings) -> None:
    """The fake model logs only `length`: `colour`, in its reference, is missing."""
    store = open_store(settings.resolved_database_url)
    reference = replace(
        REFERENCE,
        feature_names=("length", "colour"),
        values=np.column_stack([LENGTHS, LENGTHS]),
    )
    sample = replace(artifact(p_a=0.7), reference=reference)
    register(store, ArtifactStore(settings.artifacts_dir), "fake", sample, {}, production=True)
    with app_client(settings, families={"fake": FakeFamily()}) as client:
        send(client, "fake", _texts(10, 20, 30))
    found = drift_for(store, "fake", min_rows=1)
    store.close()
    assert found.missing_features == ("colour",)
    assert [f.name for f in found.features.features] == ["length"]  # type: ignore[union-attr]
    assert "; not logged in the window: colour;" in found.message


def test_no_note_on_bins_when_the_rows_fill_the_bins_asked_for(
    fake: tuple[TestClient, Store, str, str],
) -> None:
    client, store, _, _ = fake
    send(client, "fake", _texts(10, 20, 30))
    found = drift_for(store, "fake", config=DriftConfig(psi_bins=2), min_rows=1)
    assert found.config.psi_bins == 2
    assert found.message == "1 of 1 features drifted: length (PSI 4.60)"


def test_drift_read_in_chunks_equals_the_whole_columns_compared_at_once(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A window read a few blocks at a time gives, to the last bit, what comparing its
    whole columns at once gives: the features, the predicted labels and the confidence
    (on the answered rows only)."""
    from tandem.monitor.drift import categorical_drift, numeric_drift
    from tandem.store import sql_drift

    monkeypatch.setattr(sql_drift, "CHUNK_ROWS", 150)
    store = open_store(settings.resolved_database_url)
    sample = replace(artifact(p_a=0.7), reference=REFERENCE)
    v1 = register(store, ArtifactStore(settings.artifacts_dir), "fake", sample, {}, True).version
    rng = np.random.default_rng(3)
    start = datetime(2026, 3, 1, tzinfo=UTC)
    lengths = np.round(rng.normal(120, 40, 2_000))  # ties with the reference's integers
    logged = log_traffic(store, v1, start, [{"length": float(x)} for x in lengths], rng, batch=64)
    until = start + timedelta(hours=1)
    found = drift_for(store, "fake", start, until, max_rows=1_500)
    newest = logged[-1_500:]
    assert (found.live_rows, found.window_rows) == (1_500, 2_000)
    assert found.features is not None
    assert found.features.features == (
        numeric_drift("length", LENGTHS, [p.features["length"] for p in newest]),
    )
    answered = [p for p in newest if p.route != "fallback"]
    assert found.predictions == categorical_drift(
        "predicted label", list(REFERENCE.predicted), [p.label for p in answered]
    )
    assert found.confidence == numeric_drift(
        "confidence", REFERENCE.confidences, [p.confidence for p in answered]
    )
    # The window starts inside a block: the same holds for the rows it cuts.
    later = drift_for(store, "fake", start + timedelta(seconds=1_001), until)
    store.close()
    assert later.features is not None and later.live_rows == 999
    assert later.features.features == (numeric_drift("length", LENGTHS, lengths[1_001:]),)
