"""The ML Editor as a Tandem model family (registered under the `tandem.models`
entry point in pyproject.toml)."""

from __future__ import annotations

from pathlib import Path

from tandem.models.interface import ModelFamily, Predictor, Progress, TrainedArtifact
from tandem_examples.ml_editor.model import LinearParams, MlEditorPredictor
from tandem_examples.ml_editor.schema import Question


class MlEditorFamily(ModelFamily):
    name = "ml-editor"
    input_schema = Question

    def train(self, data_dir: Path, progress: Progress | None = None) -> TrainedArtifact:
        from tandem_examples.ml_editor.train import train  # sklearn only when training

        return train(data_dir, progress)

    def load(self, content: bytes, version: str) -> Predictor:
        params, doc = LinearParams.from_json(content)
        return MlEditorPredictor(params, version, doc)


family = MlEditorFamily()
