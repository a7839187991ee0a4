"""Drift of live feature values against a reference sample.

Pure computation: arrays in, typed results out, nothing stored. Numeric features get PSI on
reference-quantile bins and a two-sample Kolmogorov-Smirnov test; categorical ones get PSI
over categories and a chi-square test. Bad input raises `InvalidInput` naming the feature.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Collection, Hashable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Literal, cast

import numpy as np
import numpy.typing as npt

from tandem.errors import InvalidInput
from tandem.monitor import ks as kstest
from tandem.monitor import stats
from tandem.monitor.results import (
    Check,
    DriftConfig,
    DriftReport,
    FeatureDrift,
    Histogram,
    Kind,
    Test,
)

Side = Literal["reference", "live"]
Labels = Iterable[Hashable] | npt.ArrayLike

# numpy's sort and searchsorted release the GIL, so threads across columns use every core
# (1.8x on 2 cores at 1M rows). Capped so a big server does not start dozens for one report.
MAX_WORKERS = 8


def numeric_drift(
    name: str,
    reference: npt.ArrayLike,
    live: npt.ArrayLike,
    config: DriftConfig | None = None,
) -> FeatureDrift:
    """PSI on reference-quantile bins and a KS test whose statistic and p-value equal
    `scipy.stats.ks_2samp`'s (same exact/asymptotic choice), from one sort per sample."""
    config = config or DriftConfig()
    ref, ref_missing = _sorted_numeric(name, "reference", reference)
    cur, live_missing = _sorted_numeric(name, "live", live)

    edges = stats.quantile_edges(ref, config.psi_bins)
    ref_share = stats.bin_counts(ref, edges) / ref.size
    live_share = stats.bin_counts(cur, edges) / cur.size
    psi = stats.psi(ref_share, live_share, config.psi_epsilon)
    ks = kstest.ks_sorted(ref, cur)

    bins = edges.size + 1
    how = "exact" if ks.method == "exact" else "asymptotic (Smirnov, as scipy ks_2samp)"
    checks = (
        _psi_check(psi, config, f"{bins} reference-quantile bins, outer bins open-ended"),
        _pvalue_check("ks", ks.pvalue, config.ks_pvalue_threshold, f"two-sided KS, {how}"),
    )
    notes = _missing_notes(ref_missing, live_missing)
    if ref[0] == ref[-1]:
        notes += (
            f"reference is constant ({ref[0]:g}): PSI compares the share at or below it "
            "with the share above it",
        )
    elif bins < config.psi_bins:
        notes += (f"reference ties collapsed {config.psi_bins} quantile bins into {bins}",)
    low, high = min(ref[0], cur[0]), max(ref[-1], cur[-1])
    histogram = Histogram(
        reference=_floats(ref_share),
        live=_floats(live_share),
        edges=(float(low), *_floats(edges), float(high)),
    )
    return _feature(
        name,
        "numeric",
        checks,
        psi=psi,
        sizes=(ref.size, cur.size, ref_missing, live_missing),
        histogram=histogram,
        ks_statistic=ks.statistic,
        ks_pvalue=ks.pvalue,
        notes=notes,
    )


