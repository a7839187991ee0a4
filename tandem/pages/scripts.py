"""The pages' scripts, served from one route: the Content-Security-Policy allows scripts
from this origin only, never inline, so each page's script is a file here."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, FastAPI
from fastapi.responses import FileResponse, Response

from tandem.errors import NotFound
from tandem.web.access import PUBLIC

FOLDER = Path(__file__).parent / "static"
SCRIPTS = frozenset({"review-one.js", "editor.js"})
"""The files a page loads; nothing else in the folder is served from here (the API
docs' script has its own route beside the bundle it drives)."""

router = APIRouter(include_in_schema=False)


@router.get("/static/{name}", dependencies=[PUBLIC])
def script(name: str) -> Response:
    """A page's script; `no-cache` so a browser checks for a newer one after an upgrade."""
    if name not in SCRIPTS:
        raise NotFound(f"no script {name!r}; the pages load {', '.join(sorted(SCRIPTS))}")
    return FileResponse(
        FOLDER / name, media_type="text/javascript", headers={"Cache-Control": "no-cache"}
    )


def install(app: FastAPI) -> None:
    app.include_router(router)
