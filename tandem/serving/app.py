"""The app factory: nothing is built at import time, so tests and workers each
build their own app from the settings they are given."""

from __future__ import annotations

from fastapi import FastAPI

from tandem import __version__
from tandem.models.artifacts import ArtifactStore
from tandem.models.catalog import discover_families, load_production
from tandem.serving import errors
from tandem.serving.api import health, router
from tandem.serving.limits import BodyLimit
from tandem.serving.predict import PredictionService
from tandem.serving.state import Services
from tandem.settings import Settings, load_settings
from tandem.store import open_store
from tandem.ui.pages import mount as mount_pages


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    store = open_store(settings.resolved_database_url)
    artifacts = ArtifactStore(settings.artifacts_dir)
    families = discover_families()
    predictors = load_production(store, artifacts, families)
    app = FastAPI(
        title="Tandem",
        version=__version__,
        description="ML predictions with people in the loop.",
    )
    app.state.services = Services(
        settings=settings,
        store=store,
        artifacts=artifacts,
        families=families,
        predictions=PredictionService(store, predictors, settings.review_threshold),
    )
    errors.install(app)
    app.include_router(health)
    app.include_router(router)
    mount_pages(app)
    app.add_middleware(BodyLimit, max_bytes=settings.max_body_bytes)
    return app


def app_from_env() -> FastAPI:
    """Entry for `uvicorn --factory` (each worker process builds its own app)."""
    return create_app(load_settings())