def categorical_drift(
    name: str,
    reference: Labels,
    live: Labels,
    config: DriftConfig | None = None,
) -> FeatureDrift:
    """PSI over categories and a chi-square test of homogeneity on their counts.

    None and NaN are missing and dropped. A category unseen in the reference gets a
    reference share of `psi_epsilon` in PSI and is named in the notes.
    """
    config = config or DriftConfig()
    ref_counts, ref_missing = _category_counts(name, "reference", reference)
    live_counts, live_missing = _category_counts(name, "live", live)

    seen = sorted(ref_counts, key=lambda k: -ref_counts[k])
    new = sorted((k for k in live_counts if k not in ref_counts), key=lambda k: -live_counts[k])
    keys = seen + new
    ref_n = np.array([ref_counts.get(k, 0) for k in keys], dtype=np.int64)
    live_n = np.array([live_counts.get(k, 0) for k in keys], dtype=np.int64)
    ref_share = ref_n / ref_n.sum()
    live_share = live_n / live_n.sum()
    psi = stats.psi(ref_share, live_share, config.psi_epsilon)
    chi2, pvalue = stats.chi2_homogeneity(ref_n, live_n)

    checks = (
        _psi_check(psi, config, f"{len(keys)} categories"),
        _pvalue_check(
            "chi2",
            pvalue,
            config.chi2_pvalue_threshold,
            f"chi-square test of homogeneity on the 2 x {len(keys)} table of counts",
        ),
    )
    notes = _missing_notes(ref_missing, live_missing)
    if new:
        shown = ", ".join(repr(str(k)) for k in new[:5]) + (", ..." if len(new) > 5 else "")
        notes += (
            f"{len(new)} live categor{'y' if len(new) == 1 else 'ies'} unseen in "
            f"reference: {shown}",
        )
    if len(keys) == 1:
        notes += ("one category in both samples: nothing for chi-square to test",)
    histogram = Histogram(
        reference=_floats(ref_share),
        live=_floats(live_share),
        categories=tuple(str(k) for k in keys),
    )
    return _feature(
        name,
        "categorical",
        checks,
        psi=psi,
        sizes=(int(ref_n.sum()), int(live_n.sum()), ref_missing, live_missing),
        histogram=histogram,
        chi2_statistic=chi2,
        chi2_pvalue=pvalue,
        notes=notes,
    )


def drift_report(
    reference: Mapping[str, Labels],
    live: Mapping[str, Labels],
    config: DriftConfig | None = None,
    categorical: Collection[str] = frozenset(),
    *,
    workers: int | None = None,
) -> DriftReport:
    """Drift of every feature, in the reference's order; features not named in
    `categorical` are numeric. `workers` threads share the columns (default: one per
    core, at most MAX_WORKERS); 1 computes them in this thread."""
    config = config or DriftConfig()
    only_ref = [n for n in reference if n not in live]
    only_live = [n for n in live if n not in reference]
    if only_ref or only_live:
        raise InvalidInput(
            f"features must match: missing from live {only_ref}, missing from reference {only_live}"
        )
    if not reference:
        raise InvalidInput("no features to compare")
    unknown = sorted(set(categorical) - set(reference))
    if unknown:
        raise InvalidInput(f"categorical features not in the data: {unknown}")
    if workers is not None and workers < 1:
        raise InvalidInput(f"workers must be at least 1, got {workers}")

    def one(name: str) -> FeatureDrift:
        if name in categorical:
            return categorical_drift(name, reference[name], live[name], config)
        return numeric_drift(name, reference[name], live[name], config)  # type: ignore[arg-type]

    names = list(reference)
    count = workers or min(len(names), os.cpu_count() or 1, MAX_WORKERS)
    if count == 1:
        return DriftReport.of([one(n) for n in names], config)
    with ThreadPoolExecutor(max_workers=count, thread_name_prefix="drift") as pool:
        return DriftReport.of(list(pool.map(one, names)), config)


def _sorted_numeric(name: str, side: Side, values: npt.ArrayLike) -> tuple[stats.FloatArray, int]:
    """The values sorted with NaN dropped, and how many were dropped."""
    arr = np.asarray(values)
    if arr.ndim != 1:
        raise InvalidInput(f"{side} values of {name!r} must be 1-D, got shape {arr.shape}")
    if arr.dtype.kind in "biu":
        arr = arr.astype(np.float64)
    elif arr.dtype.kind != "f":
        raise InvalidInput(
            f"{side} values of {name!r} are not numeric (dtype {arr.dtype}); "
            "pass the feature in `categorical`"
        )
    ordered = np.sort(arr)
    # NaN sort last, and searchsorted uses that order: this is the index of the first NaN.
    size = int(np.searchsorted(ordered, np.nan))
    missing = ordered.size - size
    if size == 0:
        raise InvalidInput(_empty(name, side, missing))
    ordered = ordered[:size]
    if np.isinf(ordered[0]) or np.isinf(ordered[-1]):
        count = int(np.count_nonzero(np.isinf(ordered)))
        raise InvalidInput(
            f"{side} values of {name!r} include {count} infinite value(s); drift needs "
            "finite numbers (NaN are dropped)"
        )
    return ordered, missing


