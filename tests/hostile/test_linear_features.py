"""Feature extraction takes linear time on any input the schemas accept.

Extraction runs on the event loop and holds the GIL, so a pattern that is quadratic on
some body (a regex retried from each of n positions that each scan to the end) lets
one request stall the whole server: 49,999 dots and an `x` once took ~20-50 s.

Timing on a shared, loaded machine: each input is measured with time.perf_counter
around the one call, as the best of up to 3 tries (a try under the limit ends the
measuring early; one over ten times the limit is clearly not noise and ends it too),
with the cyclic garbage collector paused (a full collection of the test process's heap
takes longer than the limit), so a scheduling hiccup or a collection cannot fail the
test, while a quadratic step, which costs seconds
at this size, always does. The limit (50 ms for the largest body) is the serving
budget; linear extraction takes a few ms.
"""

from __future__ import annotations

import gc
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from tandem_examples.digits.model import DigitParams, DigitsPredictor
from tandem_examples.digits.schema import Digit
from tandem_examples.ml_editor.features import extract_from, to_text
from tandem_examples.ml_editor.schema import Question
from tandem_examples.ml_editor.wording import Wording, join

pytestmark = pytest.mark.timing

LIMIT_S = 0.050


def _max_length(field: str) -> int:
    (limit,) = [
        m.max_length for m in Question.model_fields[field].metadata if hasattr(m, "max_length")
    ]
    return int(limit)


BODY_LIMIT = _max_length("body")  # 50,000 characters
TITLE_LIMIT = _max_length("title")


def best_of_3(call: Callable[[], Any]) -> float:
    """Seconds the call takes: the best of up to 3 tries (see the module docstring)."""
    best = float("inf")
    enabled = gc.isenabled()
    gc.disable()
    try:
        for _ in range(3):
            start = time.perf_counter()
            call()
            best = min(best, time.perf_counter() - start)
            if best <= LIMIT_S or best > 10 * LIMIT_S:
                break
    finally:
        if enabled:
            gc.enable()
    return best


