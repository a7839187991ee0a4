"""What the app factory builds once and every request reads: hung on `app.state`."""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import Request

from tandem.models.artifacts import ArtifactStore
from tandem.models.interface import ModelFamily
from tandem.serving.models import ServedModels
from tandem.serving.predict import PredictionService
from tandem.settings import Settings
from tandem.store.base import Store


@dataclass
class Services:
    settings: Settings
    store: Store
    artifacts: ArtifactStore
    families: dict[str, ModelFamily]
    models: ServedModels
    predictions: PredictionService


def services(request: Request) -> Services:
    result: Services = request.app.state.services
    return result
