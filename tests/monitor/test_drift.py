from __future__ import annotations

import math
import re
from collections.abc import Callable

import numpy as np
import pytest
from scipy import stats

from tandem.errors import InvalidInput, NotFound
from tandem.monitor import (
    DriftConfig,
    FeatureDrift,
    categorical_drift,
    drift_report,
    numeric_drift,
)
from tandem.monitor import ks as kstest
from tandem.monitor.drift import CategoricalCounts, NumericCounts

Sampler = Callable[[np.random.Generator, int], np.ndarray]

SAMPLERS: dict[str, Sampler] = {
    "normal": lambda rng, n: rng.normal(10.0, 2.0, n),
    "lognormal": lambda rng, n: rng.lognormal(0.0, 1.0, n),
    "uniform": lambda rng, n: rng.uniform(-1.0, 1.0, n),
    "poisson (ties)": lambda rng, n: rng.poisson(3.0, n).astype(np.float64),
}


def _quantile_psi(reference: np.ndarray, live: np.ndarray, bins: int, eps: float) -> float:
    """PSI written the obvious way, for comparison: bin every value by searching it."""
    edges = np.unique(np.quantile(reference, np.linspace(0, 1, bins + 1)[1:-1]))
    ref = np.bincount(np.searchsorted(edges, reference), minlength=edges.size + 1)
    cur = np.bincount(np.searchsorted(edges, live), minlength=edges.size + 1)
    p, q = ref / reference.size, cur / live.size
    p, q = np.maximum(p, eps), np.maximum(q, eps)
    return float(np.sum((q - p) * np.log(q / p)))


@pytest.mark.parametrize("kind", SAMPLERS)
def test_same_distribution_is_not_flagged(kind: str) -> None:
    rng = np.random.default_rng(1)
    sample = SAMPLERS[kind]
    result = numeric_drift("x", sample(rng, 5_000), sample(rng, 20_000))
    assert not result.drifted
    assert result.triggered == ()
    assert result.psi < 0.01


def test_unit_change_is_flagged_with_a_large_psi() -> None:
    rng = np.random.default_rng(2)
    reference = rng.normal(50.0, 10.0, 5_000)
    result = numeric_drift("grams", reference, rng.normal(50.0, 10.0, 5_000) * 1000)
    assert result.triggered == ("psi", "ks")
    assert result.psi > 8  # 90 % of live in one bin, nine bins empty
    assert result.histogram.live[-1] == 1.0


def test_one_stray_row_in_an_empty_bin_barely_moves_psi() -> None:
    rng = np.random.default_rng(2)
    reference, live = rng.normal(50.0, 10.0, 5_000), rng.normal(50.0, 10.0, 100_000) * 1000
    stray = live.copy()
    stray[0] = reference.min()  # one row in the lowest bin, which was empty
    assert numeric_drift("g", reference, stray).psi == pytest.approx(
        numeric_drift("g", reference, live).psi, abs=1e-3
    )


def test_mean_shift_is_flagged_by_ks_before_psi() -> None:
    rng = np.random.default_rng(3)
    result = numeric_drift("x", rng.normal(0, 1, 5_000), rng.normal(0.2, 1, 5_000))
    assert result.triggered == ("ks",)
    assert result.ks_pvalue is not None and result.ks_pvalue < 1e-6
    assert 0.01 < result.psi < 0.2


@pytest.mark.parametrize("kind", SAMPLERS)
@pytest.mark.parametrize(
    ("n_ref", "n_live", "shift"),
    [(300, 2_000, 0.0), (3_000, 4_000, 0.05), (5_000, 20_000, 0.05), (12_000, 11_000, 0.02)],
)
def test_ks_equals_scipy(kind: str, n_ref: int, n_live: int, shift: float) -> None:
    rng = np.random.default_rng(4)
    reference = SAMPLERS[kind](rng, n_ref)
    live = SAMPLERS[kind](rng, n_live) + shift
    expected = stats.ks_2samp(reference, live)
    result = numeric_drift("x", reference, live)
    assert result.ks_statistic == pytest.approx(expected.statistic, abs=1e-12)
    assert result.ks_pvalue == pytest.approx(expected.pvalue, rel=1e-8, abs=1e-300)
    method = "exact" if max(n_ref, n_live) <= kstest.EXACT_MAX_N else "asymptotic"
    assert method in result.checks[1].method


BAND = [0.5, 2.19, 2.2, 5.0, 20.0, 80.0, 200.0, 369.0, 371.0]  # n * d**2


