"""Which sentences of a question pull its score down: leave one sentence out, score
again, and keep the sentences whose absence raises the `good` score.

Each re-score is one feature extraction of the body (linear in its length), so the
work is bounded: bodies of at most MAX_CHARS characters (longer drafts get no
highlights rather than a slow answer), and no more sentences than keep the text
extracted again under MAX_WORK_CHARS (the first sentences; at most MAX_SENTENCES):
every sentence of a typical question, a few ms of work.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping

from tandem.domain import Highlight
from tandem_examples.ml_editor import features as fx

MAX_CHARS = 8_000
MAX_SENTENCES = 40
MAX_WORK_CHARS = 40_000
MAX_HIGHLIGHTS = 5
MIN_DELTA = 0.003
"""A sentence is highlighted when leaving it out raises the score by this much."""

_SENTENCE = re.compile(r"[^.!?\n]+[.!?]*")

REASONS: dict[str, tuple[str, str]] = {
    # feature -> (reason when the sentence adds to the feature, reason when it lowers it)
    "vague_words": ("vague words", "vague words"),
    "pleasantries": ("a greeting or thanks, which adds no information", "a greeting"),
    "shouting_words": ("words in capitals", "words in capitals"),
    "avg_sentence_words": ("a long sentence", "a fragment that is not a full sentence"),
    "reading_ease": ("hard words", "hard words"),
    "question_marks_in_body": ("one question too many", "no question"),
    "links": ("a link instead of the essentials", "links"),
    "body_words": ("length that adds nothing", "length that adds nothing"),
    "code_blocks": ("code", "code"),
    "paragraphs": ("paragraph breaks", "paragraph breaks"),
    "wording": ("words that questions rated poor tend to use", "wording"),
}


def sentences(body: str) -> list[tuple[int, int]]:
    """Each sentence's [start, end) in `body`, stripped of surrounding spaces."""
    spans = []
    for m in _SENTENCE.finditer(body):
        text = m.group(0)
        start = m.start() + (len(text) - len(text.lstrip()))
        end = m.end() - (len(text) - len(text.rstrip()))
        if fx.WORD.search(body, start, end):
            spans.append((start, end))
    return spans


def highlights(
    title: str,
    body: str,
    score: Callable[[dict[str, float]], float],
    pulls: Callable[[dict[str, float]], Mapping[str, float]],
    extract: Callable[[str, str], dict[str, float]] = fx.extract,
) -> list[Highlight]:
    """The sentences of `body` whose absence raises `score` (the `good` probability)
    most, largest first, each with the feature whose pull changes most as its reason.
    `pulls`: each feature's contribution to the `good` score; `extract`: the model's
    features of (title, body)."""
    spans = sentences(body)
    if len(body) > MAX_CHARS or len(spans) < 2:
        return []  # one sentence left out leaves no question to score
    base_features = extract(title, body)
    base, base_pulls = score(base_features), pulls(base_features)
    found = []
    for start, end in spans[: min(MAX_SENTENCES, MAX_WORK_CHARS // max(len(body), 1))]:
        without = extract(title, body[:start] + body[end:])
        delta = score(without) - base
        if delta < MIN_DELTA:
            continue
        after = pulls(without)
        name = max(base_pulls, key=lambda n: after.get(n, 0.0) - base_pulls[n])
        adds = without.get(name, 0.0) < base_features.get(name, 0.0)
        reason = REASONS.get(name, (name.replace("_", " "),) * 2)[0 if adds else 1]
        found.append(Highlight("body", start, end, body[start:end], round(delta, 4), reason))
    found.sort(key=lambda h: -h.delta)
    return found[:MAX_HIGHLIGHTS]
