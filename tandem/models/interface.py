"""The model interface: everything serving, review and the store need from a model.

Tandem never looks inside a model. A *family* (e.g. a question-quality
classifier) knows how to train and load versions; a *predictor* is one loaded
version that turns a validated input into named features, label probabilities
and an explanation.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
from pydantic import BaseModel

from tandem.domain import Contribution, Highlight, Suggestion

if TYPE_CHECKING:
    from tandem.models.reference_sample import ReferenceSample

Progress = Callable[[str, float], None]
"""Reports (stage, fraction done) during long work, for a progress bar."""


@dataclass(frozen=True)
class ImageView:
    """Tells pages to draw an input field as an image, and the explanation as a heat
    map over it, instead of printing numbers."""

    field: str  # the input field holding the pixels, row-major
    width: int
    height: int
    max_value: float  # the value drawn as full ink
    feature_names: tuple[str, ...]  # the feature of each pixel, row-major


InputDisplay = Literal["text", "html", "image"]
"""How pages show one input field to reviewers. "text": as written, escaped (what a
field no family names gets). "html": rendered as HTML after sanitising (no scripts,
event handlers, styles, frames, images or javascript: links survive). "image": drawn by
the predictor's ImageView (a field it names is drawn so without being declared)."""

INPUT_DISPLAYS: tuple[InputDisplay, ...] = ("text", "html", "image")


@dataclass(frozen=True)
class InputView:
    """How pages draw one version's inputs: each field's display, and the image's
    geometry when one field is drawn as an image."""

    fields: Mapping[str, InputDisplay] = field(default_factory=dict)
    image: ImageView | None = None

    def display(self, name: str) -> InputDisplay:
        """`name`'s display; "text" for a field nobody declared."""
        return self.fields.get(name, "text")


def input_view(family: ModelFamily | None, predictor: Predictor | None) -> InputView:
    """The family's declared displays, with the predictor's ImageView field drawn as an
    image. A field declared "image" with no ImageView to draw it, or with a display
    Tandem does not know, falls back to text: nothing unsanitised reaches a page."""
    image = predictor.input_view if predictor is not None else None
    declared = dict(family.input_display) if family is not None else {}
    if image is not None:
        declared[image.field] = "image"
    fields: dict[str, InputDisplay] = {
        name: display
        for name, display in declared.items()
        if display == "html" or (display == "image" and image is not None and name == image.field)
    }
    return InputView(fields, image)


@dataclass(frozen=True)
class EditorView:
    """Tells pages a model scores free text a writer can improve, and serves /editor
    for it: the input fields the writer types into, and the label whose probability
    is the writer's score (higher is better)."""

    title_field: str
    body_field: str
    good_label: str
    noun: str = "text"
    """What the writer writes, in the page's words ("Write your question")."""