@pytest.mark.parametrize(
    ("n", "nd2"),
    [(n, nd2) for n in (141, 4_000, 90_909) for nd2 in BAND]
    + [(1_000_000, 20.0), (1_000_001, 20.0)],  # scipy's smirnov stops summing above 1e6
)
def test_kstwo_sf_equals_scipy_across_its_slow_band(n: int, nd2: float) -> None:
    d = math.sqrt(nd2 / n)
    expected = float(stats.kstwo.sf(d, n))
    assert kstest.kstwo_sf(d, n) == pytest.approx(expected, rel=1e-8, abs=1e-300)


def test_exact_threshold_is_scipys() -> None:
    from scipy.stats import _stats_py

    assert getattr(_stats_py, "MAX_AUTO_N", kstest.EXACT_MAX_N) == kstest.EXACT_MAX_N


@pytest.mark.parametrize("kind", SAMPLERS)
def test_psi_equals_a_plain_numpy_implementation(kind: str) -> None:
    rng = np.random.default_rng(5)
    reference, live = SAMPLERS[kind](rng, 4_000), SAMPLERS[kind](rng, 6_000) * 1.3
    config = DriftConfig()
    expected = _quantile_psi(reference, live, config.psi_bins, config.psi_epsilon)
    assert numeric_drift("x", reference, live, config).psi == pytest.approx(expected, rel=1e-12)


def test_histogram_is_plottable() -> None:
    rng = np.random.default_rng(6)
    hist = numeric_drift("x", rng.normal(size=1_000), rng.normal(1, 1, 1_000)).histogram
    assert len(hist.edges) == len(hist.reference) + 1 == len(hist.live) + 1 == 11
    assert list(hist.edges) == sorted(hist.edges)
    assert sum(hist.reference) == pytest.approx(1) and sum(hist.live) == pytest.approx(1)


def test_checks_record_test_and_threshold() -> None:
    config = DriftConfig(psi_threshold=0.25, ks_pvalue_threshold=0.001)
    rng = np.random.default_rng(7)
    result = numeric_drift("x", rng.normal(size=500), rng.normal(size=500), config)
    psi, ks = result.checks
    assert (psi.test, psi.threshold, psi.rule) == ("psi", 0.25, "psi > 0.25")
    assert (ks.test, ks.threshold, ks.rule) == ("ks", 0.001, "p-value < 0.001")
    assert ks.value == result.ks_pvalue


def test_categorical_same_distribution_is_not_flagged() -> None:
    rng = np.random.default_rng(8)
    labels, shares = np.array(["a", "b", "c"]), [0.5, 0.3, 0.2]
    result = categorical_drift(
        "colour", rng.choice(labels, 5_000, p=shares), rng.choice(labels, 8_000, p=shares)
    )
    assert not result.drifted
    assert result.kind == "categorical"
    assert result.histogram.categories == ("a", "b", "c")


def test_categorical_new_category_is_flagged() -> None:
    reference = ["a"] * 500 + ["b"] * 500
    live = ["a"] * 400 + ["b"] * 400 + ["c"] * 200
    result = categorical_drift("colour", reference, live)
    assert result.triggered == ("psi", "chi2")
    assert result.histogram.categories == ("a", "b", "c")
    assert result.histogram.reference == (0.5, 0.5, 0.0)
    assert "1 live category unseen in reference: 'c'" in result.notes
    table = np.array([[500, 500, 0], [400, 400, 200]])
    expected = stats.chi2_contingency(table, correction=False)
    assert result.chi2_statistic == pytest.approx(expected.statistic)
    assert result.chi2_pvalue == pytest.approx(expected.pvalue, abs=1e-300)


@pytest.mark.parametrize(
    "live",
    [["a", "b", None, "a"], np.array(["a", "b", None, "a"], dtype=object), ["a", float("nan")]],
)
def test_categorical_missing_values_are_dropped(live: list[object]) -> None:
    result = categorical_drift("c", ["a", "b"] * 10, live)
    assert result.live_missing == 1
    assert result.live_size == len(live) - 1


def test_nan_is_dropped_and_counted() -> None:
    rng = np.random.default_rng(9)
    live = rng.normal(size=1_000)
    live[:7] = np.nan
    result = numeric_drift("x", rng.normal(size=1_000), live)
    assert (result.live_size, result.live_missing) == (993, 7)
    assert "dropped 7 missing value(s) from live" in result.notes


@pytest.mark.parametrize(
    ("live", "expected_drift"), [(np.full(1_000, 3.0), False), (np.full(1_000, 4.0), True)]
)
def test_constant_reference_uses_two_bins(live: np.ndarray, expected_drift: bool) -> None:
    result = numeric_drift("flag", np.full(500, 3.0), live)
    assert result.drifted is expected_drift
    assert result.histogram.edges[1:-1] == (3.0,)
    assert any("reference is constant" in note for note in result.notes)


