"""The linear-time features give exactly the values of the regexes they replaced.

The reference below is the extraction as it was before it was made linear (a few
patterns were quadratic on hostile bodies, see tests/hostile/test_linear_features.py).
It is kept only here, as the yardstick on inputs small enough for it to be fast: every
question of the real dumps, loaded through the example's own loader, and generated
bodies built from the fragments that the rewritten steps treat specially. What counts
as a word, and the word lists, are the example's own: the rewrite left them alone.
"""

from __future__ import annotations

import functools
import html
import re
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tandem_examples.ml_editor.data import find_dumps, read_questions
from tandem_examples.ml_editor.features import (
    PLEASANTRIES,
    VAGUE_WORDS,
    WORD,
    count_links,
    extract,
    to_text,
    unescape,
)

_TAG = re.compile(r"<[^>]+>")
_PRE_HTML = re.compile(r"<pre\b", re.I)
_CODE_HTML = re.compile(r"<code\b", re.I)
_FENCE_MD = re.compile(r"^```", re.M)
_INDENTED_MD = re.compile(r"(?:\A|\n[ \t]*\n)(?: {4}|\t)\S")
_LINK = re.compile(r"<a\s[^>]*href|https?://|\]\(", re.I)
_PARA_HTML = re.compile(r"<p\b", re.I)
_SENTENCE_END = re.compile(r"[.!?]+(?:\s|$)")
_VOWEL_GROUPS = re.compile(r"[aeiouy]+")


def reference_to_text(body: str) -> str:
    if "<" in body and ">" in body:
        body = _TAG.sub(" ", body)
    return html.unescape(body)


@functools.lru_cache(maxsize=1 << 16)
def _reference_syllables(word: str) -> int:
    word = word.lower().rstrip("e") or word.lower()
    return max(1, len(_VOWEL_GROUPS.findall(word)))


def reference_extract(title: str, body: str) -> dict[str, float]:
    text = reference_to_text(body)
    words = WORD.findall(text)
    n_words = len(words)
    sentences = max(1, len(_SENTENCE_END.findall(text)))
    syllables = sum(map(_reference_syllables, words))
    lowered = [w.lower() for w in words]
    if n_words:
        ease = 206.835 - 1.015 * (n_words / sentences) - 84.6 * (syllables / n_words)
    else:
        ease = 0.0
    html_paras = len(_PARA_HTML.findall(body))
    paragraphs = html_paras or len([p for p in re.split(r"\n\s*\n", text) if p.strip()])
    blocks = len(_PRE_HTML.findall(body)) or len(_CODE_HTML.findall(body))
    code = blocks + (len(_FENCE_MD.findall(body)) + 1) // 2 + len(_INDENTED_MD.findall(body))
    return {
        "title_words": float(len(WORD.findall(title))),
        "title_has_question_mark": 1.0 if "?" in title else 0.0,
        "body_words": float(n_words),
        "paragraphs": float(paragraphs),
        "code_blocks": float(code),
        "links": float(len(_LINK.findall(body))),
        "question_marks_in_body": float(text.count("?")),
        "avg_sentence_words": n_words / sentences,
        "reading_ease": max(-100.0, min(120.0, ease)),
        "vague_words": float(sum(map(VAGUE_WORDS.__contains__, lowered))),
        "pleasantries": float(sum(map(PLEASANTRIES.__contains__, lowered))),
        "shouting_words": float(sum(len(w) > 2 and w.isupper() for w in words)),
    }


@pytest.mark.parametrize("site", ["ai", "beer", "cardano", "cstheory.meta"])
def test_every_real_question_has_the_reference_features(data_dir: Path, site: str) -> None:
    (dump,) = [d for d in find_dumps(data_dir) if d.parent.name == site]
    questions = read_questions(dump)
    assert questions
    for q in questions:
        assert extract(q.title, q.body) == reference_extract(q.title, q.body), q.id
        assert count_links(q.body) == len(_LINK.findall(q.body)), q.id


# What the rewritten steps treat specially (tags and their ends, anchors and hrefs,
# URLs, runs of punctuation, references with long numbers, long words), plus any text.
FRAGMENTS = [
    *["<a ", "<A\n", "<a\thref", "href", "HREF", ">", "<", "<>", "<p>", "<pre><code>"],
    *["http://", "HTTPS://", "httpſ://", "](", "[x](y)", ".", "!", "?", "...", ". ", "?!"],
    *[" ", "\n", "\n\n", "\t", "    ", "```\n", "`", "’", "'", "-", "\u200f", "é"],
    *["&", "&#", "&#x", "&#X4", "&lt", "&LT;", "&amp;", "&not", ";", "0", "1", "65"],
    *["&#" + "0" * 70 + "65;", "&#" + "9" * 70, "&#x" + "f" * 70, "a" * 70, "Thanks"],
]
BODIES = st.lists(st.sampled_from(FRAGMENTS) | st.text(max_size=4), max_size=40).map("".join)


@settings(max_examples=400, derandomize=True, database=None, deadline=None)
@given(title=BODIES, body=BODIES)
def test_generated_bodies_have_the_reference_features(title: str, body: str) -> None:
    assert count_links(body) == len(_LINK.findall(body))
    assert unescape(body) == html.unescape(body)
    assert to_text(body) == reference_to_text(body)
    assert extract(title, body) == reference_extract(title, body)


def test_a_reference_with_too_many_digits_for_int_reads_as_html_would() -> None:
    # html.unescape raises past int()'s 4,300-digit limit; without the limit it reads
    # such a number as no character (U+FFFD), and leading zeros as the number after them.
    assert to_text("a &#" + "1" * 5000 + "; b") == "a \ufffd b"
    assert to_text("&#" + "0" * 5000 + "65;") == "A"
    assert extract("t", "&#" + "7" * 49_998)["body_words"] == 0.0
