"""The rule-based baseline: the writing advice an editor would give, as points.

It is the yardstick the classifier must beat, and (later) the fallback that
answers when the classifier cannot.
"""

from __future__ import annotations

from collections.abc import Callable

Rule = tuple[str, Callable[[dict[str, float]], bool]]

RULES: tuple[Rule, ...] = (
    ("title is a question", lambda f: f["title_has_question_mark"] > 0),
    ("title has 5-15 words", lambda f: 5 <= f["title_words"] <= 15),
    ("body has 40-400 words", lambda f: 40 <= f["body_words"] <= 400),
    ("shows code or an example", lambda f: f["code_blocks"] > 0),
    ("sentences under 25 words", lambda f: f["avg_sentence_words"] < 25),
    ("readable (ease >= 40)", lambda f: f["reading_ease"] >= 40),
    ("no vague words", lambda f: f["vague_words"] == 0),
    ("no greetings or thanks", lambda f: f["pleasantries"] == 0),
)


def rule_score(features: dict[str, float]) -> float:
    """Share of rules the question follows, 0-1: higher means better written."""
    return sum(rule(features) for _name, rule in RULES) / len(RULES)


def broken_rules(features: dict[str, float]) -> list[str]:
    return [name for name, rule in RULES if not rule(features)]
