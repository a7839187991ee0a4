"""What the app factory builds once and every request reads: hung on `app.state`.

Sync or async, one rule: a route or page that reaches the store (through a service) or
runs model or NumPy work is a plain `def`, which FastAPI runs on its thread pool.
`async def` is for what never blocks (reading app state, a request's body or form) and
for the one hot path, `POST /v1/predict`: it hands its store write to the group-commit
writer and awaits the commit, and runs fast models inline under their latency budget
(tandem.predict.guard)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from starlette.datastructures import FormData

from tandem.models.interface import ModelFamily
from tandem.monitor.model_health import ModelHealth
from tandem.monitor.monitoring import Monitoring
from tandem.predict.served import ServedModels
from tandem.predict.service import PredictionService
from tandem.registry.registry import Registry
from tandem.report.reports import Reports
from tandem.review.reviews import Reviews
from tandem.settings import Settings
from tandem.triage.triage import Triage


@dataclass
class Services:
    """What routes and pages call. No store: routes parse and answer, the services
    hold the rules and read and write through their own narrow store."""

    settings: Settings
    families: dict[str, ModelFamily]
    models: ServedModels
    predictions: PredictionService
    reviews: Reviews
    registry: Registry
    triage: Triage
    health: ModelHealth
    reports: Reports


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


async def form_fields(request: Request) -> FormData:
    """A form whose fields are not known in advance, read without blocking, so the
    page that takes it can stay a plain `def`."""
    return await request.form()


FormFields = Annotated[FormData, Depends(form_fields)]
"""A page's parameter type for its whole submitted form: `form: FormFields`."""


def served_labels(svc: Services) -> dict[str, tuple[str, ...]]:
    """Each served model's labels: valid values of the review queue's filters."""
    return {name: tuple(p.labels) for name, p in svc.predictions.predictors.items()}
