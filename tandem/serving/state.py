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


async def services(request: Request) -> Services:
    """Async on purpose: FastAPI runs a plain `def` dependency on its thread pool, a
    thread hop on every request for one attribute read."""
    result: Services = request.app.state.services
    return result
