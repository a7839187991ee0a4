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
from tandem.monitor import results, stats

Side = Literal["reference", "live"]
Labels = Iterable[Hashable] | npt.ArrayLike

# numpy's sort and searchsorted release the GIL, so threads across columns use every core
# (1.8x on 2 cores at 1M rows). Capped so a big server does not start dozens for one report.
MAX_WORKERS = 8


def numeric_drift(
    name: str,
    reference: npt.ArrayLike,
    live: npt.ArrayLike,
    config: results.DriftConfig | None = None,
) -> results.FeatureDrift:
    """PSI on reference-quantile bins and a KS test whose statistic and p-value equal
    `scipy.stats.ks_2samp`'s (same exact/asymptotic choice), from one sort per sample."""
    counts = NumericCounts(name, reference, config)
    counts.add(live)
    return counts.result()


class NumericCounts:
    """What numeric drift needs of a live sample, counted a chunk at a time: for each
    distinct reference value, how many live values lie at or below it and below it
    (the KS statistic, exactly), the live count per PSI bin, the range, and how many
    values were missing. Memory is O(distinct reference values), whatever the live
    size; the live values themselves are kept only while there are at most
    `ks.EXACT_MAX_N` of them, for scipy's exact p-value.

    `add` then `result` gives the same numbers, to the last bit, as `numeric_drift` on
    all the chunks joined: every count is an integer sum over chunks.
    """

    def __init__(
        self, name: str, reference: npt.ArrayLike, config: results.DriftConfig | None = None
    ) -> None:
        self.name = name
        self.config = config or results.DriftConfig()
        ref, self.reference_missing = _sorted_numeric(name, "reference", reference)
        self.edges = stats.quantile_edges(ref, self.config.psi_bins)
        self._ref_bins = stats.bin_counts(ref, self.edges)
        self._ref_range = (ref.size, float(ref[0]), float(ref[-1]))
        ends = kstest.distinct_ends(ref)
        self._ends: npt.NDArray[np.integer[Any]] = (
            ends.astype(np.int32) if ref.size < 2**31 else ends
        )
        self._grid = ref[self._ends]
        # Kept only for scipy's exact p-value, which a larger reference never takes.
        self._reference = ref if ref.size <= kstest.EXACT_MAX_N else None
        self._at_or_below = np.zeros(self._grid.size, dtype=np.int64)
        self._below = np.zeros(self._grid.size, dtype=np.int64)
        self._in_bins = np.zeros(self.edges.size, dtype=np.int64)  # live at or below each edge
        self._small: list[stats.FloatArray] | None = []
        self.size = 0
        self.missing = 0
        self.low = np.inf
        self.high = -np.inf

    def add(self, values: npt.ArrayLike) -> None:
        """Count one chunk of live values (NaN are missing; infinities are refused)."""
        ordered, missing = _sorted_numeric(self.name, "live", values, allow_empty=True)
        self.missing += missing
        if ordered.size == 0:
            return
        self.size += ordered.size
        self.low = min(self.low, float(ordered[0]))
        self.high = max(self.high, float(ordered[-1]))
        below = np.searchsorted(ordered, self._grid, side="left")
        # At or below = below, plus the copies of the value itself: only where the
        # live chunk holds it (rare for continuous values) is a second search needed.
        at_or_below = below.copy()
        hits = np.flatnonzero(ordered[np.minimum(below, ordered.size - 1)] == self._grid)
        if hits.size:
            at_or_below[hits] = np.searchsorted(ordered, self._grid[hits], side="right")
        self._below += below
        self._at_or_below += at_or_below
        self._in_bins += np.searchsorted(ordered, self.edges, side="right")
        if self._small is not None:
            self._small = self._small + [ordered] if self.size <= kstest.EXACT_MAX_N else None

    def result(self) -> results.FeatureDrift:
        """The feature's drift; InvalidInput when no live value was present."""
        config = self.config
        ref_size, ref_low, ref_high = self._ref_range
        if self.size == 0:
            raise InvalidInput(_empty(self.name, "live", self.missing))
        edges = self.edges
        ref_share = self._ref_bins / ref_size
        in_bins = np.diff(np.concatenate(([0], self._in_bins, [self.size])))
        live_share = in_bins / self.size
        psi = stats.psi(ref_share, live_share, config.psi_epsilon)
        small = None if self._small is None else np.concatenate(self._small)
        ks = kstest.ks_counts(
            ref_size,
            self._ends,
            self._at_or_below,
            self._below,
            self.size,
            None if small is None else (self._reference, small),
        )

        bins = edges.size + 1
        how = "exact" if ks.method == "exact" else "asymptotic (Smirnov, as scipy ks_2samp)"
        checks = (
            _psi_check(psi, config, f"{bins} reference-quantile bins, outer bins open-ended"),
            _pvalue_check("ks", ks.pvalue, config.ks_pvalue_threshold, f"two-sided KS, {how}"),
        )
        notes = _missing_notes(self.reference_missing, self.missing)
        if ref_low == ref_high:
            notes += (
                f"reference is constant ({ref_low:g}): PSI compares the share at or below it "
                "with the share above it",
            )
        elif bins < config.psi_bins:
            notes += (f"reference ties collapsed {config.psi_bins} quantile bins into {bins}",)
        low, high = min(ref_low, self.low), max(ref_high, self.high)
        histogram = results.Histogram(
            reference=_floats(ref_share),
            live=_floats(live_share),
            edges=(float(low), *_floats(edges), float(high)),
        )
        return _feature(
            self.name,
            "numeric",
            checks,
            psi=psi,
            sizes=(ref_size, self.size, self.reference_missing, self.missing),
            histogram=histogram,
            ks_statistic=ks.statistic,
            ks_pvalue=ks.pvalue,
            notes=notes,
        )