def test_ties_collapse_bins_and_say_so() -> None:
    reference = np.array([0.0] * 900 + list(range(1, 101)), dtype=float)
    result = numeric_drift("x", reference, reference)
    # Quantiles 0.1-0.8 are all 0; 0.9 interpolates to 0.1: bins (-inf, 0], (0, 0.1], (0.1, inf)
    assert result.histogram.reference == pytest.approx((0.9, 0.0, 0.1))
    assert "reference ties collapsed 10 quantile bins into 3" in result.notes
    assert not result.drifted


@pytest.mark.parametrize(
    ("live", "message"),
    [
        (np.array([]), "live sample of 'x' is empty"),
        (np.full(3, np.nan), "empty after dropping 3 missing value(s)"),
        (np.array([1.0, np.inf]), "1 infinite value(s)"),
        (np.ones((2, 2)), "must be 1-D"),
        (np.array(["a", "b"]), "not numeric"),
    ],
)
def test_bad_numeric_input_is_rejected(live: np.ndarray, message: str) -> None:
    with pytest.raises(InvalidInput, match=re.escape(message)):
        numeric_drift("x", np.arange(10.0), live)


@pytest.mark.parametrize("live", [[], [None, None], "abc"])
def test_bad_categorical_input_is_rejected(live: object) -> None:
    with pytest.raises(InvalidInput, match="live"):
        categorical_drift("c", ["a", "b"], live)  # type: ignore[arg-type]


def _report_data(rng: np.random.Generator) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    reference = {
        "same": rng.normal(size=3_000),
        "shifted": rng.normal(size=3_000),
        "scaled": rng.normal(5, 1, 3_000),
        "colour": rng.choice(["r", "g"], 3_000),
    }
    live = {
        "same": rng.normal(size=4_000),
        "shifted": rng.normal(0.5, 1, 4_000),
        "scaled": rng.normal(5, 1, 4_000) * 1000,
        "colour": rng.choice(["r", "g"], 4_000),
    }
    return reference, live


@pytest.mark.parametrize("workers", [1, 2])
def test_report_over_many_features(workers: int) -> None:
    reference, live = _report_data(np.random.default_rng(12))
    report = drift_report(reference, live, categorical={"colour"}, workers=workers)
    assert [f.name for f in report.features] == ["same", "shifted", "scaled", "colour"]
    assert report.drifted_features == ("shifted", "scaled")
    assert report.share_drifted == 0.5
    assert report.dataset_drifted
    assert report.feature("colour").kind == "categorical"
    with pytest.raises(NotFound):
        report.feature("nope")


def test_report_is_the_same_with_threads() -> None:
    reference, live = _report_data(np.random.default_rng(11))
    one: list[FeatureDrift] = list(
        drift_report(reference, live, None, {"colour"}, workers=1).features
    )
    two = list(drift_report(reference, live, None, {"colour"}, workers=2).features)
    assert one == two


@pytest.mark.parametrize(
    ("reference", "live", "categorical", "message"),
    [
        (
            {"a": [1.0]},
            {"b": [1.0]},
            (),
            r"missing from live \['a'\], missing from reference \['b'\]",
        ),
        ({}, {}, (), "no features"),
        ({"a": [1.0]}, {"a": [1.0]}, {"z"}, r"categorical features not in the data: \['z'\]"),
    ],
)
def test_report_rejects_mismatched_features(
    reference: dict[str, list[float]],
    live: dict[str, list[float]],
    categorical: set[str],
    message: str,
) -> None:
    with pytest.raises(InvalidInput, match=message):
        drift_report(reference, live, categorical=categorical)


@pytest.mark.parametrize(
    "field", [{"psi_threshold": 0}, {"psi_bins": 1}, {"ks_pvalue_threshold": 1.5}]
)
def test_config_rejects_nonsense(field: dict[str, float]) -> None:
    with pytest.raises(InvalidInput, match=next(iter(field))):
        DriftConfig(**field)  # type: ignore[arg-type]


# A moderate shift: PSI and both p-values land strictly between 0 and 1, away from 0.
_SHIFT = np.random.default_rng(11)
_REF, _LIVE = _SHIFT.normal(0.0, 1.0, 400), _SHIFT.normal(0.25, 1.0, 400)
_CATS_REF = ["a"] * 60 + ["b"] * 40
_CATS_LIVE = ["a"] * 50 + ["b"] * 50


