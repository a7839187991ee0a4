"""The ML Editor as a Tandem model family (registered under the `tandem.models`
entry point in examples/pyproject.toml)."""

from __future__ import annotations

from pathlib import Path

from tandem.models.interface import EditorView, Predictor
from tandem_examples.family import ExampleFamily, Train
from tandem_examples.ml_editor.model import LinearParams, MlEditorPredictor
from tandem_examples.ml_editor.schema import Question
from tandem_examples.settings import data_dir

CARD = {
    "intended_use": (
        "Give the author of a question on a Q&A site feedback before posting: a score of how "
        "well the question is written (good/poor), the features behind it, and concrete "
        "suggestions. Low-confidence scores go to a human reviewer."
    ),
    "out_of_scope": (
        "Judging the correctness or value of a question's content; moderating or ranking "
        "users; languages other than English; texts other than questions (answers, essays)."
    ),
    "training_data": (
        "Questions from public Stack Exchange data dumps (default: cardano, beer, ai, "
        "cstheory.meta; 2,558 questions; CC BY-SA). Label: `good` when a question's score is "
        "strictly above its site's median question score, `poor` otherwise."
    ),
    "limitations": (
        "The label is a proxy: a score reflects topic popularity and timing as much as "
        "writing. ROC-AUC is about 0.65 on the test split (the rules: 0.54), so single scores "
        "are weak evidence; use the explanation and suggestions, and let reviewers decide "
        "uncertain cases. The writing features are surface statistics (length, code, question "
        "marks, readability) and can be gamed; the wording group learns which words the four "
        "training sites' well-received questions use, so it favours those sites' topics and "
        "says less on other sites' questions."
    ),
    "fallback": (
        "When the model fails or exceeds its latency budget, eight editor's rules answer "
        "(title is a question, 5-15 title words, 40-400 body words, shows code, short "
        "sentences, readable, no vague words, no greetings), with the rule score "
        "Platt-calibrated on the training split. Responses say `route: fallback`."
    ),
}

ATTRIBUTION = (
    "The ML Editor is trained on questions from the public Stack Exchange data dump (sites "
    "cardano, beer, ai and cstheory.meta), published by Stack Exchange, Inc. User "
    "contributions are licensed under CC BY-SA (3.0 or 4.0, per post; "
    "https://creativecommons.org/licenses/by-sa/4.0/). Questions shown in the review queue "
    "may quote these texts."
)


class MlEditorFamily(ExampleFamily):
    name = "ml-editor"
    input_schema = Question
    attribution = ATTRIBUTION
    # Bodies from Q&A sites are HTML: reviewers read them rendered (sanitised), not as
    # tags and entities. The title is plain text.
    input_display = {"body": "html"}
    editor = EditorView(title_field="title", body_field="body", good_label="good", noun="question")

    card = CARD

    def trainer(self) -> Train:
        from tandem_examples.ml_editor.train import train  # sklearn only when training

        return train

    def default_data_dir(self) -> Path:
        return data_dir()

    def load(self, content: bytes, version: str) -> Predictor:
        params, doc = LinearParams.from_json(content)
        return MlEditorPredictor(params, version, doc)


family = MlEditorFamily()