def _category_counts(name: str, side: Side, values: Labels) -> tuple[dict[Hashable, int], int]:
    """Count per category, and how many values were missing (None or NaN)."""
    if isinstance(values, str | bytes) or not isinstance(values, Iterable):
        raise InvalidInput(f"{side} values of {name!r} must be a sequence of labels")
    if isinstance(values, np.ndarray) and values.dtype.kind != "O":
        if values.ndim != 1:
            raise InvalidInput(f"{side} values of {name!r} must be 1-D, got shape {values.shape}")
        present = values[~np.isnan(values)] if values.dtype.kind in "fc" else values
        labels, counts = np.unique(present, return_counts=True)
        found: dict[Hashable, int] = dict(zip(labels.tolist(), counts.tolist(), strict=True))
        missing = values.size - present.size
    else:
        items = cast(
            Iterable[Hashable], values.tolist() if isinstance(values, np.ndarray) else values
        )
        try:
            found = dict(Counter(items))
        except TypeError as exc:
            raise InvalidInput(f"{side} labels of {name!r} must be hashable: {exc}") from None
        # NaN hash by identity, so each may be its own key: pop them after counting.
        gaps = [k for k in found if k is None or (isinstance(k, float) and k != k)]
        missing = sum(found.pop(k) for k in gaps)
    if not found:
        raise InvalidInput(_empty(name, side, missing))
    return found, missing


def _psi_check(psi: float, config: DriftConfig, method: str) -> Check:
    threshold = config.psi_threshold
    method += f"; shares below {config.psi_epsilon:g} count as {config.psi_epsilon:g}"
    return Check("psi", psi, threshold, f"psi > {threshold:g}", method, psi > threshold)


def _pvalue_check(test: Test, pvalue: float, threshold: float, method: str) -> Check:
    return Check(test, pvalue, threshold, f"p-value < {threshold:g}", method, pvalue < threshold)


def _feature(
    name: str,
    kind: Kind,
    checks: tuple[Check, ...],
    *,
    psi: float,
    sizes: tuple[int, int, int, int],
    histogram: Histogram,
    notes: tuple[str, ...],
    ks_statistic: float | None = None,
    ks_pvalue: float | None = None,
    chi2_statistic: float | None = None,
    chi2_pvalue: float | None = None,
) -> FeatureDrift:
    triggered = tuple(c.test for c in checks if c.triggered)
    return FeatureDrift(
        name=name,
        kind=kind,
        drifted=bool(triggered),
        triggered=triggered,
        checks=checks,
        psi=psi,
        reference_size=sizes[0],
        live_size=sizes[1],
        reference_missing=sizes[2],
        live_missing=sizes[3],
        histogram=histogram,
        ks_statistic=ks_statistic,
        ks_pvalue=ks_pvalue,
        chi2_statistic=chi2_statistic,
        chi2_pvalue=chi2_pvalue,
        notes=notes,
    )


def _missing_notes(reference: int, live: int) -> tuple[str, ...]:
    return tuple(
        f"dropped {count} missing value(s) from {side}"
        for side, count in (("reference", reference), ("live", live))
        if count
    )


def _empty(name: str, side: Side, missing: int) -> str:
    tail = f" after dropping {missing} missing value(s)" if missing else ""
    return f"{side} sample of {name!r} is empty{tail}"


def _floats(values: npt.NDArray[Any]) -> tuple[float, ...]:
    return tuple(float(v) for v in values.tolist())
