"""A model version's logged predictions, or its drift reference, out to Parquet with one
column per feature: for logs larger than one database, DuckDB or Spark compute the same
drift statistics from the files (docs/drift.md shows the queries).

Written a chunk of the store's feature blocks at a time (one row group each), so memory
holds a chunk, not the window."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from tandem.errors import InvalidInput
from tandem.monitor.model_drift import production_or
from tandem.monitor.reference import load_reference
from tandem.store.monitoring_store import MonitoringStore
from tandem.store.prediction_log import PredictionFilter

NO_LIMIT = 2**62  # every row of the window: the export streams, so none is too many


def _pyarrow() -> Any:
    try:
        import pyarrow as pa
        import pyarrow.parquet  # noqa: F401  (pa.parquet is there only once imported)
    except ImportError:
        raise InvalidInput("Parquet files need pyarrow: pip install 'tandem[parquet]'") from None
    return pa


def export_predictions(
    store: MonitoringStore, where: PredictionFilter, out: Path
) -> tuple[str, int]:
    """Write every logged prediction of `where.model` (its production version, or
    `where.version`) in [where.since, where.until) to `out`; the export streams, so
    `where.limit` does not apply. Columns: created_at, model, model_version, label,
    confidence, route, then each logged feature as a float64 column (null where a
    prediction lacks it or logged something not a number). Returns the version and the
    row count."""
    if where.model is None:
        raise InvalidInput("an export is of one model's predictions: name the model")
    pa = _pyarrow()
    model = where.model
    version = production_or(store, model, where.version)
    live = store.logged_feature_chunks(replace(where, version=version, limit=NO_LIMIT))
    fields = [
        ("created_at", pa.timestamp("us", tz="UTC")),
        ("model", pa.string()),
        ("model_version", pa.string()),
        ("label", pa.string()),
        ("confidence", pa.float64()),
        ("route", pa.string()),
    ]
    schema = pa.schema(fields + [(n, pa.float64()) for n in live.names])
    rows = 0
    part = out.with_name(out.name + ".part")
    with pa.parquet.ParquetWriter(part, schema) as writer:
        for chunk in live.chunks:
            n = chunk.rows
            times = np.concatenate([b.times for b in chunk.blocks])
            columns = [
                pa.array(times, type=pa.timestamp("us", tz="UTC")),
                pa.array([model] * n, type=pa.string()),
                pa.array([version] * n, type=pa.string()),
                pa.array(chunk.labels.tolist(), type=pa.string()),
                pa.array(chunk.confidences),
                pa.array(chunk.routes.tolist(), type=pa.string()),
            ]
            columns += [pa.array(chunk.column(name), from_pandas=True) for name in live.names]
            writer.write_table(pa.Table.from_arrays(columns, schema=schema))
            rows += n
    part.replace(out)
    return version, rows


def export_reference(
    store: MonitoringStore, model: str, out: Path, version: str | None = None
) -> tuple[str, int]:
    """Write the drift reference of `model`'s production version (or `version`) to
    `out`: each feature as a float64 column, then the label the model predicted for
    the row and its confidence. Returns the version and the row count."""
    pa = _pyarrow()
    version = production_or(store, model, version)
    _, reference = load_reference(store, model, version)
    columns = {
        name: pa.array(reference.values[:, j], from_pandas=True)
        for j, name in enumerate(reference.feature_names)
    }
    columns["label"] = pa.array(list(reference.predicted), type=pa.string())
    columns["confidence"] = pa.array(reference.confidences)
    part = out.with_name(out.name + ".part")
    pa.parquet.write_table(pa.table(columns), part)
    part.replace(out)
    return version, reference.rows