def fill(unit: str, size: int) -> str:
    """`unit` repeated to exactly `size` characters."""
    return (unit * (size // len(unit) + 1))[:size]


# Scoring the wording costs a lookup per word, whatever the vocabulary's size.
WORDING = Wording(
    ("word", "thanks", "thing", "href", "http", "code", "pre", "amp", "x41"),
    np.linspace(1.0, 3.0, 9),
    np.linspace(-1.0, 1.0, 9),
)


def served_features(title: str, body: str) -> None:
    """What the ML Editor computes per request: the writing features and the wording
    (as `MlEditorPredictor.features` does)."""
    text = to_text(body)
    extract_from(title, body, text)
    WORDING.score(join(title, text))


def assert_fast(title: str, body: str) -> None:
    elapsed = best_of_3(lambda: served_features(title, body))
    assert elapsed <= LIMIT_S, (
        f"extracting features of a {len(body):,}-character body took {elapsed * 1000:.0f} ms "
        f"(limit {LIMIT_S * 1000:.0f} ms); body starts {body[:60]!r}"
    )


WORST_CASES = {
    # The three found quadratic: a run of sentence ends that ends in a letter, and
    # unclosed anchors that each scanned to the end looking for `href`.
    "dots then a letter (8,000)": "." * 8000 + "x",
    "dots then a letter (limit)": "." * (BODY_LIMIT - 1) + "x",
    "unclosed anchors": "<a " * (BODY_LIMIT // 3),
    # Tags: each `<` after the last `>` scanned to the end.
    "'>' then unclosed '<'": ">" + "<" * (BODY_LIMIT - 1),
    "unclosed anchors with href": fill("<a href ", BODY_LIMIT - 1) + ">",
    "anchors without href": fill("<a >", BODY_LIMIT),
    "'!?' then a letter": fill("!?", BODY_LIMIT - 1) + "x",
    "a reference with 49,998 digits": "&#" + "7" * (BODY_LIMIT - 2),
    "25,000 references": fill("&a", BODY_LIMIT),
    "25,000 one-letter words": fill("a ", BODY_LIMIT),
    "one 50,000-letter word": "e" * BODY_LIMIT,
    "newline then spaces": "\n" + " " * (BODY_LIMIT - 2) + "x",
}


@pytest.mark.parametrize("body", list(WORST_CASES.values()), ids=list(WORST_CASES))
def test_known_worst_cases_are_linear(body: str) -> None:
    assert len(body) <= BODY_LIMIT
    assert_fast("t", body)


# Units repeated up to the body limit (what regexes are slow on is long runs), each
# ended by what can make a match fail at the very end.
HOSTILE_UNITS = [
    *[".", "!?", ". ", ".!?", "?\n", "...x", "!"],
    *["<a ", "<a href", "<A\thref=", "<", "<<<<", ">", "<p><p>", "</", "<pre><code>", "<>"],
    *["http://", "https://x", "](", "[a](b) ", "`", "```\n", "```", "    ", "\t"],
    *[" ", "\n", "\n\n", "\n    ", "\n\t\n", " \n", "\r\n", "\n \t"],
    *["a", "e", "ae", "word ", "Word'", "A-", "THANKS ", "thing ", "a. "],
    *["&", "&#", "&#1", "&#x41;", "&amp;", "&lt", "&#0", "&a"],
    *["\u200f", "\u202e", "שלום ", "مرحبا ", "Привет ", "日本語", "é", "😀", "\u0301", "ſ"],
]
TAILS = ["", "x", ">", "<", "\n", " ", "href", "?", "    x"]


@pytest.mark.parametrize("unit", HOSTILE_UNITS, ids=ascii)
def test_every_hostile_run_is_linear(unit: str) -> None:
    for tail in TAILS:
        assert_fast("t", fill(unit, BODY_LIMIT - len(tail)) + tail)
    assert_fast(fill(unit, TITLE_LIMIT), "body")


# Mixtures: runs of two or three units (and any text), after any head.
UNITS = st.lists(
    st.sampled_from(HOSTILE_UNITS) | st.text(min_size=1, max_size=6), min_size=1, max_size=3
).map("".join)

# No shrinking: the failing unit is the message, and shrinking would rerun a slow input.
FAST_FUZZ = settings(
    derandomize=True,
    database=None,
    deadline=None,  # the test times the extraction itself, best of 3
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


@settings(FAST_FUZZ, max_examples=150)
@given(head=UNITS, unit=UNITS, tail=st.sampled_from(TAILS), title_unit=UNITS)
def test_any_repeated_pattern_is_linear(head: str, unit: str, tail: str, title_unit: str) -> None:
    body = head + fill(unit, BODY_LIMIT - len(head) - len(tail)) + tail
    assert_fast(fill(title_unit, TITLE_LIMIT), body)


DIGITS = DigitsPredictor(
    DigitParams(np.zeros((10, 64)), np.zeros(10), np.zeros((10, 64)), 1.0, 0.5), "hostile", {}
)


def digits_features(pixels: list[Any]) -> None:
    """What serving does with a digits input: validate it, then read its features."""
    try:
        data = Digit.model_validate({"pixels": pixels})
    except ValidationError:
        return
    DIGITS.features(data)


@settings(FAST_FUZZ, max_examples=40)
@given(
    unit=st.lists(
        st.integers(-(2**70), 2**70) | st.floats() | st.sampled_from([0, 16, 7.0, "7", True]),
        min_size=1,
        max_size=8,
    ),
    size=st.sampled_from([64, 65, 1000, BODY_LIMIT]),
)
def test_digits_features_are_linear(unit: list[Any], size: int) -> None:
    pixels = (unit * (size // len(unit) + 1))[:size]
    elapsed = best_of_3(lambda: digits_features(pixels))
    assert elapsed <= LIMIT_S, f"{size:,} pixels took {elapsed * 1000:.0f} ms"
