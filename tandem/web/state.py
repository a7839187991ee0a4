"""What the app factory builds once and every request reads: hung on `app.state`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request

from tandem.models.artifacts import ArtifactStore
from tandem.models.interface import ModelFamily
from tandem.monitor.monitoring import Monitoring
from tandem.predict.served import ServedModels
from tandem.predict.service import PredictionService
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


async def monitoring(request: Request) -> Monitoring:
    """The monitoring service (concerns, alerts, metrics gauges) the factory started."""
    result: Monitoring = request.app.state.monitoring
    return result


Svc = Annotated[Services, Depends(services)]
"""A route's parameter type for the services: `svc: Svc`."""
Mon = Annotated[Monitoring, Depends(monitoring)]
"""A route's parameter type for monitoring: `mon: Mon`."""
