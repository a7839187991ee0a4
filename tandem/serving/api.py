"""JSON API under /v1: predict, look up, review, feedback."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from starlette.concurrency import run_in_threadpool

from tandem.domain import shallow_dict
from tandem.monitor.metrics import render as render_metrics
from tandem.monitor.service import Monitoring
from tandem.registry.replay import replay, summarize
from tandem.review import service as review_service
from tandem.serving.api_monitor import monitoring
from tandem.serving.auth import ADMIN, CLIENT, PUBLIC, REVIEWER, Reviewer
from tandem.serving.schemas import (
    DecisionRequest,
    ErrorResponse,
    FeedbackOut,
    FeedbackRequest,
    PredictionOut,
    PredictRequest,
    PredictResponse,
    ReplayFilter,
    ReplayRequest,
    ReviewOut,
    ReviewPage,
)
from tandem.serving.state import Services, services
from tandem.store.base import PredictionFilter

_errors: dict[int | str, dict[str, object]] = {
    code: {"model": ErrorResponse} for code in (401, 403, 404, 409, 413, 422)
}
router = APIRouter(prefix="/v1", responses=_errors)
Svc = Annotated[Services, Depends(services)]


@router.post(
    "/predict", response_model=PredictResponse, tags=["predictions"], dependencies=[CLIENT]
)
async def predict(body: PredictRequest, svc: Svc) -> Response:
    """Score an input; the prediction is logged before this answers.

    The model runs on the guard's threads under its latency budget; the store write
    stays on the event loop, which makes the loop the process's one SQLite writer."""
    prediction, review_id = await svc.predictions.predict(body.model, body.input)
    # Validated and serialised once, here (a response_model would do both again).
    out = PredictResponse.model_validate({**shallow_dict(prediction), "review_id": review_id})
    return Response(out.model_dump_json(), media_type="application/json")


@router.get(
    "/predictions/{prediction_id}",
    response_model=PredictionOut,
    tags=["predictions"],
    dependencies=[REVIEWER],
)
async def get_prediction(prediction_id: str, svc: Svc) -> PredictionOut:
    return PredictionOut.of(svc.store.get_prediction(prediction_id))


@router.post(
    "/predictions/{prediction_id}/feedback",
    response_model=FeedbackOut,
    status_code=201,
    tags=["feedback"],
    dependencies=[CLIENT],
)
async def add_feedback(prediction_id: str, body: FeedbackRequest, svc: Svc) -> FeedbackOut:
    item, label = review_service.add_feedback(
        svc.store, prediction_id, body.kind, body.label, body.comment
    )
    return FeedbackOut.of(item, label)


@router.get("/predictions/{prediction_id}/feedback", tags=["feedback"], dependencies=[REVIEWER])
async def list_feedback(prediction_id: str, svc: Svc) -> list[FeedbackOut]:
    svc.store.get_prediction(prediction_id)  # 404 for an unknown id, not an empty list
    return [FeedbackOut.of(f, None) for f in svc.store.list_feedback(prediction_id)]


@router.post("/predictions/{prediction_id}/replay", tags=["predictions"], dependencies=[REVIEWER])
async def replay_one(prediction_id: str, body: ReplayRequest, svc: Svc) -> dict[str, Any]:
    """Re-score a logged prediction with any registered version of its model."""
    prediction = svc.store.get_prediction(prediction_id)
    version = body.version or prediction.model_version
    return replay(prediction, svc.models.get(prediction.model, version))


@router.post("/replay", tags=["predictions"], dependencies=[ADMIN])
async def replay_many(body: ReplayFilter, svc: Svc) -> dict[str, Any]:
    """Re-score a filtered set of logged predictions with one version."""
    svc.store.get_model_version(body.model, body.version)
    predictor = svc.models.get(body.model, body.version)
    where = PredictionFilter(
        model=body.model,
        since=body.since,
        until=body.until,
        route=body.route,
        label=body.label,
        limit=body.limit,
    )
    results = [replay(p, predictor) for p in svc.store.list_predictions(where)]
    return {"summary": summarize(results), "results": results}


@router.get("/reviews", response_model=ReviewPage, tags=["reviews"], dependencies=[REVIEWER])
async def list_reviews(
    svc: Svc,
    status: Literal["pending", "decided"] | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0, le=1_000_000_000)] = 0,  # SQLite's OFFSET is 64-bit
) -> ReviewPage:
    rows = svc.store.list_reviews(status, limit, offset)
    return ReviewPage(
        items=[ReviewOut.of(r, p) for r, p in rows],
        total=svc.store.count_reviews(status),
        limit=limit,
        offset=offset,
    )


@router.get(
    "/reviews/{review_id}", response_model=ReviewOut, tags=["reviews"], dependencies=[REVIEWER]
)
async def get_review(review_id: str, svc: Svc) -> ReviewOut:
    item = svc.store.get_review(review_id)
    return ReviewOut.of(item, svc.store.get_prediction(item.prediction_id))


@router.post("/reviews/{review_id}/decision", response_model=ReviewOut, tags=["reviews"])
async def decide(review_id: str, body: DecisionRequest, svc: Svc, who: Reviewer) -> ReviewOut:
    """Decide a pending item nobody else holds (409 while another reviewer's claim holds).
    The reviewer recorded is the name of the caller's key; a `reviewer` field in the body
    is ignored (kept so older clients still work)."""
    item = review_service.decide(svc.store, review_id, body.label, who.name, body.comment)
    return ReviewOut.of(item)


health = APIRouter()


@health.get("/metrics", tags=["health"], response_class=PlainTextResponse, dependencies=[ADMIN])
async def metrics(svc: Svc, mon: Annotated[Monitoring, Depends(monitoring)]) -> PlainTextResponse:
    """Prometheus exposition format (plus the monitoring gauges: concerns, alerts)."""
    text = await run_in_threadpool(lambda: render_metrics(svc.store, mon.gauges()))
    return PlainTextResponse(text, media_type="text/plain; version=0.0.4; charset=utf-8")


@health.get("/healthz", tags=["health"], dependencies=[PUBLIC])
async def healthz(svc: Svc) -> JSONResponse:
    """200 once at least one model can predict; 503 before."""
    models = {name: p.version for name, p in svc.predictions.predictors.items()}
    status = 200 if models else 503
    return JSONResponse(
        {"status": "ok" if models else "no model loaded", "models": models}, status_code=status
    )
