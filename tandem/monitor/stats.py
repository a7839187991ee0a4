"""PSI and chi-square, on sorted samples and category counts.

Numeric samples arrive sorted (the KS test needs them sorted anyway), so the PSI bin
counts are a binary search of the few bin edges rather than a pass over every value.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt
from scipy import stats

FloatArray = npt.NDArray[np.floating[Any]]
CountArray = npt.NDArray[np.int64]


def quantile_edges(reference: FloatArray, bins: int) -> FloatArray:
    """The distinct inner edges of `bins` reference-quantile bins.

    Ties in the reference make quantiles coincide; duplicates are dropped, so a constant
    reference leaves one edge (two bins: at-or-below it, above it) rather than empty bins.
    """
    inner = np.quantile(reference, np.linspace(0.0, 1.0, bins + 1)[1:-1])
    return np.unique(inner)


def bin_counts(sorted_values: FloatArray, edges: FloatArray) -> CountArray:
    """Counts in (-inf, e1], (e1, e2], ..., (ek, inf): open outer bins keep live values
    outside the reference's range (a unit change) instead of dropping them."""
    at_or_below = np.searchsorted(sorted_values, edges, side="right")
    return np.diff(np.concatenate(([0], at_or_below, [sorted_values.size]))).astype(np.int64)


def psi(reference_share: FloatArray, live_share: FloatArray, epsilon: float) -> float:
    """Population stability index, with shares below `epsilon` counted as `epsilon`.

    The floor keeps the log finite for an empty bin. Flooring rather than replacing only
    exact zeros (Evidently's way) keeps PSI continuous: one stray row in an otherwise empty
    bin (a 1e-6 share) would otherwise add ~0.5 to the PSI of a unit change.
    """
    ref = np.maximum(reference_share, epsilon)
    cur = np.maximum(live_share, epsilon)
    return float(np.sum((cur - ref) * np.log(cur / ref)))


def chi2_homogeneity(reference: CountArray, live: CountArray) -> tuple[float, float]:
    """Chi-square test that both samples come from one categorical distribution.

    A test of homogeneity on the 2 x k table, not goodness of fit against the reference
    shares: the reference is a sample too, and a category unseen in it gets a finite
    expected count from the pooled data instead of a division by zero. No Yates
    correction, so two categories are tested the same way as twenty.
    """
    if reference.size < 2:
        return 0.0, 1.0
    result = stats.chi2_contingency(np.vstack([reference, live]), correction=False)
    return float(result.statistic), float(result.pvalue)
