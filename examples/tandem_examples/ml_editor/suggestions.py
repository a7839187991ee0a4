"""The ML Editor's suggestions, each grounded in one writing feature.

A suggestion is given only when the question's value of a feature lies outside what
good questions typically have (the middle half of the `good` class in the training
data) and the model says that feature pulls the score down. A question with no vague
words is never told to drop vague words.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

import numpy as np

from tandem.domain import Suggestion
from tandem_examples.ml_editor import features as fx
from tandem_examples.ml_editor.schema import Question

MAX_SUGGESTIONS = 4
FIX_MAX_CHARS = 10_000
"""Bodies longer than this get no mechanical body fix: rewriting a 50,000-character
body costs several ms, on the serving path of every prediction that gets the advice."""

# feature -> ((id, advice) when the value is below the typical range, (id, advice) above)
ADVICE: dict[str, tuple[tuple[str, str], tuple[str, str]]] = {
    "title_words": (
        ("longer_title", "Make the title more specific: say what you tried and what fails."),
        ("shorter_title", "Shorten the title to the one question you are asking."),
    ),
    "title_has_question_mark": (
        ("title_question", "Phrase the title as a question that ends with '?'."),
        ("", ""),
    ),
    "body_words": (
        ("more_context", "Add context: what you want, what you tried, what happened."),
        ("shorter_body", "Cut the body down to what is needed to answer the question."),
    ),
    "paragraphs": (
        ("split_paragraphs", "Split the body into short paragraphs."),
        ("merge_paragraphs", "Merge fragments so each paragraph makes one point."),
    ),
    "code_blocks": (
        ("show_example", "Show a minimal example (code, data or formula) of the problem."),
        ("trim_code", "Trim the code to the smallest example that shows the problem."),
    ),
    "links": (
        ("link_sources", "Link to the sources or documentation you already checked."),
        ("fewer_links", "Put the essentials in the question instead of behind links."),
    ),
    "question_marks_in_body": (
        ("state_question", "State the question itself in the body."),
        ("one_question", "Ask one question at a time; split the others out."),
    ),
    "avg_sentence_words": (
        ("join_fragments", "Join choppy fragments into complete sentences."),
        ("shorter_sentences", "Use shorter sentences."),
    ),
    "reading_ease": (
        ("simpler_words", "Use simpler words and shorter sentences."),
        ("precise_terms", "Use the precise technical terms of the field."),
    ),
    "vague_words": (
        ("", ""),
        ("vague_words", "Replace vague words (thing, stuff, somehow) with what you mean."),
    ),
    "pleasantries": (
        ("", ""),
        ("greetings", "Drop greetings and thanks; they add length, not information."),
    ),
    "shouting_words": (("", ""), ("shouting", "Avoid words in ALL CAPS.")),
}


def _typical(path: Path) -> dict[str, tuple[float, float]]:
    ranges = json.loads(path.read_text())
    return {name: (float(low), float(high)) for name, (low, high) in ranges.items()}


TYPICAL = _typical(Path(__file__).with_name("typical.json"))
"""`good_ranges` of the default training data (the four default sites' `good`
questions), rounded to 2 decimals, as typical.json beside this file holds them;
tests/examples/test_ml_editor_suggestions.py checks them against the data. A version
whose artifact carries its own `typical` uses those."""

BINARY = frozenset({"title_has_question_mark"})
"""Yes/no features: what good questions typically have is what most of them do."""


def good_ranges(
    rows: Sequence[Mapping[str, float]], good: Sequence[bool]
) -> dict[str, list[float]]:
    """Per feature, the middle half (25th-75th percentile) of the good questions' values;
    for a yes/no feature, the good questions' median."""
    chosen = [r for r, g in zip(rows, good, strict=True) if g]
    out: dict[str, list[float]] = {}
    for name in fx.FEATURE_NAMES:
        values = np.array([r[name] for r in chosen], dtype=float)
        if name in BINARY:
            mid = float(np.median(values))
            out[name] = [mid, mid]
        else:
            low, high = np.percentile(values, [25, 75])
            out[name] = [round(float(low), 2), round(float(high), 2)]
    return out


def suggest(
    features: Mapping[str, float],
    pulls: Mapping[str, float],
    question: Question | None = None,
    typical: Mapping[str, Iterable[float]] | None = None,
) -> list[Suggestion]:
    """At most MAX_SUGGESTIONS suggestions, the feature that pulls the score down most
    first. `pulls`: each feature's contribution to the `good` score (negative pulls it
    down); a feature missing from it is judged by its range alone."""
    ranges = {k: tuple(v) for k, v in (typical or TYPICAL).items()}
    found: list[tuple[float, Suggestion]] = []
    for name, (below, above) in ADVICE.items():
        if name not in features or name not in ranges:
            continue
        value = float(features[name])
        low, high = (float(x) for x in ranges[name])
        pull = pulls.get(name)
        if low <= value <= high or (pull is not None and pull >= 0):
            continue
        direction = "increase" if value < low else "decrease"
        sid, text = below if direction == "increase" else above
        if not sid:
            continue
        found.append(
            (
                pull if pull is not None else 0.0,
                Suggestion(
                    sid,
                    name,
                    text,
                    round(value, 4),
                    {"low": low, "high": high},
                    direction,
                    _fix(sid, question),
                ),
            )
        )
    found.sort(key=lambda pair: pair[0])
    return [s for _pull, s in found[:MAX_SUGGESTIONS]]


_GREETING_SENTENCE = re.compile(r"[^.!?\n]*[.!?]*[ \t]*\n*")


def _fix(sid: str, question: Question | None) -> dict[str, str] | None:
    """The field with the change made, where it is mechanical (else None)."""
    if question is None:
        return None
    if sid == "title_question":
        title = question.title.rstrip().rstrip(".!:;,")
        return {"field": "title", "value": title + "?"} if title else None
    if len(question.body) > FIX_MAX_CHARS:
        return None  # a body fix rewrites the whole field: not on the serving path
    if sid == "greetings":
        body = drop_greetings(question.body)
        return {"field": "body", "value": body} if body != question.body else None
    if sid == "shouting":
        body = re.sub(r"\b[A-Z]{3,}\b", lambda m: m.group(0).lower(), question.body)
        return {"field": "body", "value": body} if body != question.body else None
    return None


def drop_greetings(body: str) -> str:
    """`body` without its short sentences (6 words or fewer) that hold a greeting or
    thanks ("Hi all.", "Thanks in advance!")."""
    kept = []
    for sentence in _GREETING_SENTENCE.findall(body):
        words = [w.lower() for w in fx.WORD.findall(sentence)]
        if words and len(words) <= 6 and any(w in fx.PLEASANTRIES for w in words):
            continue
        kept.append(sentence)
    return re.sub(r"\n{3,}", "\n\n", "".join(kept)).strip()
