"""The model interface: everything serving, review and the store need from a model.

Tandem never looks inside a model. A *family* (e.g. the ML Editor) knows how to
train and load versions; a *predictor* is one loaded version that turns a
validated input into named features, label probabilities and an explanation.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import BaseModel

from tandem.domain import Contribution

Progress = Callable[[str, float], None]
"""Reports (stage, fraction done) during long work, for a progress bar."""


class Predictor(ABC):
    """One trained model version, ready to score."""

    name: str
    version: str
    labels: tuple[str, ...]
    input_schema: type[BaseModel]
    review_threshold: float
    """Default confidence below which predictions go to human review."""

    @abstractmethod
    def features(self, data: BaseModel) -> dict[str, float]:
        """Named, human-readable feature values; logged with every prediction."""

    @abstractmethod
    def predict_proba(self, features: dict[str, float]) -> np.ndarray:
        """Calibrated probability of each label, in `labels` order."""

    @abstractmethod
    def explain(self, features: dict[str, float], label: str) -> list[Contribution]:
        """Each feature's contribution to `label`'s score, largest |contribution| first."""

    def suggest(self, features: dict[str, float], label: str) -> list[str]:
        """Plain-language advice for the person who wrote the input (optional)."""
        return []


@dataclass(frozen=True)
class TrainedArtifact:
    """What a training run hands back: bytes to store and what to register them with."""

    content: bytes
    data_hash: str
    metrics: dict[str, Any] = field(default_factory=dict)
    report: str = ""


class ModelFamily(ABC):
    """A kind of model Tandem can train and load; found through entry points."""

    name: str
    input_schema: type[BaseModel]

    @abstractmethod
    def train(self, data_dir: Path, progress: Progress | None = None) -> TrainedArtifact: ...

    @abstractmethod
    def load(self, content: bytes, version: str) -> Predictor: ...