def categorical_drift(
    name: str,
    reference: Labels,
    live: Labels,
    config: results.DriftConfig | None = None,
) -> results.FeatureDrift:
    """PSI over categories and a chi-square test of homogeneity on their counts.

    None and NaN are missing and dropped. A category unseen in the reference gets a
    reference share of `psi_epsilon` in PSI and is named in the notes.
    """
    counts = CategoricalCounts(name, reference, config)
    counts.add(live)
    return counts.result()


class CategoricalCounts:
    """What categorical drift needs of a live sample, counted a chunk at a time: the
    count per category and of missing values (memory: one entry per category)."""

    def __init__(
        self, name: str, reference: Labels, config: results.DriftConfig | None = None
    ) -> None:
        self.name = name
        self.config = config or results.DriftConfig()
        found, self.reference_missing = _category_counts(name, "reference", reference)
        if not found:
            raise InvalidInput(_empty(name, "reference", self.reference_missing))
        self.reference = found
        self.counts: dict[Hashable, int] = {}
        self.size = 0
        self.missing = 0
        self._numbers = True  # every chunk was a numeric array: categories in value order

    def add(self, values: Labels) -> None:
        """Count one chunk of live labels (None and NaN are missing)."""
        found, missing = _category_counts(self.name, "live", values)
        self._numbers = self._numbers and isinstance(values, np.ndarray)
        self._numbers = self._numbers and values.dtype.kind != "O"  # type: ignore[union-attr]
        self.missing += missing
        for key, count in found.items():
            self.counts[key] = self.counts.get(key, 0) + count
            self.size += count

    def result(self) -> results.FeatureDrift:
        """The feature's drift; InvalidInput when no live label was present."""
        config, name, ref_counts = self.config, self.name, self.reference
        if not self.counts:
            raise InvalidInput(_empty(name, "live", self.missing))
        live_counts = self.counts
        if self._numbers:  # as one np.unique over every chunk would list them
            live_counts = {k: live_counts[k] for k in sorted(live_counts)}  # type: ignore[type-var]
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
        notes = _missing_notes(self.reference_missing, self.missing)
        if new:
            shown = ", ".join(repr(str(k)) for k in new[:5]) + (", ..." if len(new) > 5 else "")
            notes += (
                f"{len(new)} live categor{'y' if len(new) == 1 else 'ies'} unseen in "
                f"reference: {shown}",
            )
        if len(keys) == 1:
            notes += ("one category in both samples: nothing for chi-square to test",)
        histogram = results.Histogram(
            reference=_floats(ref_share),
            live=_floats(live_share),
            categories=tuple(str(k) for k in keys),
        )
        return _feature(
            name,
            "categorical",
            checks,
            psi=psi,
            sizes=(int(ref_n.sum()), int(live_n.sum()), self.reference_missing, self.missing),
            histogram=histogram,
            chi2_statistic=chi2,
            chi2_pvalue=pvalue,
            notes=notes,
        )


