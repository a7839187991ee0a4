"""The wording part of the ML Editor: word TF-IDF scored from its vocabulary, idf and
weights, exactly as scikit-learn's TfidfVectorizer (default tokens, lowercase,
sublinear tf, l2 norm) would, without scikit-learn at serving time.

Each term's share of the score is exact, so the group "wording" is the sum of its
terms, and a term's share can be split over the places it occurs (the sentences a
page highlights) without approximation.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass
from typing import Any

import numpy as np

from tandem_examples.ml_editor.features import to_text

# TfidfVectorizer's default token_pattern: linear (a maximal run of word characters
# always ends at a word boundary, so nothing is retried).
TOKEN = re.compile(r"(?u)\b\w\w+\b")
_SENTENCE = re.compile(r"[^.!?\n]+[.!?]*")
MAX_CHARS = 12_000
"""The wording is read from the first 12,000 characters (every question of the example
data is shorter, and few questions anywhere are longer): it bounds what a 50,000-character
body costs on the event loop."""


def text_of(title: str, body: str) -> str:
    """What the wording is read from: the title, then the body's readable text (at
    most MAX_CHARS characters)."""
    return join(title, to_text(body))


def join(title: str, text: str) -> str:
    """`text_of`, given the body's readable text (`to_text(body)`)."""
    return (title + "\n" + text)[:MAX_CHARS]


@dataclass(frozen=True)
class Wording:
    terms: tuple[str, ...]
    idf: np.ndarray
    coef: np.ndarray  # log-odds of "good" per unit of a term's normalized tf-idf

    def __post_init__(self) -> None:
        object.__setattr__(self, "_index", {t: i for i, t in enumerate(self.terms)})

    def to_doc(self) -> dict[str, Any]:
        return {"terms": list(self.terms), "idf": self.idf.tolist(), "coef": self.coef.tolist()}

    @classmethod
    def from_doc(cls, doc: dict[str, Any]) -> Wording:
        return cls(
            tuple(doc["terms"]),
            np.asarray(doc["idf"], dtype=float),
            np.asarray(doc["coef"], dtype=float),
        )

    def weights(self, text: str) -> dict[int, float]:
        """Normalized tf-idf of each vocabulary term in `text`, by column."""
        index: dict[str, int] = self._index  # type: ignore[attr-defined]
        counts = Counter(TOKEN.findall(text.lower()))
        raw = {
            index[t]: (1.0 + math.log(n)) * float(self.idf[index[t]])
            for t, n in counts.items()
            if t in index
        }
        norm = math.sqrt(sum(v * v for v in raw.values()))
        return {i: v / norm for i, v in raw.items()} if norm else {}

    def term_shares(self, text: str) -> dict[str, float]:
        """Each term's share of the raw log-odds (before calibration); they sum to the
        wording group's raw score."""
        return {self.terms[i]: float(self.coef[i]) * w for i, w in self.weights(text).items()}

    def score(self, text: str) -> float:
        """The wording group's raw log-odds of "good"."""
        return math.fsum(self.term_shares(text).values())

    def by_sentence(self, text: str) -> list[tuple[str, float]]:
        """Each sentence (or line) of `text` with its share of the raw wording score:
        a term's share split evenly over its occurrences. Shares sum to `score`."""
        shares = self.term_shares(text)
        occurrences = Counter(TOKEN.findall(text.lower()))
        out = []
        for match in _SENTENCE.finditer(text):
            sentence = match.group()
            if not sentence.strip():
                continue
            tokens = TOKEN.findall(sentence.lower())
            part = math.fsum(shares[t] / occurrences[t] for t in tokens if t in shares)
            out.append((sentence.strip(), part))
        return out
