"""The built-in fallbacks of a saved scikit-learn model: what it answers, without code,
when it fails or overruns its latency budget.

A rule ignores the input and gives every label a fixed probability, chosen when the
model is added and stored in its artifact, so every worker answers alike:

- `majority`: each label's share of the reference rows' true labels. The answer is the
  most common label, and its confidence is how often that label is right there.
- `constant:LABEL`: always LABEL, with probability 1 (the operator's choice, not an
  estimate).
- `uniform`: every label equally likely; the answer is the first label, with confidence
  1/number of labels: a placeholder that says it knows nothing.

Without `--fallback`: `majority` when the reference has labels; else the labels the
model itself predicts on its reference, in the same proportions; else `uniform`. So an
added model always has a fallback instead of answering 503. Any fallback answer is
served with route `fallback` and a `fallback_reason`, never mistaken for the model's.
A second saved model (`--fallback FILE`) is handled by `sklearn_adapter`.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any

import numpy as np

from tandem.domain import Contribution
from tandem.errors import InvalidInput
from tandem.models.interface import FallbackAnswer

MAJORITY, UNIFORM, CONSTANT = "majority", "uniform", "constant:"
CHOICES = "majority, constant:LABEL, uniform, or a saved model's file"


def is_rule(choice: str) -> bool:
    """A built-in rule's name (anything else is the path of a saved model)."""
    return choice in (MAJORITY, UNIFORM) or choice.startswith(CONSTANT)


def rule(
    choice: str | None,
    labels: Sequence[str],
    true_labels: Sequence[str] | None = None,
    predicted: Sequence[str] | None = None,
) -> dict[str, Any]:
    """The stored form of a rule: `choice` (None: the default) given the model's labels,
    the reference rows' true labels ("" for an unlabelled row) and what the model
    predicts on its reference."""
    known = [label for label in (true_labels or ()) if label]
    if choice is None:
        if known:
            return _shares(MAJORITY, labels, known, "the reference's labels")
        if predicted:
            return _shares(MAJORITY, labels, predicted, "the model's answers on its reference")
        return _uniform(labels)
    if choice == MAJORITY:
        if not known:
            raise InvalidInput(
                "--fallback majority needs the reference's labels: give --reference a CSV "
                "or JSON file with a 'label' column"
            )
        return _shares(MAJORITY, labels, known, "the reference's labels")
    if choice == UNIFORM:
        return _uniform(labels)
    if choice.startswith(CONSTANT):
        label = choice.removeprefix(CONSTANT)
        if label not in labels:
            raise InvalidInput(
                f"--fallback {choice}: {label!r} is not one of the model's labels "
                f"({', '.join(labels)})"
            )
        probabilities = [1.0 if other == label else 0.0 for other in labels]
        return _stored("constant", probabilities, f"always {label!r}")
    raise InvalidInput(f"unknown fallback {choice!r}; choose {CHOICES}")


def _shares(name: str, labels: Sequence[str], seen: Sequence[str], basis: str) -> dict[str, Any]:
    counts = Counter(seen)
    if unknown := sorted(set(counts) - set(labels)):
        raise InvalidInput(
            f"the reference's label {unknown[0]!r} is not one of the model's labels "
            f"({', '.join(labels)})"
        )
    total = sum(counts.values())
    probabilities = [counts[label] / total for label in labels]
    top = labels[int(np.argmax(probabilities))]
    tied = [label for label in labels if label != top and counts[label] == counts[top]]
    tie = f", tied with {', '.join(map(repr, tied))} and first in the model's order" if tied else ""
    return _stored(
        name,
        probabilities,
        f"the most common label in {basis}: {top!r} ({counts[top]} of {total}{tie}), "
        "each label's share being its probability",
    )


def _uniform(labels: Sequence[str]) -> dict[str, Any]:
    return _stored(
        UNIFORM,
        [1.0 / len(labels)] * len(labels),
        f"every label equally likely (1/{len(labels)}): no reference to learn a better answer from",
    )


def _stored(name: str, probabilities: list[float], description: str) -> dict[str, Any]:
    return {
        "kind": "rule",
        "rule": name,
        "probabilities": probabilities,
        "description": description,
    }


def rule_answer(doc: dict[str, Any], features: dict[str, float]) -> FallbackAnswer:
    """A rule's answer; its one explanation entry names the rule (no feature counted)."""
    probabilities = np.asarray(doc["probabilities"], dtype=float)
    named = Contribution(f"fallback rule: {doc['rule']}", 1.0, 0.0)
    return FallbackAnswer(features, probabilities, [named])