def drift_report(
    reference: Mapping[str, Labels],
    live: Mapping[str, Labels],
    config: results.DriftConfig | None = None,
    categorical: Collection[str] = frozenset(),
    *,
    workers: int | None = None,
) -> results.DriftReport:
    """Drift of every feature, in the reference's order; features not named in
    `categorical` are numeric. `workers` threads share the columns (default: one per
    core, at most MAX_WORKERS); 1 computes them in this thread."""
    config = config or results.DriftConfig()
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

    def one(name: str) -> results.FeatureDrift:
        if name in categorical:
            return categorical_drift(name, reference[name], live[name], config)
        return numeric_drift(name, reference[name], live[name], config)  # type: ignore[arg-type]

    names = list(reference)
    count = workers or min(len(names), os.cpu_count() or 1, MAX_WORKERS)
    if count == 1:
        return results.DriftReport.of([one(n) for n in names], config)
    with ThreadPoolExecutor(max_workers=count, thread_name_prefix="drift") as pool:
        return results.DriftReport.of(list(pool.map(one, names)), config)


def _sorted_numeric(
    name: str, side: Side, values: npt.ArrayLike, *, allow_empty: bool = False
) -> tuple[stats.FloatArray, int]:
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
    if size == 0 and not allow_empty:
        raise InvalidInput(_empty(name, side, missing))
    ordered = ordered[:size]
    if size == 0:
        return ordered, missing
    if np.isinf(ordered[0]) or np.isinf(ordered[-1]):
        count = int(np.count_nonzero(np.isinf(ordered)))
        raise InvalidInput(
            f"{side} values of {name!r} include {count} infinite value(s); drift needs "
            "finite numbers (NaN are dropped)"
        )
    return ordered, missing


def _category_counts(name: str, side: Side, values: Labels) -> tuple[dict[Hashable, int], int]:
    """Count per category (none when every value was missing), and how many values
    were missing (None or NaN)."""
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
    return found, missing


def _psi_check(psi: float, config: results.DriftConfig, method: str) -> results.Check:
    threshold = config.psi_threshold
    method += f"; shares below {config.psi_epsilon:g} count as {config.psi_epsilon:g}"
    return results.Check("psi", psi, threshold, f"psi > {threshold:g}", method, psi > threshold)


def _pvalue_check(
    test: results.Test, pvalue: float, threshold: float, method: str
) -> results.Check:
    return results.Check(
        test, pvalue, threshold, f"p-value < {threshold:g}", method, pvalue < threshold
    )


def _feature(
    name: str,
    kind: results.Kind,
    checks: tuple[results.Check, ...],
    *,
    psi: float,
    sizes: tuple[int, int, int, int],
    histogram: results.Histogram,
    notes: tuple[str, ...],
    ks_statistic: float | None = None,
    ks_pvalue: float | None = None,
    chi2_statistic: float | None = None,
    chi2_pvalue: float | None = None,
) -> results.FeatureDrift:
    triggered = tuple(c.test for c in checks if c.triggered)
    return results.FeatureDrift(
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
