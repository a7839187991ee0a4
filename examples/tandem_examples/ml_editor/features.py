"""Interpretable writing features, the same for training (HTML from the dumps) and
serving (whatever a user types: HTML, Markdown or plain text).

Hand-written rather than textstat & co.: a dozen regexes cost ~tens of µs per
question, which keeps feature extraction off the serving budget, and every
feature has a name a writer understands.

Every step is linear in the body's length: extraction runs on the event loop and
holds the GIL, so one quadratic pattern (a regex retried from each of n starting
points that each scan to the end) lets a single 50,000-character body stall the
server for seconds. tests/hostile/test_linear_features.py holds the worst cases.
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
_URL = re.compile(r"https?://|\]\(", re.I)
_LINK_TOKEN = re.compile(r"(<a\s[^>]*+)|https?://|\]\(", re.I)
_TAG_HREF = re.compile(r"(?:^|(?<=>))<a\s[^>]*href", re.I)
_TAG_TAIL = re.compile(r"(?:^|(?<=>))<a\s(?:[^>]*href)?([^>]*)", re.I)
_PARA_HTML = re.compile(r"<p\b", re.I)
WORD = re.compile(r"[A-Za-z][A-Za-z'’-]*")
# Starts only where a run of punctuation starts, and never gives a character back:
# `[.!?]+(?:\s|$)` alone is retried from every dot of a run that ends in a letter.
_SENTENCE_END = re.compile(r"(?<![.!?])[.!?]++(?:\s|$)")
_VOWEL_GROUPS = re.compile(r"[aeiouy]+")
_PARAGRAPH_BREAK = re.compile(r"\n\s*\n")
# html.unescape's own pattern (Lib/html/__init__.py), captured so split keeps the
# references: they are looked up one by one, cached, instead of one Python call each.
_CHARREF = re.compile(r"(&(?:#[0-9]+;?|#[xX][0-9a-fA-F]+;?|[^\t\n\f <&#;]{1,32};?))")
_CACHED_LEN = 64
VAGUE_WORDS = frozenset(
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
PLEASANTRIES = frozenset(
    ["thanks", "thank", "thx", "please", "hi", "hello", "hey", "regards", "appreciated"]
)


def to_text(body: str) -> str:
    """Readable text of a body that may be HTML (dumps) or Markdown/plain (users)."""
    if "<" in body and ">" in body:
        # No tag ends after the last '>'; each '<' there would scan to the end and fail.
        end = body.rfind(">") + 1
        body = _TAG.sub(" ", body[:end]) + body[end:]
    return unescape(body)


def unescape(text: str) -> str:
    """html.unescape(text), at C speed per reference: 25,000 references (`&a&a…`) cost
    html.unescape one Python call each, ~30 ms."""
    if "&" not in text:
        return text
    parts = _CHARREF.split(text)  # text, reference, text, …, text
    refs = parts[1::2]
    if max(map(len, refs), default=0) <= _CACHED_LEN:
        parts[1::2] = map(_unescape_ref, refs)
    else:
        parts[1::2] = [
            _unescape_ref(r) if len(r) <= _CACHED_LEN else _unescape_long(r) for r in refs
        ]
    return "".join(parts)


@functools.lru_cache(maxsize=1 << 12)
def _unescape_ref(ref: str) -> str:
    return html.unescape(ref)


def _unescape_long(ref: str) -> str:
    """A reference with many digits, which html.unescape cannot read past int()'s 4,300
    digits: the same number with the zeros in front dropped, and a number that names no
    character (above 0x10FFFF) written with 8 digits."""
    if ref[2:3].isdigit():
        semicolon = ";" if ref.endswith(";") else ""
        digits = ref[2:].removesuffix(";").lstrip("0") or "0"
        ref = "&#" + (digits if len(digits) <= 8 else "99999999") + semicolon
    return html.unescape(ref)


def count_links(body: str) -> int:
    """How many matches `<a\\s[^>]*href|https?://|\\](` (ignoring case) finds in `body`,
    in linear time.

    That regex scans from each `<a ` to the next `>` and back to the last `href`, so n
    unclosed `<a ` cost n². Only the first `<a ` before a `>` can match (it reaches the
    last `href` there; any later one fails), so each is taken with the rest of its tag,
    and what the regex would count in that rest is counted once: the `href` and the
    URLs after the last `href` (or all of them when there is none).
    """
    tokens = _LINK_TOKEN.findall(body)  # "" for a URL, the rest of the tag for an `<a `
    tags = ">".join(tokens)  # each tag now starts right after a '>' or at 0
    hrefs = len(_TAG_HREF.findall(tags))
    urls_in_tags = len(_URL.findall(">".join(_TAG_TAIL.findall(tags))))
    return tokens.count("") + hrefs + urls_in_tags


@functools.lru_cache(maxsize=1 << 16)
def _syllables(word: str) -> int:
    # Cached: a few thousand words make up most questions, and this ran per word on
    # every request (~1 µs each, the largest part of extraction).
    return _count_syllables(word)


def _count_syllables(word: str) -> int:
    word = word.lower().rstrip("e") or word.lower()
    return max(1, len(_VOWEL_GROUPS.findall(word)))


def _total_syllables(words: list[str]) -> int:
    if max(map(len, words), default=0) <= _CACHED_LEN:
        return sum(map(_syllables, words))
    # Long words bypass the cache: 65,536 cached 50,000-letter words would hold 3 GB.
    return sum(_syllables(w) if len(w) <= _CACHED_LEN else _count_syllables(w) for w in words)


def extract(title: str, body: str) -> dict[str, float]:
    """The features of one question, by name (see FEATURE_NAMES)."""
    return extract_from(title, body, to_text(body))


def extract_from(title: str, body: str, text: str) -> dict[str, float]:
    """`extract`, given the body's readable text (`to_text(body)`): for callers that
    read the text too, so a long body is converted once."""
    words = WORD.findall(text)
    n_words = len(words)
    sentences = max(1, len(_SENTENCE_END.findall(text)))
    syllables = _total_syllables(words)
    lowered = list(map(str.lower, words))
    if n_words:
        ease = 206.835 - 1.015 * (n_words / sentences) - 84.6 * (syllables / n_words)
    else:
        ease = 0.0
    html_paras = len(_PARA_HTML.findall(body))
    paragraphs = html_paras or len([p for p in _PARAGRAPH_BREAK.split(text) if p.strip()])
    # A <pre><code> block counts once; inline <code> counts when there is no block.
    blocks = len(_PRE_HTML.findall(body)) or len(_CODE_HTML.findall(body))
    code = blocks + (len(_FENCE_MD.findall(body)) + 1) // 2 + len(_INDENTED_MD.findall(body))
    return {
        "title_words": float(len(WORD.findall(title))),
        "title_has_question_mark": 1.0 if "?" in title else 0.0,
        "body_words": float(n_words),
        "paragraphs": float(paragraphs),
        "code_blocks": float(code),
        "links": float(count_links(body)),
        "question_marks_in_body": float(text.count("?")),
        "avg_sentence_words": n_words / sentences,
        "reading_ease": max(-100.0, min(120.0, ease)),
        "vague_words": float(sum(map(VAGUE_WORDS.__contains__, lowered))),
        "pleasantries": float(sum(map(PLEASANTRIES.__contains__, lowered))),
        "shouting_words": float(sum(len(w) > 2 and w.isupper() for w in words)),
    }
