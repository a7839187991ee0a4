"""The app factory: nothing is built at import time, so tests and workers each
build their own app from the settings they are given."""

from __future__ import annotations

import asyncio
import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from functools import partial

from fastapi import FastAPI
from starlette.middleware import Middleware

from tandem import __version__
from tandem.api.claims import router as claims_router
from tandem.api.drift import router as drift_router
from tandem.api.guidelines import router as guidelines_router
from tandem.api.labels import router as labels_router
from tandem.api.models import router as models_router
from tandem.api.monitor import alerts_router, concerns_router
from tandem.api.predictions import PredictFastPath, health, router
from tandem.api.triage import bugs_admin_router, bugs_router, postmortems_router
from tandem.auth.verify import Authenticator
from tandem.models.artifacts import ArtifactStore
from tandem.models.catalog import discover_families
from tandem.models.interface import ModelFamily
from tandem.monitor.metrics import Gauge
from tandem.monitor.model_health import ModelHealth
from tandem.monitor.monitoring import Monitoring
from tandem.monitor.monitoring_config import load_config
from tandem.pages import docs as api_docs
from tandem.pages.monitor import router as monitor_pages
from tandem.pages.review import mount as mount_pages
from tandem.pages.review_one import router as review_one_pages
from tandem.pages.templating import cross_site_refused, refused
from tandem.periodic import Periodic
from tandem.predict.guard import Guard
from tandem.predict.isolation import Isolation
from tandem.predict.served import ServedModels
from tandem.predict.service import Policy, PredictionService
from tandem.predict.unusual import UnusualInputs
from tandem.registry.registry import Registry
from tandem.report.reports import Reports
from tandem.review.reviews import Reviews
from tandem.settings import Settings, load_settings
from tandem.store import open_store
from tandem.triage.triage import Triage
from tandem.web import access as auth
from tandem.web import errors
from tandem.web.gate import InputGate
from tandem.web.headers import SecurityHeaders
from tandem.web.intake import IntakeLedger
from tandem.web.limits import BodyLimit
from tandem.web.origin import SameOrigin
from tandem.web.state import Services


def create_app(
    settings: Settings | None = None, families: dict[str, ModelFamily] | None = None
) -> FastAPI:
    """Build the service. `families` defaults to every installed model family."""
    settings = settings or Settings()
    monitoring_config = load_config(
        settings.concerns_file
    )  # a bad file fails before anything opens
    store = open_store(settings.resolved_database_url)
    artifacts = ArtifactStore(settings.artifacts_dir, store)
    families = discover_families() if families is None else families
    models = ServedModels(store, artifacts, families)
    guard = Guard(settings.model_workers)
    # No process starts here: the pool does on a first call that needs it.
    isolation = (
        None
        if settings.model_isolation == "thread"
        else Isolation(settings.model_workers, families.values())
    )
    policy = Policy(
        settings.review_threshold,
        settings.latency_budget_ms,
        settings.holdout_rate,
        settings.model_isolation,
    )
    unusual = UnusualInputs(store)
    unusual.warm((p.name, p.version) for p in models.production.values())
    predictions = PredictionService(store, models, policy, guard, isolation, unusual, drafts=store)
    monitoring = Monitoring.from_settings(store, settings, monitoring_config)
    compaction = Periodic(
        "feature block compaction",
        settings.compact_interval_s,
        store.compact_feature_blocks,
        store.exclusive,
    )

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        try:
            auth.check_routes(app)  # again: routes may have been added after create_app
            linger_s = None if settings.log_linger_ms is None else settings.log_linger_ms / 1000
            store.start(process=settings.log_writer == "process", linger_s=linger_s)
            monitoring.start()
            compaction.start()
            yield
        finally:
            await compaction.stop()
            await monitoring.stop()
            await predictions.drain()
            await asyncio.to_thread(store.close)  # writes what is queued, then stops
            guard.close()
            if isolation is not None:
                await isolation.close()  # the last app out stops the workers

    app = FastAPI(
        title="Tandem",
        version=__version__,
        description="ML predictions with people in the loop.",
        lifespan=lifespan,
        docs_url=None,  # served by tandem.pages.docs, from Tandem's own files
        redoc_url=None,
        # The middleware stack, outermost first. Every response, a refusal included,
        # carries the security headers; the intake ledger sees every response;
        # a form from another origin is refused before its body is read; the body limit
        # runs before anything parses a body; the input gate reads bodies the limit has
        # already bounded; the fast path answers the common prediction without the router.
        middleware=[
            Middleware(SecurityHeaders),
            Middleware(IntakeLedger, predictions=predictions),
            Middleware(SameOrigin, page=cross_site_refused),
            Middleware(BodyLimit, max_bytes=settings.max_body_bytes),
            Middleware(InputGate),
            Middleware(PredictFastPath),
        ],
    )
    app.state.services = Services(
        settings=settings,
        families=families,
        models=models,
        predictions=predictions,
        reviews=Reviews(store, settings.claim_ttl_s, settings.second_opinion_rate, editor=store),
        registry=Registry(store, families, models.get, models.refresh),
        triage=Triage(store),
        health=ModelHealth(store, settings, models.get),
        reports=Reports(store, models.get, editor=store),
    )
    app.state.store = store  # for tests and tools; routes and pages go through Services
    app.state.monitoring = monitoring
    errors.install(app, page=refused)
    auth.install(app, Authenticator(store, settings.auth_cache_seconds))
    monitoring.gauge_sources.append(partial(_unauthenticated, auth.unauthenticated(app)))
    app.include_router(router)  # first: routes are matched in order, /v1/predict is hot
    app.include_router(health)
    app.include_router(claims_router)
    app.include_router(labels_router)
    app.include_router(models_router)
    app.include_router(guidelines_router)
    app.include_router(concerns_router, dependencies=[auth.ADMIN])
    app.include_router(alerts_router, dependencies=[auth.ADMIN])
    app.include_router(bugs_router, dependencies=[auth.REVIEWER])
    app.include_router(bugs_admin_router, dependencies=[auth.ADMIN])
    app.include_router(postmortems_router, dependencies=[auth.ADMIN])
    app.include_router(drift_router, dependencies=[auth.ADMIN])
    app.include_router(review_one_pages)
    mount_pages(app)
    api_docs.install(app)
    app.include_router(monitor_pages, dependencies=[auth.PAGE_ADMIN])
    auth.check_routes(app)  # deny by default: a route that names no role stops start-up
    return app


def _unauthenticated(tally: auth.Unauthenticated) -> list[Gauge]:
    return [
        Gauge(
            "tandem_unauthenticated_total",
            "Requests refused for a missing or bad API key, in this process (never stored).",
            [({}, float(tally.count))],
            kind="counter",
        )
    ]


def app_from_env() -> FastAPI:
    """Entry for `uvicorn --factory` (each worker process builds its own app).

    What exists once the app is built (modules, models, the app) lives as long as the
    server: collected once, then frozen out of the garbage collector's reach. Without
    that, each full collection walked those ~220,000 objects again while every request
    waited (130-165 ms of CPU each, measured serving a text model): the stalls
    behind the rare 150-300 ms answers under load."""
    settings = load_settings()
    if settings.log_writer is None:  # a server's default: see Settings.log_writer
        settings = settings.model_copy(update={"log_writer": "process"})
    app = create_app(settings)
    gc.collect()
    gc.freeze()
    return app
