"""A bad monitoring file says which entry and field to fix, before anything runs."""

from __future__ import annotations

from pathlib import Path

import pytest

from tandem.app import create_app
from tandem.errors import InvalidInput
from tandem.monitor.monitoring_config import load_config
from tandem.settings import Settings
from tests.monitor.helpers import write_config

CONCERN = '[[concerns]]\nname = "x"\nsource = "predictions"\n'


@pytest.mark.parametrize(
    ("text", "says"),
    [
        (
            CONCERN + 'measure = "share"\nwhere = { colour = "red" }',
            "concerns[0] (x): where: predictions cannot be filtered by 'colour'",
        ),
        (
            '[[concerns]]\nname = "x"\nsource = "users"\nmeasure = "count"',
            "concerns[0] (x).source: unknown source 'users'",
        ),
        (
            CONCERN + 'measure = "p95"',
            "column: measure 'p95' needs a numeric column (latency_ms, confidence)",
        ),
        (CONCERN + 'measure = "count"\ncolumn = "input"', "measure 'count' takes no column"),
        (
            CONCERN + 'measure = "median"',
            "concerns[0] (x).measure: Input should be 'count', 'share'",
        ),
        (
            CONCERN + 'measure = "count"\nwindow = "fortnight"',
            "concerns[0] (x).window: 'fortnight' is not a duration",
        ),
        (
            CONCERN + 'measure = "count"\nwhere = { holdout = "yes" }',
            "where.holdout is true or false",
        ),
        (CONCERN + 'measure = "count"\namong = { route = "model" }', "among: only a 'share'"),
        (
            CONCERN + 'measure = "count"\nsql = "DROP TABLE predictions"',
            "concerns[0] (x).sql: Extra inputs are not permitted",
        ),
        (
            '[[concerns]]\nname = "Fallback Rate"\nsource = "predictions"\nmeasure = "count"',
            "'Fallback Rate' is not a usable name",
        ),
        (
            '[[alerts]]\nname = "slow"\nsignal = "latency"\nparams = { quantile = 2 }\nmax = 1',
            "alerts[0] (slow).params: quantile: Input should be less than or equal to 1",
        ),
        (
            '[[alerts]]\nname = "slow"\nsignal = "latency"\nparams = { percentile = 99 }\nmax = 1',
            "params: percentile: Extra inputs are not permitted",
        ),
        (
            '[[alerts]]\nname = "slow"\nsignal = "lag"\nmax = 1',
            "unknown signal 'lag'; choose one of latency, fallback_rate",
        ),
        (
            '[[alerts]]\nname = "slow"\nsignal = "latency"',
            "alerts[0] (slow): give max, min or equals",
        ),
        (
            '[[alerts]]\nname = "c"\nsignal = "concern"\nparams = { name = "nope" }',
            "alerts[0].params.name: no concern named 'nope'",
        ),
        (
            '[[alerts]]\nname = "nothing_lost"\nsignal = "latency"\nmax = 1',
            "'nothing_lost' is already taken by the built-in concern",
        ),
        ("[nothing_lost]\nmax = 3", "nothing_lost always expects 0"),
        ("[nothing_lost]\nsettle = -5", "nothing_lost.settle: a duration is text like '15m'"),
        ("[alert]\nname = 1", "alert: Extra inputs are not permitted"),
        ("[[concerns]\nname =", "is not valid TOML"),
    ],
)
def test_a_bad_file_names_the_field(tmp_path: Path, text: str, says: str) -> None:
    path = write_config(tmp_path, text)
    with pytest.raises(InvalidInput) as caught:
        load_config(path)
    assert says in caught.value.message and str(path) in caught.value.message


def test_a_missing_file_says_so(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput, match="cannot read the monitoring config .*missing.toml"):
        load_config(tmp_path / "missing.toml")


def test_the_app_refuses_to_start_on_a_bad_file(settings: Settings, tmp_path: Path) -> None:
    path = write_config(tmp_path, '[[alerts]]\nname = "x"\nsignal = "latency"\nmax = "high"')
    with pytest.raises(
        InvalidInput, match=r"alerts\[0\] \(x\)\.max: Input should be a valid number"
    ):
        create_app(settings.model_copy(update={"concerns_file": path}))


def test_names_share_one_namespace(tmp_path: Path) -> None:
    text = (
        CONCERN + 'measure = "count"\nmax = 1\n[[alerts]]\nname = "x"\nsignal = "latency"\nmax = 1'
    )
    with pytest.raises(InvalidInput, match=r"alerts\[0\].name: 'x' is already taken"):
        load_config(write_config(tmp_path, text))


def test_a_concern_with_bounds_becomes_a_rule_and_one_without_does_not(tmp_path: Path) -> None:
    text = (
        CONCERN
        + 'measure = "count"\nmax = 1\nfor = "2m"\n'
        + '[[concerns]]\nname = "y"\nsource = "feedback"\nmeasure = "count"\n'
        + '[[alerts]]\nname = "x_strict"\nsignal = "concern"\nparams = { name = "x" }\n'
    )
    rules = {r.name: r for r in load_config(write_config(tmp_path, text)).rules()}
    assert list(rules) == ["nothing_lost", "x", "x_strict"]
    assert (rules["x"].for_, rules["x"].expected(), rules["x"].window) == ("2m", {"max": 1}, "1h")
    # A rule over a concern borrows its bounds and window when it gives none.
    assert (rules["x_strict"].expected(), rules["x_strict"].window) == ({"max": 1}, "1h")
