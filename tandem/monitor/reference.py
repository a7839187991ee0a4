"""Drift references in the store: one compressed blob per model version, so every worker
and machine compares live traffic with the same sample."""

from __future__ import annotations

import io

import numpy as np

from tandem.clock import utcnow
from tandem.domain import StoredReference
from tandem.errors import Conflict
from tandem.models.reference_sample import ReferenceSample
from tandem.store.registry_store import DriftReferences, RegistryStore


class MissingReference(Conflict):
    """The version exists but has nothing to compare live traffic with."""

    code = "no_drift_reference"


def how_to_add(model: str, version: str, added: bool = False) -> str:
    """What to run: `added` for a model added from a saved file, which Tandem cannot
    train again."""
    again = (
        "next time, give it to `tandem models add` as `--reference ROWS`"
        if added
        else f"a model Tandem trains gets one when trained again (`tandem train {model}`)"
    )
    return (
        f"version {version!r} of {model!r} has no drift reference (a sample of its training "
        "features to compare live traffic with). Add one with "
        f"`tandem models reference {model} {version} ROWS`, where ROWS is a file of feature "
        "rows such as the training data: a CSV whose header names the features, a JSON list "
        f"of objects or a .npy in the model's feature order; {again}"
    )


def encode(model: str, version: str, sample: ReferenceSample) -> StoredReference:
    buffer = io.BytesIO()
    np.savez_compressed(
        buffer,
        values=sample.values,
        predicted=np.asarray(sample.predicted, dtype=str),
        confidences=sample.confidences,
    )
    return StoredReference(
        model=model,
        version=version,
        created_at=utcnow(),
        rows=sample.rows,
        total_rows=sample.total_rows or sample.rows,
        source=sample.source[:200],
        feature_names=list(sample.feature_names),
        categorical=list(sample.categorical),
        payload=buffer.getvalue(),
    )


def decode(stored: StoredReference) -> ReferenceSample:
    with np.load(io.BytesIO(stored.payload), allow_pickle=False) as arrays:
        values = np.asarray(arrays["values"], dtype=np.float64)
        predicted = tuple(str(v) for v in arrays["predicted"].tolist())
        confidences = np.asarray(arrays["confidences"], dtype=np.float64)
    return ReferenceSample(
        feature_names=tuple(stored.feature_names),
        values=values,
        predicted=predicted,
        confidences=confidences,
        categorical=tuple(stored.categorical),
        source=stored.source,
        total_rows=stored.total_rows,
    )


def save_reference(
    store: RegistryStore, model: str, version: str, sample: ReferenceSample
) -> StoredReference:
    """Store `sample` as the reference of a registered version (replacing any)."""
    store.get_model_version(model, version)  # NotFound for an unknown version
    stored = encode(model, version, sample)
    store.put_drift_reference(stored)
    return stored


def load_reference(
    store: DriftReferences, model: str, version: str, *, added: bool = False
) -> tuple[StoredReference, ReferenceSample]:
    """The version's reference, or MissingReference saying how to add one (`added`: for
    a model added from a saved file)."""
    stored = store.get_drift_reference(model, version)
    if stored is None:
        raise MissingReference(how_to_add(model, version, added))
    return stored, decode(stored)