class Predictor(ABC):
    """One trained model version, ready to score."""

    name: str
    version: str
    labels: tuple[str, ...]
    input_schema: type[BaseModel]
    review_threshold: float
    """Default confidence below which predictions go to human review."""
    latency_budget_ms: float = 50.0
    """How long serving waits for this model before the fallback answers."""
    explanation_size: int = 10
    """How many contributions are kept with each prediction (largest first)."""
    input_view: ImageView | None = None
    """How pages should draw the input; None: as text."""
    editor: EditorView | None = None
    """Set from the family's `editor` when a version is loaded for serving."""
    isolation: Literal["process", "thread"] = "process"
    """Where serving runs this model's code (and its fallback). "process": in a model
    worker process, where nothing the code does (a regex that never ends, a native
    loop that holds the GIL, a segfault) can stall other requests; what a model that
    parses free text needs. "thread": on the server's model threads (or inline, see
    `runs_inline`), which saves a hop between processes per call but trusts the code
    to finish. TANDEM_MODEL_ISOLATION, when set, decides for every model."""
    runs_inline: bool = False
    """With thread isolation only: scoring is cheap, bounded CPU work (e.g. a linear
    model over simple features), so serving calls it on the event loop instead of a
    model thread. The budget cannot interrupt an inline call; one that overruns it
    moves the model to the threads."""

    @abstractmethod
    def features(self, data: BaseModel) -> dict[str, float]:
        """Named, human-readable feature values; logged with every prediction."""

    @abstractmethod
    def predict_proba(self, features: dict[str, float]) -> np.ndarray:
        """Calibrated probability of each label, in `labels` order."""

    @abstractmethod
    def explain(self, features: dict[str, float], label: str) -> list[Contribution]:
        """Each feature's contribution to `label`'s score, largest |contribution| first."""

    def suggest(
        self, features: dict[str, float], label: str, data: BaseModel | None = None
    ) -> Sequence[Suggestion | str]:
        """Advice for the person who wrote the input (optional): each a Suggestion
        grounded in a feature (plain strings are still read, as advice of no feature).
        `data`, when given, is the input itself, for suggestions that carry a `fix`."""
        return []

    def highlights(self, data: BaseModel) -> list[Highlight]:
        """The parts of the input that pull the score down, each with its reason
        (optional; asked for a writer's draft only, so it may cost a few re-scores)."""
        return []

    def fallback(self, data: BaseModel) -> FallbackAnswer | None:
        """A simple, dependable answer (e.g. rules) for when the model fails or is
        too slow. None: this model has no fallback, and a failure is an error."""
        return None


@dataclass(frozen=True)
class FallbackAnswer:
    features: dict[str, float]
    probabilities: np.ndarray  # in the predictor's `labels` order
    explanation: list[Contribution]
    suggestions: Sequence[Suggestion | str | dict[str, Any]] = field(default_factory=list)


@dataclass(frozen=True)
class TrainedArtifact:
    """What a training run hands back: bytes to store and what to register them with."""

    content: bytes
    data_hash: str
    metrics: dict[str, Any] = field(default_factory=dict)
    report: str = ""
    reference: ReferenceSample | None = None
    """A sample of the training features scored by this version: what drift compares
    live traffic with (see `tandem.models.reference_sample.sample_reference`)."""


@dataclass(frozen=True)
class LabelledExample:
    """An input people labelled (review or feedback): extra training data."""

    input: dict[str, Any]
    label: str
    source: str  # "review" or "feedback"
    prediction_id: str


CARD_SECTIONS = (
    "intended_use",
    "out_of_scope",
    "training_data",
    "limitations",
    "fallback",
)
"""Prose sections of a model card that a family drafts and people may edit."""


class ModelFamily(ABC):
    """A kind of model Tandem can train and load; found through entry points."""

    name: str
    input_schema: type[BaseModel]
    editor: EditorView | None = None
    """Offers the writer's page (/editor) for this model; None: it does not."""
    attribution: str | None = None
    """Where the family's training data comes from and under which licence, shown on the
    about page: plain text (escaped there; http(s) addresses in it become links).
    None: nothing to credit."""
    input_display: Mapping[str, InputDisplay] = MappingProxyType({})
    """How reviewers see each input field (see InputDisplay), e.g. `{"body": "html"}`
    for a field that holds HTML; a field not named here is shown as plain text."""

    @abstractmethod
    def train(
        self,
        data_dir: Path | None,
        progress: Progress | None = None,
        extra: list[LabelledExample] | None = None,
        evaluate_on: list[LabelledExample] | None = None,
    ) -> TrainedArtifact:
        """Train on the family's data plus `extra` (labels people gave), and report
        metrics on the fixed test split and, separately, on `evaluate_on`. `data_dir`
        None: the family finds its data itself (its own setting or bundled data)."""

    def card_defaults(self) -> dict[str, str]:
        """The family's draft of each card section (see CARD_SECTIONS)."""
        return {}

    @abstractmethod
    def load(self, content: bytes, version: str) -> Predictor: ...
