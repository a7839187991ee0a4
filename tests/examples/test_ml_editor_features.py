from __future__ import annotations

import pytest

from tandem_examples.ml_editor.features import FEATURE_NAMES, extract, to_text


def test_every_named_feature_is_produced() -> None:
    assert tuple(extract("Why?", "Because.")) == FEATURE_NAMES


@pytest.mark.parametrize(
    ("title", "expected"), [("How do I sort a list?", 1.0), ("Sorting a list", 0.0)]
)
def test_title_question_mark(title: str, expected: float) -> None:
    assert extract(title, "body text")["title_has_question_mark"] == expected


@pytest.mark.parametrize(
    "body",
    [
        "<p>Try this:</p><pre><code>x = 1</code></pre>",  # HTML, as in the dumps
        "Try this:\n\n```\nx = 1\n```",  # Markdown fence, as users type
        "Try this:\n\n    x = 1\n",  # Markdown indented block
    ],
)
def test_code_is_found_in_html_and_markdown(body: str) -> None:
    assert extract("t", body)["code_blocks"] == 1.0


def test_html_is_read_as_text() -> None:
    assert to_text("<p>a &amp; b</p>").strip() == "a & b"
    assert extract("t", "<p>one two three</p>")["body_words"] == 3.0


def test_vague_words_and_pleasantries_are_counted() -> None:
    f = extract("t", "Hi, my thing does stuff somehow. Thanks!")
    assert f["vague_words"] == 3.0 and f["pleasantries"] == 2.0


def test_empty_body_has_finite_features() -> None:
    f = extract("", "")
    assert all(v == v and abs(v) < 1e6 for v in f.values())  # no NaN or inf
