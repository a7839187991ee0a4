"""One rule for sync and async (tandem/web/state.py): what touches the store or runs
model work is a plain `def` on the thread pool; `async def` only for what never blocks
and for the one hot path, POST /v1/predict. Checked on the app as built, so a new
route or dependency that breaks the rule fails here."""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterator
from typing import Any

from fastapi import FastAPI
from fastapi.testclient import TestClient

from tandem.app import create_app
from tandem.settings import Settings
from tandem.web import access, state

ASYNC_ROUTES = {
    ("POST", "/v1/predict"): "the hot path: its write goes to the group-commit writer",
    ("GET", "/healthz"): "reads which models are loaded, nothing else",
}
ASYNC_DEPENDENCIES: dict[Callable[..., Any], str] = {
    state.services: "reads app.state",
    state.monitoring: "reads app.state",
    state.form_fields: "reads the request's form",
    access.Require.__call__: "a cached key check; a cache miss goes to the thread pool",
    access.Public.__call__: "does nothing",
    access.ClientOrPublicEditor.__call__: "reads a setting, else Require's key check",
}


def _is_async(call: Callable[..., Any]) -> bool:
    return inspect.iscoroutinefunction(call) or inspect.iscoroutinefunction(
        getattr(call, "__call__", None)  # noqa: B004 (a dependency may be an instance)
    )


def _function(call: Callable[..., Any]) -> Callable[..., Any]:
    return call if inspect.isfunction(call) else type(call).__call__


def _dependencies(dependant: Any) -> Iterator[Callable[..., Any]]:
    for sub in dependant.dependencies:
        if sub.call is not None:
            yield sub.call
        yield from _dependencies(sub)


def _routes(app: FastAPI) -> list[Any]:
    """Every route as served, with its routers' dependencies (FastAPI keeps included
    routers lazily; older versions copied each route into `app.routes`)."""
    try:
        from fastapi.routing import iter_route_contexts
    except ImportError:  # pragma: no cover - older FastAPI
        return [r for r in app.routes if getattr(r, "dependant", None) is not None]
    contexts = iter_route_contexts(app.routes)
    return [c for c in contexts if getattr(c, "dependant", None) is not None]


def test_only_the_hot_path_and_routes_that_never_block_are_async(settings: Settings) -> None:
    app = create_app(settings, families={})
    with TestClient(app):  # its lifespan closes the store the app opened
        routes = _routes(app)
    assert len(routes) > 50  # the API and the pages, not an empty app

    async_routes = {
        (method, route.path)
        for route in routes
        if _is_async(route.dependant.call)
        for method in route.methods
    }
    assert async_routes == set(ASYNC_ROUTES), (
        "async routes block the event loop when they touch the store or run model work; "
        f"make these plain `def`: {sorted(async_routes - set(ASYNC_ROUTES))}"
    )

    dependencies = {_function(call) for route in routes for call in _dependencies(route.dependant)}
    unexpected = {f.__qualname__ for f in dependencies if _is_async(f)} - {
        f.__qualname__ for f in ASYNC_DEPENDENCIES
    }
    assert not unexpected, f"async dependencies outside the rule: {sorted(unexpected)}"
