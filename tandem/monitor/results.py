"""Drift configuration and typed results.

Every result carries the checks that decided it: which test, on which number, against
which threshold. A page or an alert can then say why a feature was flagged without
knowing the defaults that were in force when it was computed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from tandem.errors import InvalidInput, NotFound

Kind = Literal["numeric", "categorical"]
Test = Literal["psi", "ks", "chi2"]


@dataclass(frozen=True, slots=True)
class DriftConfig:
    """Thresholds per statistic; a feature drifts when any of its checks triggers.

    - PSI > 0.2 is the usual "significant shift" line (0.1-0.2 moderate). Numeric PSI uses
      `psi_bins` bins at reference quantiles, so each holds ~1/bins of the reference.
      Shares below `psi_epsilon` count as it (1e-4: one row in ten thousand), so an empty
      bin has a finite log.
    - KS and chi-square flag p < 0.01. With a million live rows KS p-values flag a shift of
      D ~ 0.005 that nobody may care about: read PSI (the size of the change) beside them.
    - The dataset drifts when at least `dataset_drift_share` of its features drift
      (Evidently's default, 0.5).
    """

    psi_threshold: float = 0.2
    psi_bins: int = 10
    psi_epsilon: float = 1e-4
    ks_pvalue_threshold: float = 0.01
    chi2_pvalue_threshold: float = 0.01
    dataset_drift_share: float = 0.5

    def __post_init__(self) -> None:
        if not self.psi_threshold > 0:
            raise InvalidInput(f"psi_threshold must be > 0, got {self.psi_threshold}")
        if self.psi_bins < 2:
            raise InvalidInput(f"psi_bins must be at least 2, got {self.psi_bins}")
        if not 0 < self.psi_epsilon < 0.01:
            raise InvalidInput(f"psi_epsilon must be in (0, 0.01), got {self.psi_epsilon}")
        for name in ("ks_pvalue_threshold", "chi2_pvalue_threshold"):
            value = getattr(self, name)
            if not 0 < value < 1:
                raise InvalidInput(f"{name} must be in (0, 1), got {value}")
        if not 0 < self.dataset_drift_share <= 1:
            raise InvalidInput(
                f"dataset_drift_share must be in (0, 1], got {self.dataset_drift_share}"
            )


@dataclass(frozen=True, slots=True)
class Check:
    """One decision: `value` (the PSI, or a p-value) compared with `threshold` by `rule`."""

    test: Test
    value: float
    threshold: float
    rule: str
    method: str
    triggered: bool


@dataclass(frozen=True, slots=True)
class Histogram:
    """Shares per bin for plotting (raw: empty bins are 0 here; the epsilon floor is PSI's).

    Numeric: `edges` has one more entry than the shares; its ends are the smallest and
    largest value seen in either sample, but the first and last bins are open-ended when
    counting. Categorical: one label in `categories` per share, reference categories first.
    """

    reference: tuple[float, ...]
    live: tuple[float, ...]
    edges: tuple[float, ...] = ()
    categories: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class FeatureDrift:
    """Drift of one feature."""

    name: str
    kind: Kind
    drifted: bool
    triggered: tuple[Test, ...]
    checks: tuple[Check, ...]
    psi: float
    """PSI over the `histogram`'s bins, for either kind: how far the shares moved
    (see DriftConfig for what counts as a shift)."""
    reference_size: int
    live_size: int
    reference_missing: int
    live_missing: int
    """`reference_size` and `live_size` count the values compared, after dropping the
    missing ones (`reference_missing`, `live_missing`)."""
    histogram: Histogram
    ks_statistic: float | None = None
    ks_pvalue: float | None = None
    """Kolmogorov-Smirnov: numeric features only."""
    chi2_statistic: float | None = None
    chi2_pvalue: float | None = None
    """Chi-square test of homogeneity: categorical features only."""
    notes: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class DriftReport:
    features: tuple[FeatureDrift, ...]
    config: DriftConfig
    drifted_features: tuple[str, ...]
    share_drifted: float
    dataset_drifted: bool

    @classmethod
    def of(cls, features: Sequence[FeatureDrift], config: DriftConfig) -> DriftReport:
        drifted = tuple(f.name for f in features if f.drifted)
        share = len(drifted) / len(features) if features else 0.0
        return cls(
            features=tuple(features),
            config=config,
            drifted_features=drifted,
            share_drifted=share,
            dataset_drifted=bool(features) and share >= config.dataset_drift_share,
        )

    def feature(self, name: str) -> FeatureDrift:
        for f in self.features:
            if f.name == name:
                return f
        raise NotFound(f"no feature {name!r} in this drift report")
