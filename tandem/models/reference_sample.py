"""The drift reference of a model version: a seeded sample of its training features and
what the version itself predicts on them.

Drift compares live traffic with this sample, so it must be in the same space as the
logged features (the names `Predictor.features` returns) and scored by the same version:
then a change in the predicted-label mix or in confidence is the live data's doing, not
the model's.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from tandem.errors import InvalidInput

MAX_ROWS = 10_000
"""Rows kept: enough for ~1 % PSI bins and a KS test that sees a 0.02 shift, small
enough (<1 MB compressed for 20 features) to store beside the version."""
SEED = 0

FloatMatrix = npt.NDArray[np.float64]


@dataclass(frozen=True, eq=False)
class ReferenceSample:
    """Rows of features (n x k, columns in `feature_names` order), with the version's
    predicted label and confidence (top probability) for each row."""

    feature_names: tuple[str, ...]
    values: FloatMatrix
    predicted: tuple[str, ...]
    confidences: npt.NDArray[np.float64]
    categorical: tuple[str, ...] = ()
    source: str = "training"
    total_rows: int = 0  # rows the sample was drawn from

    @property
    def rows(self) -> int:
        return int(self.values.shape[0])


def categorical_columns(names: Sequence[str], values: FloatMatrix) -> tuple[str, ...]:
    """Features with at most two distinct whole-number values (flags such as "has a
    question mark", or a pixel that is always blank): counts per value say more about
    them than a KS test on a step function."""
    found = []
    for j, name in enumerate(names):
        column = values[:, j]
        column = column[~np.isnan(column)]
        distinct = np.unique(column)
        if distinct.size <= 2 and np.all(distinct == np.round(distinct)):
            found.append(name)
    return tuple(found)


def sample_reference(
    feature_names: Sequence[str],
    values: npt.ArrayLike,
    labels: Sequence[str],
    predict_proba: Callable[[FloatMatrix], npt.ArrayLike],
    *,
    max_rows: int = MAX_ROWS,
    seed: int = SEED,
    source: str = "training",
) -> ReferenceSample:
    """Draw up to `max_rows` rows (seeded, so a retrain on the same data keeps the same
    sample) and score them in one batch with `predict_proba` (rows -> n x labels)."""
    matrix = np.asarray(values, dtype=np.float64)
    names = tuple(feature_names)
    if matrix.ndim != 2 or matrix.shape[1] != len(names):
        raise InvalidInput(
            f"reference rows must be a table of {len(names)} feature columns "
            f"({', '.join(names[:5])}{', ...' if len(names) > 5 else ''}), "
            f"got shape {matrix.shape}"
        )
    if matrix.shape[0] == 0:
        raise InvalidInput("the reference has no rows")
    total = int(matrix.shape[0])
    if total > max_rows:
        keep = np.sort(np.random.default_rng(seed).choice(total, max_rows, replace=False))
        matrix = matrix[keep]
    try:
        probs = np.asarray(predict_proba(matrix), dtype=np.float64)
    except InvalidInput:
        raise
    except Exception as exc:  # the model's own complaint about the rows, whatever it is
        raise InvalidInput(f"the model could not score the reference rows: {exc}") from None
    if probs.shape != (matrix.shape[0], len(labels)):
        raise InvalidInput(
            f"scoring the reference gave shape {probs.shape}, expected "
            f"({matrix.shape[0]}, {len(labels)})"
        )
    top = probs.argmax(axis=1)
    return ReferenceSample(
        feature_names=names,
        values=np.ascontiguousarray(matrix),
        predicted=tuple(labels[int(i)] for i in top),
        # Rounded as serving rounds the confidence it logs (6 digits).
        confidences=np.round(probs.max(axis=1), 6),
        categorical=categorical_columns(names, matrix),
        source=source,
        total_rows=total,
    )


LABEL_COLUMN = "label"
"""The column (CSV header or JSON key) that may give each reference row's true label."""


@dataclass(frozen=True, eq=False)
class Rows:
    """Feature rows read from a file (columns in the model's feature order) and, when the
    file has a `label` column, each row's true label ("" where a row has none)."""

    values: FloatMatrix
    labels: tuple[str, ...] | None = None


def read_rows(path: Path, feature_names: Sequence[str]) -> FloatMatrix:
    """Feature rows from a file, without labels (see `read_labelled_rows`)."""
    return read_labelled_rows(path, feature_names).values


def read_labelled_rows(path: Path, feature_names: Sequence[str]) -> Rows:
    """Feature rows from a file: `.npy` (n x k, columns in the model's feature order),
    `.json` (a list of objects keyed by feature name) or CSV, with a header naming the
    features (any order) or without one (model order). A CSV or JSON file may also give
    each row's true label in a `label` column (unless a feature has that name)."""
    names = list(feature_names)
    try:
        suffix = path.suffix.lower()
        if suffix == ".npy":
            loaded: Any = np.load(path, allow_pickle=False)
            rows = Rows(np.asarray(loaded, dtype=np.float64))
        elif suffix == ".json":
            rows = _read_json(path.read_text(encoding="utf-8-sig"), names)
        else:
            rows = _read_csv(path.read_text(encoding="utf-8-sig"), names)
    except (OSError, ValueError, UnicodeDecodeError) as exc:
        raise InvalidInput(f"cannot read reference rows from {path}: {exc}") from None
    if rows.values.ndim != 2 or rows.values.shape[1] != len(names):
        raise InvalidInput(
            f"reference {path} must have {len(names)} columns, one per feature "
            f"({', '.join(names[:5])}{', ...' if len(names) > 5 else ''}); got shape "
            f"{rows.values.shape}"
        )
    return rows


def _has_labels(keys: Sequence[str], names: list[str]) -> bool:
    return LABEL_COLUMN in keys and LABEL_COLUMN not in names


def _read_csv(text: str, names: list[str]) -> Rows:
    rows = [r for r in csv.reader(io.StringIO(text)) if r and any(c.strip() for c in r)]
    if not rows:
        raise ValueError("the file is empty")
    header = [c.strip() for c in rows[0]]
    labelled = _has_labels(header, names)
    columns = [c for c in header if not (labelled and c == LABEL_COLUMN)]
    if set(columns) == set(names):
        order = [header.index(n) for n in names]
        body = rows[1:]
    elif any(_not_number(c) for c in header):
        missing = sorted(set(names) - set(header))
        extra = sorted(set(header) - set(names) - {LABEL_COLUMN})
        raise ValueError(f"the header must name the features; missing {missing}, unknown {extra}")
    else:
        order, body = list(range(len(names))), rows
    out = np.empty((len(body), len(names)))
    for i, row in enumerate(body):
        if len(row) != len(header):
            raise ValueError(f"row {i + 1} has {len(row)} cells, expected {len(header)}")
        out[i] = [float(row[j]) if row[j].strip() else np.nan for j in order]
    if not labelled:
        return Rows(out)
    at = header.index(LABEL_COLUMN)
    return Rows(out, tuple(row[at].strip() for row in body))


def _read_json(text: str, names: list[str]) -> Rows:
    doc = json.loads(text)
    if not isinstance(doc, list) or not all(isinstance(r, dict) for r in doc):
        raise ValueError('expected a list of rows: [{"feature": value, ...}, ...]')
    labelled = any(_has_labels(list(r), names) for r in doc)
    out = np.empty((len(doc), len(names)))
    labels: list[str] = []
    for i, row in enumerate(doc):
        missing = sorted(set(names) - set(row))
        extra = sorted(set(row) - set(names) - ({LABEL_COLUMN} if labelled else set()))
        if missing or extra:
            raise ValueError(f"row {i + 1}: missing {missing}, unknown {extra}")
        for j, name in enumerate(names):
            value = row[name]
            number = isinstance(value, int | float) and not isinstance(value, bool)
            if value is not None and not number:
                raise ValueError(f"row {i + 1}: {name} is {value!r}, not a number")
            out[i, j] = np.nan if value is None else float(value)
        label = row.get(LABEL_COLUMN)
        labels.append("" if label is None else str(label).strip())
    return Rows(out, tuple(labels) if labelled else None)


def _not_number(cell: str) -> bool:
    try:
        float(cell)
    except ValueError:
        return True
    return False


def row_by_row(
    predictor: Any, feature_names: Sequence[str]
) -> Callable[[FloatMatrix], FloatMatrix]:
    """Batch scoring for any `Predictor`: one `predict_proba` call per row (a model with
    a batch path, such as a saved scikit-learn estimator, should pass its own)."""
    names = tuple(feature_names)

    def score(matrix: FloatMatrix) -> FloatMatrix:
        return np.vstack(
            [
                np.asarray(predictor.predict_proba(dict(zip(names, row.tolist(), strict=True))))
                for row in matrix
            ]
        )

    return score


def csv_header(path: Path) -> list[str] | None:
    """The feature names a CSV's first line gives, or None (no header, or not a CSV)."""
    if path.suffix.lower() == ".npy":
        return None
    try:
        with path.open(encoding="utf-8-sig", newline="") as f:
            first = next(csv.reader(f), [])
    except (OSError, UnicodeDecodeError) as exc:
        raise InvalidInput(f"cannot read reference rows from {path}: {exc}") from None
    header = [c.strip() for c in first]
    return header if header and all(_not_number(c) for c in header) else None


def predictor_names(predictor: Any) -> list[str]:
    """The feature order a model declares (`feature_names`), for header-less rows."""
    names = list(getattr(predictor, "feature_names", ()))
    if not names:
        raise InvalidInput(
            f"model {predictor.name!r} does not declare its feature order: give the rows "
            "as a CSV whose header names the features"
        )
    return names
