"""Retrain from people: the family's data plus every label gathered from reviews and
feedback, evaluated on the same test split and on the live holdout."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from tandem.domain import Label, ModelVersion, Prediction
from tandem.models.artifacts import ArtifactStore
from tandem.models.interface import LabelledExample, ModelFamily, Progress, TrainedArtifact
from tandem.registry.training_labels import RECORD, training_record
from tandem.registry.versions import register
from tandem.store.registry_store import RegistryStore
from tandem.store.review_queue import LabelReads

Labelled = list[tuple[Prediction, Label]]


def _split(store: LabelReads, name: str) -> tuple[Labelled, Labelled]:
    train: Labelled = []
    holdout: Labelled = []
    for prediction, label in store.labelled_predictions(name):
        (holdout if prediction.holdout else train).append((prediction, label))
    return train, holdout


def _examples(pairs: Labelled) -> list[LabelledExample]:
    return [LabelledExample(p.input, label.label, label.source, p.id) for p, label in pairs]


def gathered_labels(
    store: LabelReads, name: str
) -> tuple[list[LabelledExample], list[LabelledExample]]:
    """(to train on, to evaluate on): holdout items are kept out of training, so
    they stay an unbiased live test set. Each item's final label counts
    (domain.final_label: adjudication > review > import > feedback)."""
    train, holdout = _split(store, name)
    return _examples(train), _examples(holdout)


def retrain(
    store: RegistryStore,
    artifacts: ArtifactStore,
    family: ModelFamily,
    data_dir: Path | None,
    progress: Progress | None = None,
) -> tuple[ModelVersion, TrainedArtifact]:
    """The candidate's metrics record the labels it was trained on (count, time range,
    hash), so its promotion evidence can leave them out."""
    train, holdout = _split(store, family.name)
    trained = family.train(data_dir, progress, _examples(train), _examples(holdout))
    trained = replace(
        trained, metrics={**trained.metrics, RECORD: training_record(train, len(holdout))}
    )
    version = register(store, artifacts, family.name, trained, family.card_defaults())
    return version, trained
