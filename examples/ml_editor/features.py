"""Interpretable writing features, the same for training (HTML from the dumps) and
serving (whatever a user types: HTML, Markdown or plain text).

Hand-written rather than textstat & co.: a dozen regexes cost ~tens of µs per
question, which keeps feature extraction off the serving budget, and every
feature has a name a writer understands.
"""

from __future__ import annotations

import functools
import html
import re

FEATURE_NAMES: tuple[str, ...] = (
    "title_words",
    "title_has_question_mark",
    "body_words",
    "paragraphs",
    "code_blocks",
    "links",
    "question_marks_in_body",
    "avg_sentence_words",
    "reading_ease",
    "vague_words",
    "pleasantries",
    "shouting_words",
)

_TAG = re.compile(r"<[^>]+>")
_PRE_HTML = re.compile(r"<pre\b", re.I)
_CODE_HTML = re.compile(r"<code\b", re.I)
_FENCE_MD = re.compile(r"^```", re.M)
_INDENTED_MD = re.compile(r"(?:\A|\n[ \t]*\n)(?: {4}|\t)\S")  # indented block after a blank line
_LINK = re.compile(r"<a\s[^>]*href|https?://|\]\(", re.I)
_PARA_HTML = re.compile(r"<p\b", re.I)
_WORD = re.compile(r"[A-Za-z][A-Za-z'’-]*")
_SENTENCE_END = re.compile(r"[.!?]+(?:\s|$)")
_VOWEL_GROUPS = re.compile(r"[aeiouy]+")
_VAGUE = frozenset(
    [
        "thing",
        "things",
        "stuff",
        "something",
        "somehow",
        "anything",
        "whatever",
        "etc",
        "basically",
        "kinda",
        "sorta",
    ]
)
_PLEASANT = frozenset(
    ["thanks", "thank", "thx", "please", "hi", "hello", "hey", "regards", "appreciated"]
)


def to_text(body: str) -> str:
    """Readable text of a body that may be HTML (dumps) or Markdown/plain (users)."""
    if "<" in body and ">" in body:
        body = _TAG.sub(" ", body)
    return html.unescape(body)


@functools.lru_cache(maxsize=1 << 16)
def _syllables(word: str) -> int:
    # Cached: a few thousand words make up most questions, and this ran per word on
    # every request (~1 µs each, the largest part of extraction).
    word = word.lower().rstrip("e") or word.lower()
    return max(1, len(_VOWEL_GROUPS.findall(word)))


def extract(title: str, body: str) -> dict[str, float]:
    """The features of one question, by name (see FEATURE_NAMES)."""
    text = to_text(body)
    words = _WORD.findall(text)
    n_words = len(words)
    sentences = max(1, len(_SENTENCE_END.findall(text)))
    syllables = sum(map(_syllables, words))
    lowered = [w.lower() for w in words]
    if n_words:
        ease = 206.835 - 1.015 * (n_words / sentences) - 84.6 * (syllables / n_words)
    else:
        ease = 0.0
    html_paras = len(_PARA_HTML.findall(body))
    paragraphs = html_paras or len([p for p in re.split(r"\n\s*\n", text) if p.strip()])
    # A <pre><code> block counts once; inline <code> counts when there is no block.
    blocks = len(_PRE_HTML.findall(body)) or len(_CODE_HTML.findall(body))
    code = blocks + (len(_FENCE_MD.findall(body)) + 1) // 2 + len(_INDENTED_MD.findall(body))
    return {
        "title_words": float(len(_WORD.findall(title))),
        "title_has_question_mark": 1.0 if "?" in title else 0.0,
        "body_words": float(n_words),
        "paragraphs": float(paragraphs),
        "code_blocks": float(code),
        "links": float(len(_LINK.findall(body))),
        "question_marks_in_body": float(text.count("?")),
        "avg_sentence_words": n_words / sentences,
        "reading_ease": max(-100.0, min(120.0, ease)),
        "vague_words": float(sum(map(_VAGUE.__contains__, lowered))),
        "pleasantries": float(sum(map(_PLEASANT.__contains__, lowered))),
        "shouting_words": float(sum(len(w) > 2 and w.isupper() for w in words)),
    }
