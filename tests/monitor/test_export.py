"""`tandem predictions export`: a window's logged predictions and the drift reference as
Parquet, read back row for row, and the same PSI and chi-square computed from the files
in DuckDB SQL (benchmarks/drift_duckdb.py, the queries docs/drift.md shows)."""

from __future__ import annotations

import importlib.util
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest

from tandem.domain import Prediction, PredictionFilter
from tandem.models.artifacts import ArtifactStore
from tandem.monitor.export import export_predictions, export_reference
from tandem.monitor.model_drift import drift_for
from tandem.registry.versions import register
from tandem.settings import Settings
from tandem.store import open_store
from tandem.store.base import Store
from tests.cli.test_cli import _run
from tests.fakes import artifact
from tests.monitor.helpers import log_traffic
from tests.monitor.test_drift_service import REFERENCE

START = datetime(2026, 3, 1, tzinfo=UTC)
REFERENCE_LABELS = replace(
    REFERENCE, predicted=tuple(("a", "b")[i % 3 == 0] for i in range(REFERENCE.rows))
)


def _logged(store: Store, version: str, n: int = 2_000) -> list[Prediction]:
    rng = np.random.default_rng(11)
    lengths = np.round(rng.normal(110, 45, n), 1)
    rows = [{"length": float(x)} if i % 50 else {} for i, x in enumerate(lengths)]  # a few lack it
    return log_traffic(store, version, START, rows, rng, batch=300, label_p=[0.5, 0.3, 0.2])


@pytest.fixture
def exported(settings: Settings, tmp_path: Path) -> tuple[Settings, Store, str, list[Prediction]]:
    store = open_store(settings.resolved_database_url)
    sample = replace(artifact(p_a=0.7), reference=REFERENCE_LABELS)
    version = register(store, ArtifactStore(settings.artifacts_dir), "fake", sample, {}, True)
    logged = _logged(store, version.version)
    yield settings, store, version.version, logged  # type: ignore[misc]
    store.close()


def test_the_export_holds_every_logged_row_of_the_window(
    exported: tuple[Settings, Store, str, list[Prediction]], tmp_path: Path
) -> None:
    _, store, version, logged = exported
    out = tmp_path / "live.parquet"
    since, until = START + timedelta(seconds=100), START + timedelta(seconds=1_900)
    assert export_predictions(store, PredictionFilter("fake", since, until), out) == (
        version,
        1_800,
    )
    table = pq.read_table(out).to_pylist()
    wanted = logged[100:1_900]
    assert sorted(table, key=lambda r: r["created_at"]) == [
        {
            "created_at": p.created_at,
            "model": "fake",
            "model_version": version,
            "label": p.label,
            "confidence": p.confidence,
            "route": p.route,
            "length": p.features.get("length"),
        }
        for p in wanted
    ]
    ref = tmp_path / "reference.parquet"
    assert export_reference(store, "fake", ref) == (version, REFERENCE.rows)
    back = pq.read_table(ref).to_pydict()
    assert back["length"] == REFERENCE.values[:, 0].tolist()
    assert back["label"] == list(REFERENCE_LABELS.predicted)
    assert not (tmp_path / "live.parquet.part").exists()


def test_duckdb_over_the_export_gives_tandems_psi_and_chi_square(
    exported: tuple[Settings, Store, str, list[Prediction]], tmp_path: Path
) -> None:
    pytest.importorskip("duckdb")
    path = Path(__file__).parents[2] / "benchmarks" / "drift_duckdb.py"
    spec = importlib.util.spec_from_file_location("drift_duckdb", path)
    assert spec is not None and spec.loader is not None
    queries = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(queries)
    settings, store, _, _ = exported
    until = START + timedelta(hours=1)
    found = drift_for(store, "fake", START, until)
    assert found.features is not None and found.predictions is not None
    live, ref = tmp_path / "live.parquet", tmp_path / "reference.parquet"
    export_predictions(store, PredictionFilter("fake", START, until), live)
    export_reference(store, "fake", ref)
    sql = queries.drift_sql(str(live), str(ref), found.config.psi_bins)
    assert sql["psi"]["length"] == pytest.approx(found.features.feature("length").psi, abs=1e-12)
    assert found.predictions.chi2_statistic is not None
    assert sql["labels_chi2"] == pytest.approx(found.predictions.chi2_statistic, rel=1e-12)
    assert sql["labels_dof"] == 2


def test_the_cli_writes_both_files(
    exported: tuple[Settings, Store, str, list[Prediction]], tmp_path: Path
) -> None:
    settings, _, version, _ = exported
    out = tmp_path / "live.parquet"
    window = ("--since", "2026-03-01T00:00:00", "--until", "2026-03-01T00:10:00")
    done = _run(settings, "predictions", "export", "--model", "fake", "--out", str(out), *window)
    assert done.returncode == 0, done.stderr
    assert f"wrote 600 predictions of fake {version} to {out}" in done.stderr
    assert pq.read_table(out).num_rows == 600
    ref = tmp_path / "ref.parquet"
    done = _run(
        settings, "predictions", "export", "--model", "fake", "--reference", "--out", str(ref)
    )
    assert done.returncode == 0 and "wrote 200 reference rows" in done.stderr, done.stderr
    missing = _run(settings, "predictions", "export", "--model", "nope", "--out", str(out))
    assert missing.returncode != 0 and "Traceback" not in missing.stderr