def _at(compute: Callable[[DriftConfig], FeatureDrift], test: str, nudge: float) -> FeatureDrift:
    """The result with `test`'s threshold set to its own value times `nudge`, and the
    other check made unable to fire."""
    measured = compute(DriftConfig())
    value = next(c.value for c in measured.checks if c.test == test)
    assert 0 < value < 1, value
    if test == "psi":
        config = DriftConfig(
            psi_threshold=value * nudge, ks_pvalue_threshold=1e-12, chi2_pvalue_threshold=1e-12
        )
    else:
        config = DriftConfig(
            psi_threshold=50, ks_pvalue_threshold=value * nudge, chi2_pvalue_threshold=value * nudge
        )
    return compute(config)


_COMPUTE: dict[str, Callable[[DriftConfig], FeatureDrift]] = {
    "numeric": lambda config: numeric_drift("x", _REF, _LIVE, config),
    "categorical": lambda config: categorical_drift("c", _CATS_REF, _CATS_LIVE, config),
}


@pytest.mark.parametrize(
    ("kind", "test"),
    [("numeric", "psi"), ("numeric", "ks"), ("categorical", "psi"), ("categorical", "chi2")],
)
@pytest.mark.parametrize(
    ("nudge", "drifted"),
    # PSI drifts strictly above its threshold; a p-value strictly below its own.
    [(1.0, False), (0.999, None), (1.001, None)],
)
def test_a_value_exactly_at_its_threshold_does_not_drift(
    kind: str, test: str, nudge: float, drifted: bool | None
) -> None:
    if drifted is None:  # just past the threshold, on the side that triggers
        drifted = (nudge < 1) if test == "psi" else (nudge > 1)
    result = _at(_COMPUTE[kind], test, nudge)
    check = next(c for c in result.checks if c.test == test)
    assert check.triggered is drifted
    assert result.drifted is drifted
    assert result.triggered == ((test,) if drifted else ())


# -- counted a chunk at a time ----------------------------------------------------------


def _split(values: np.ndarray, pieces: int, rng: np.random.Generator) -> list[np.ndarray]:
    """`values` cut at random places into `pieces` chunks, some of them empty."""
    cuts = np.sort(rng.integers(0, values.size + 1, pieces - 1))
    return np.split(values, cuts)


@pytest.mark.parametrize(
    ("ref_n", "live_n"),
    [(300, 2_000), (5_000, 60_000), (20_000, 8_000)],  # exact p-value, then asymptotic
)
@pytest.mark.parametrize("pieces", [1, 2, 7, 40])
def test_counts_over_chunks_equal_the_whole_sample_to_the_bit(
    ref_n: int, live_n: int, pieces: int
) -> None:
    rng = np.random.default_rng(ref_n + live_n + pieces)
    columns = {
        "continuous": (rng.normal(0, 1, ref_n), rng.normal(0.05, 1.1, live_n)),
        "tied": (rng.poisson(3, ref_n) * 1.0, rng.poisson(3.3, live_n) * 1.0),
        "outside": (rng.uniform(0, 1, ref_n), rng.uniform(0.5, 2, live_n)),
    }
    for name, (ref, live) in columns.items():
        live = live.copy()
        live[rng.random(live_n) < 0.05] = np.nan  # missing values, in some chunks only
        whole = numeric_drift(name, ref, live)
        counts = NumericCounts(name, ref)
        for chunk in _split(live, pieces, rng):
            counts.add(chunk)
        assert counts.result() == whole, (name, pieces)


def test_counts_over_chunks_refuse_what_the_whole_sample_refuses() -> None:
    counts = NumericCounts("x", np.arange(50.0))
    counts.add(np.array([np.nan, np.nan]))
    with pytest.raises(InvalidInput, match="live sample of 'x' is empty after dropping 2"):
        counts.result()
    with pytest.raises(InvalidInput, match="1 infinite value"):
        counts.add(np.array([1.0, np.inf]))


def test_category_counts_over_chunks_equal_the_whole_sample() -> None:
    rng = np.random.default_rng(5)
    ref = rng.integers(0, 6, 3_000).astype(float)
    live = rng.integers(0, 9, 20_000).astype(float)  # three categories new in live
    live[::17] = np.nan
    counts = CategoricalCounts("code", ref)
    for chunk in _split(live, 9, rng):
        counts.add(chunk)
    assert counts.result() == categorical_drift("code", ref, live)
    labels = rng.choice(np.array(["a", "b", "c", "d"], dtype=object), 5_000)
    counts = CategoricalCounts("label", ["a", "b", "c"])
    for chunk in _split(labels, 4, rng):
        counts.add(chunk)
    assert counts.result() == categorical_drift("label", ["a", "b", "c"], labels)
