"""Drift references and logged features in the store, on SQLite and PostgreSQL alike."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import numpy as np
import pytest

from tandem.domain import ModelVersion
from tandem.errors import NotFound
from tandem.models.reference_sample import ReferenceSample, sample_reference
from tandem.monitor.reference import MissingReference, load_reference, save_reference
from tandem.settings import Settings
from tandem.store.base import LogEntry, PredictionFilter, Store
from tests.rows import drift_reference_rows
from tests.store.test_sql_store import NOW, _prediction


def _version(store: Store, version: str = "v1") -> None:
    store.add_model_version(ModelVersion("m", version, NOW, "production", "a" * 64, "d" * 64))


def _sample(rows: int = 50, seed: int = 0) -> ReferenceSample:
    values = np.random.default_rng(seed).normal(size=(rows, 2))
    values[:, 1] = values[:, 1] > 0  # a flag
    return sample_reference(
        ["x", "flag"],
        values,
        ["a", "b"],
        lambda m: np.column_stack([1 / (1 + np.exp(m[:, 0])), 1 - 1 / (1 + np.exp(m[:, 0]))]),
    )


def test_reference_round_trip(store: Store) -> None:
    _version(store)
    sample = _sample()
    stored = save_reference(store, "m", "v1", sample)
    assert (stored.rows, stored.categorical) == (50, ["flag"])
    meta, loaded = load_reference(store, "m", "v1")
    assert np.array_equal(loaded.values, sample.values)
    assert loaded.predicted == sample.predicted
    assert np.array_equal(loaded.confidences, sample.confidences)
    assert meta.feature_names == ["x", "flag"]
    assert drift_reference_rows(store, "m") == [("v1", 50)]


def test_reference_is_replaced_and_needs_a_version(store: Store) -> None:
    _version(store)
    save_reference(store, "m", "v1", _sample(50))
    save_reference(store, "m", "v1", _sample(80, seed=1))
    assert load_reference(store, "m", "v1")[0].rows == 80
    with pytest.raises(NotFound):
        save_reference(store, "m", "v9", _sample())
    _version(store, "v2")
    with pytest.raises(MissingReference, match="tandem models reference m v2"):
        load_reference(store, "m", "v2")


def test_logged_features_as_columns(store: Store) -> None:
    for i in range(5):
        features = {"x": float(i), "y": 10.0 * i} if i != 2 else {"y": 20.0, "z": 1.0}
        store.add_predictions(
            [
                LogEntry(
                    replace(
                        _prediction(f"p{i}"),
                        created_at=NOW + timedelta(minutes=i),
                        features=features,
                        route="fallback" if i == 4 else "model",
                    )
                )
            ]
        )
    everything = store.logged_features(PredictionFilter(model="m", limit=100), ["x", "y"])
    assert everything.total == 5 and everything.values.shape == (5, 2)
    by_x = sorted(everything.values.tolist(), key=lambda r: r[1])
    assert np.isnan(by_x[2][0]) and by_x[2][1] == 20.0  # p2 has no x
    assert sorted(everything.routes) == ["fallback", "model", "model", "model", "model"]
    newest = store.logged_features(PredictionFilter(model="m", limit=2), ["x", "y"])
    assert newest.total == 5 and sorted(newest.values[:, 0].tolist()) == [3.0, 4.0]  # newest two
    window = PredictionFilter(
        model="m", since=NOW + timedelta(minutes=1), until=NOW + timedelta(minutes=3)
    )
    assert store.logged_features(window, ["x"]).total == 2
    assert store.logged_features(PredictionFilter(model="other"), ["x"]).values.shape == (0, 1)


def test_sample_is_seeded_and_capped() -> None:
    values = np.arange(30_000, dtype=float).reshape(-1, 1)
    first = sample_reference(["x"], values, ["a"], lambda m: np.ones((len(m), 1)))
    again = sample_reference(["x"], values, ["a"], lambda m: np.ones((len(m), 1)))
    assert first.rows == 10_000 and first.total_rows == 30_000
    assert np.array_equal(first.values, again.values)
    assert np.all(np.diff(first.values[:, 0]) > 0)  # kept in their original order


def test_registering_a_version_again_gives_it_its_reference(
    store: Store, settings: Settings
) -> None:
    from tandem.models.artifacts import ArtifactStore
    from tandem.registry.versions import register
    from tests.fakes import artifact

    artifacts = ArtifactStore(settings.artifacts_dir)
    before = register(store, artifacts, "fake", artifact(), {}, production=True)
    assert store.get_drift_reference("fake", before.version) is None  # as before 0004
    again = register(store, artifacts, "fake", replace(artifact(), reference=_sample()), {})
    assert again.version == before.version and again.status == "production"
    assert load_reference(store, "fake", again.version)[0].rows == 50
