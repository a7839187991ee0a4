"""Retrain from people: the family's data plus every label gathered from reviews and
feedback, evaluated on the same test split and on the live holdout."""

from __future__ import annotations

from pathlib import Path

from tandem.domain import ModelVersion
from tandem.models.artifacts import ArtifactStore
from tandem.models.interface import LabelledExample, ModelFamily, Progress, TrainedArtifact
from tandem.registry.versions import register
from tandem.store.registry_store import RegistryStore
from tandem.store.review_queue import LabelReads


def gathered_labels(
    store: LabelReads, name: str
) -> tuple[list[LabelledExample], list[LabelledExample]]:
    """(to train on, to evaluate on): holdout items are kept out of training, so
    they stay an unbiased live test set. Each item's final label counts
    (domain.final_label: adjudication > review > import > feedback)."""
    train: list[LabelledExample] = []
    holdout: list[LabelledExample] = []
    for prediction, label in store.labelled_predictions(name):
        example = LabelledExample(prediction.input, label.label, label.source, prediction.id)
        (holdout if prediction.holdout else train).append(example)
    return train, holdout


def retrain(
    store: RegistryStore,
    artifacts: ArtifactStore,
    family: ModelFamily,
    data_dir: Path | None,
    progress: Progress | None = None,
) -> tuple[ModelVersion, TrainedArtifact]:
    extra, holdout = gathered_labels(store, family.name)
    trained = family.train(data_dir, progress, extra, holdout)
    version = register(store, artifacts, family.name, trained, family.card_defaults())
    return version, trained
