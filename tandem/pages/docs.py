"""The API browser at /docs: Swagger UI 5 served by Tandem itself (the pinned
`openapi-ui-bundles` package), never from a CDN. /docs shares its origin with the
login cookie, so a script loaded there could make admin calls; only files shipped
with Tandem run there, and the strict Content-Security-Policy holds (the
initializer is a file, not an inline script)."""

from __future__ import annotations

from html import escape
from pathlib import Path

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from openapi_ui_bundles.swagger_ui import static_path

from tandem.errors import NotFound
from tandem.web.access import PUBLIC

DOCS = "/docs"
ASSETS = "/docs-assets"
_VENDOR = Path(static_path)
_FILES = {
    "swagger-ui-bundle.js": _VENDOR / "swagger-ui-bundle.js",
    "swagger-ui.css": _VENDOR / "swagger-ui.css",
    "favicon-32x32.png": _VENDOR / "favicon-32x32.png",
    "docs.js": Path(__file__).parent / "static" / "docs.js",
}
"""Only these files are served: a fixed list, so no path from a request reaches the disk."""

router = APIRouter(include_in_schema=False, dependencies=[PUBLIC])


@router.get(DOCS, response_class=HTMLResponse)
def docs(request: Request) -> Response:
    openapi = escape(request.app.openapi_url or "/openapi.json")
    title = escape(f"{request.app.title} - API")
    return HTMLResponse(
        "<!doctype html>\n"
        f'<html lang="en"><head><meta charset="utf-8"><title>{title}</title>\n'
        f'<link rel="stylesheet" href="{ASSETS}/swagger-ui.css">\n'
        f'<link rel="icon" type="image/png" href="{ASSETS}/favicon-32x32.png">\n'
        f'</head><body><div id="swagger-ui" data-openapi="{openapi}"></div>\n'
        f'<script src="{ASSETS}/swagger-ui-bundle.js"></script>\n'
        f'<script src="{ASSETS}/docs.js"></script>\n'
        "</body></html>\n"
    )


@router.get(f"{ASSETS}/{{name}}")
def docs_asset(name: str) -> Response:
    path = _FILES.get(name)
    if path is None:
        raise NotFound(f"no docs asset named {name!r}")
    return FileResponse(path, headers={"Cache-Control": "public, max-age=86400"})


@router.get("/redoc")
def redoc() -> Response:
    """The other API browser once served here: /docs is the one kept."""
    return RedirectResponse(DOCS, status_code=308)


def install(app: FastAPI) -> None:
    app.include_router(router)
