"""/editor, the writer's page: title and body boxes that a static script scores as the
writer pauses, through the same JSON API any client calls (POST /v1/predict with a
draft; ratings through POST /v1/predictions/{id}/feedback). Served for models whose
family offers an editor; TANDEM_EDITOR_ACCESS says who may open it."""

from __future__ import annotations

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import HTMLResponse, Response

from tandem.errors import NotFound
from tandem.pages.templating import templates
from tandem.web.access import EDITOR_PAGE
from tandem.web.state import Svc

router = APIRouter(include_in_schema=False)


@router.get("/editor", response_class=HTMLResponse, dependencies=[EDITOR_PAGE])
def editor_page(request: Request, svc: Svc, model: str | None = None) -> Response:
    offered = {
        name: p for name, p in sorted(svc.predictions.predictors.items()) if p.editor is not None
    }
    if not offered:
        raise NotFound("no served model offers an editor")
    if model is not None and model not in offered:
        raise NotFound(f"model {model!r} offers no editor; models with one: {', '.join(offered)}")
    name = model or next(iter(offered))
    predictor = offered[name]
    return templates.TemplateResponse(
        request,
        "editor.html",
        {"model": name, "version": predictor.version, "view": predictor.editor, "models": offered},
    )


def install(app: FastAPI) -> None:
    app.include_router(router)
