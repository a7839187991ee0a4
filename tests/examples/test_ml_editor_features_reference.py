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


class ReferenceFeatures:
    """The features of one question, each computed on its own from its definition:
    one method per feature, named as the feature."""

    def __init__(self, title: str, body: str) -> None:
        self.title, self.body = title, body
        self.text = reference_to_text(body)
        self.words = WORD.findall(self.text)
        self.sentences = max(1, len(_SENTENCE_END.findall(self.text)))

    def as_dict(self) -> dict[str, float]:
        features = [n for n in vars(ReferenceFeatures) if n[0] != "_" and n != "as_dict"]
        return {name: float(getattr(self, name)()) for name in features}

    def title_words(self) -> int:
        return len(WORD.findall(self.title))

    def title_has_question_mark(self) -> bool:
        return "?" in self.title

    def body_words(self) -> int:
        return len(self.words)

    def paragraphs(self) -> int:
        if _PARA_HTML.search(self.body):
            return len(_PARA_HTML.findall(self.body))
        return sum(1 for p in re.split(r"\n\s*\n", self.text) if p.strip())

    def code_blocks(self) -> int:
        # A <pre><code> block counts once; inline <code> counts when there is no block.
        html_blocks = len(_PRE_HTML.findall(self.body)) or len(_CODE_HTML.findall(self.body))
        fences = len(_FENCE_MD.findall(self.body))
        return html_blocks + (fences + 1) // 2 + len(_INDENTED_MD.findall(self.body))

    def links(self) -> int:
        return len(_LINK.findall(self.body))

    def question_marks_in_body(self) -> int:
        return self.text.count("?")

    def avg_sentence_words(self) -> float:
        return len(self.words) / self.sentences

    def reading_ease(self) -> float:
        """Flesch reading ease, clamped to [-100, 120]; 0 for a body without words."""
        if not self.words:
            return 0.0
        syllables = sum(map(_reference_syllables, self.words))
        per_sentence = len(self.words) / self.sentences
        ease = 206.835 - 1.015 * per_sentence - 84.6 * (syllables / len(self.words))
        return max(-100.0, min(120.0, ease))

    def vague_words(self) -> int:
        return sum(w.lower() in VAGUE_WORDS for w in self.words)

    def pleasantries(self) -> int:
        return sum(w.lower() in PLEASANTRIES for w in self.words)

    def shouting_words(self) -> int:
        return sum(len(w) > 2 and w.isupper() for w in self.words)


def reference_extract(title: str, body: str) -> dict[str, float]:
    return ReferenceFeatures(title, body).as_dict()


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
