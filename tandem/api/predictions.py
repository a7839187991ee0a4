"""JSON API under /v1: predict, look up, review, feedback."""

from __future__ import annotations

import os
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from pydantic import ValidationError
from pydantic_core import to_json
from starlette.types import ASGIApp, Receive, Scope, Send

from tandem.api.errors import KEYED, responses
from tandem.api.schemas import (
    DecisionRequest,
    FeedbackOut,
    FeedbackRequest,
    PredictionDetail,
    PredictRequest,
    PredictResponse,
    ReplayFilter,
    ReplayRequest,
    ReviewOut,
    ReviewPage,
    ReviewQuery,
)
from tandem.auth.roles import Principal, Role
from tandem.auth.verify import Authenticator
from tandem.clock import utcnow
from tandem.domain import shallow_dict
from tandem.encoding import jsonable
from tandem.errors import InvalidInput, TandemError
from tandem.review.queue import QueueAsk
from tandem.web.access import (
    ADMIN,
    PUBLIC,
    REVIEWER,
    ClientOrEditor,
    Reviewer,
    anonymous_refused,
)
from tandem.web.asgi import HttpMiddleware
from tandem.web.errors import api_error
from tandem.web.intake import ticket
from tandem.web.limits import read_body, replay
from tandem.web.state import Mon, Services, Svc, served_labels

_errors = responses(*KEYED, 404, 409, 413, 422)
router = APIRouter(prefix="/v1", responses=_errors)
WORKER = {"x-tandem-worker": str(os.getpid())}  # which process answered (several workers)


@router.post("/predict", response_model=PredictResponse, tags=["predictions"])
async def predict(
    request: Request, body: PredictRequest, svc: Svc, who: ClientOrEditor
) -> Response:
    """Score an input; the prediction is stored before this answers.

    The model runs under its latency budget (see PredictionService); the store write
    goes to the process's one group-commit writer, and this waits for its commit.
    With `draft`, the prediction is that draft's next revision (docs/editor.md)."""
    content = await _predicted(svc, request.scope, body, who)
    return Response(content, media_type="application/json", headers=WORKER)


async def _predicted(
    svc: Services, scope: Scope, body: PredictRequest, who: Principal | None
) -> bytes:
    """The prediction's answer, as bytes: the route's and the fast path's one way."""
    t = ticket(scope)
    if t is not None:
        t.model = body.model
    if who is None and (body.draft is None or not _offers_editor(svc, body.model)):
        anonymous_refused("scoring anything but a draft of a model that offers an editor")
    received_at = t.received_at if t is not None else utcnow()
    prediction, review_id = await svc.predictions.predict(
        body.model,
        body.input,
        received_at,
        draft=body.draft,
        author=who.name if who is not None else None,
    )
    if t is not None:
        t.recorded = True  # its intake row went into the store with the prediction
    # Serialised once, here, without validating again what the service just built
    # (a response_model, or model_validate, costs ~35 µs more per request); the output
    # is PredictResponse's to the byte (tests/serving/test_predict_response.py).
    out = {**shallow_dict(prediction), "review_id": review_id}
    return to_json(out, inf_nan_mode="null", fallback=jsonable)


_JSON = frozenset({b"application/json"})
_ANSWER_HEADERS = [
    (b"content-type", b"application/json"),
    *((k.encode(), v.encode()) for k, v in WORKER.items()),
]


class PredictFastPath(HttpMiddleware):
    """POST /v1/predict without the router and dependency injection, for the common
    case: a JSON body that is a valid PredictRequest, with a client key this process
    verified within the last seconds (`Authenticator.cached`: no store read). The
    route's own code answers it (`_predicted`), so the answer is the route's to the
    byte. Anything else (no key, an unknown one, a cookie, a body the request model
    refuses) goes on to the route, whose checks and error answers stay the one source.

    Innermost of the app's middleware: the security headers, the intake ledger, the
    origin check, the body limit and the input gate have all run by now. Measured on
    a text model, routing and dependency solving were ~20 % of the event loop's time
    per prediction."""

    def __init__(self, app: ASGIApp, path: str = "/v1/predict") -> None:
        super().__init__(app, path)

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        principal = _cached_client(scope)
        if principal is None:
            await self.app(scope, receive, send)
            return
        raw = await read_body(receive)
        try:
            body = PredictRequest.model_validate_json(raw)
        except ValidationError:
            await self.app(scope, replay(raw, receive), send)
            return
        scope.setdefault("state", {})["principal"] = principal
        app = scope["app"]
        try:
            content = await _predicted(app.state.services, scope, body, principal)
        except TandemError as exc:
            await api_error(exc)(scope, receive, send)
            return
        headers = [*_ANSWER_HEADERS, (b"content-length", str(len(content)).encode())]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": content})


def _cached_client(scope: Scope) -> Principal | None:
    """The principal of a Bearer key this process verified lately, if it may predict
    and the request is plain JSON; else None (the route decides)."""
    authorization = content_type = None
    for name, value in scope["headers"]:
        if name == b"authorization":
            authorization = value
        elif name == b"content-type":
            content_type = value
    if authorization is None or content_type is None:
        return None
    if content_type.split(b";", 1)[0].strip().lower() not in _JSON:
        return None
    scheme, _, token = authorization.decode("latin-1").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    auth: Authenticator = scope["app"].state.auth
    principal = auth.cached(token.strip())
    return principal if principal is not None and principal.can(Role.client) else None


@router.get(
    "/predictions/{prediction_id}",
    response_model=PredictionDetail,
    tags=["predictions"],
)
def get_prediction(prediction_id: str, svc: Svc, who: Reviewer) -> PredictionDetail:
    """The prediction, with its final label (adjudication > review > import > feedback,
    see docs/review.md) and the labels kept beside it that disagree; hidden from
    reviewers while a second opinion on it is pending (`labels_hidden`)."""
    prediction = svc.reviews.prediction(prediction_id)
    return PredictionDetail.of(prediction, svc.reviews.shown_labels(prediction_id, who.role.value))


@router.post(
    "/predictions/{prediction_id}/feedback",
    response_model=FeedbackOut,
    status_code=201,
    tags=["feedback"],
)
def add_feedback(
    prediction_id: str, body: FeedbackRequest, svc: Svc, who: ClientOrEditor
) -> FeedbackOut:
    """The label feedback implies is recorded with the caller's key name and role; it
    never replaces a reviewer's decision (kept as a disagreement instead). Kind
    `suggestion` rates one of the prediction's suggestions (`suggestion`, `helpful`)."""
    if body.kind == "suggestion":
        rating = svc.reviews.rate_suggestion(
            prediction_id,
            body.suggestion,
            body.helpful,
            body.comment,
            who.name if who else None,
            who.role.value if who else None,
        )
        return FeedbackOut.rating(rating)
    if body.suggestion is not None or body.helpful is not None:
        raise InvalidInput("`suggestion` and `helpful` go with kind 'suggestion' only")
    if who is None:
        anonymous_refused("feedback other than a suggestion's rating")
    item, label = svc.reviews.add_feedback(
        prediction_id, body.kind, body.label, body.comment, who.name, who.role.value
    )
    return FeedbackOut.of(item, label)


@router.get("/predictions/{prediction_id}/feedback", tags=["feedback"], dependencies=[REVIEWER])
def list_feedback(prediction_id: str, svc: Svc) -> list[FeedbackOut]:
    """Feedback on the prediction, then the ratings of its suggestions."""
    return [FeedbackOut.of(f, None) for f in svc.reviews.feedback(prediction_id)] + [
        FeedbackOut.rating(r) for r in svc.reviews.suggestion_ratings(prediction_id)
    ]


def _offers_editor(svc: Svc, model: str) -> bool:
    predictor = svc.predictions.predictors.get(model)
    return predictor is not None and predictor.editor is not None


@router.post("/predictions/{prediction_id}/replay", tags=["predictions"], dependencies=[REVIEWER])
def replay_one(prediction_id: str, body: ReplayRequest, svc: Svc) -> dict[str, Any]:
    """Re-score a logged prediction with any registered version of its model."""
    return svc.registry.replay(svc.reviews.prediction(prediction_id), body.version)


@router.post("/replay", tags=["predictions"], dependencies=[ADMIN])
def replay_many(body: ReplayFilter, svc: Svc) -> dict[str, Any]:
    """Re-score a filtered set of logged predictions with one version."""
    return svc.registry.replay_many(body.version, body.where())


_LIST_PARAMS = frozenset(ReviewQuery.model_fields) | {"cursor", "limit", "offset"}


@router.get("/reviews", response_model=ReviewPage, tags=["reviews"])
def list_reviews(
    request: Request,
    svc: Svc,
    who: Reviewer,
    query: Annotated[ReviewQuery, Query()],
    cursor: Annotated[str | None, Query(max_length=1000)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0, le=1_000_000_000)] = 0,  # SQLite's OFFSET is 64-bit
) -> ReviewPage:
    """A page of the queue, filtered and sorted; follow `next_cursor` for the next one
    (the same cost at any depth). `offset` still works, but its cost grows with it.
    An unknown filter value, or an unknown parameter, is a 422 naming the valid ones."""
    unknown = sorted(set(request.query_params) - _LIST_PARAMS)
    if unknown:
        raise InvalidInput(
            f"unknown query parameter(s) {', '.join(unknown)}; "
            f"the valid ones are {', '.join(sorted(_LIST_PARAMS))}"
        )
    aim = svc.reviews.aim(served_labels(svc), QueueAsk(**query.model_dump()))
    page = svc.reviews.queue(aim, limit, cursor, offset)
    blind = svc.reviews.blind([r.prediction_id for r, _p in page.rows], who.role.value)
    items = [
        ReviewOut.of(r, p, svc.reviews.answers(r), r.prediction_id in blind) for r, p in page.rows
    ]
    asked = {"limit": limit, "offset": offset, "sort": query.sort}
    # The queue's total, next_cursor, total_capped and counts as it gave them (its rows: items).
    return ReviewPage.model_validate({**shallow_dict(page), **asked, "items": items})


@router.get("/reviews/{review_id}", response_model=ReviewOut, tags=["reviews"])
def get_review(review_id: str, svc: Svc, who: Reviewer) -> ReviewOut:
    """An item; a decision is hidden from reviewers while a second opinion on it is
    pending, and an adjudication lists the two answers it settles."""
    item, prediction = svc.reviews.review(review_id)
    blind = item.prediction_id in svc.reviews.blind([item.prediction_id], who.role.value)
    return ReviewOut.of(item, prediction, svc.reviews.answers(item), blind)


@router.post("/reviews/{review_id}/decision", response_model=ReviewOut, tags=["reviews"])
def decide(review_id: str, body: DecisionRequest, svc: Svc, who: Reviewer) -> ReviewOut:
    """Decide a pending item nobody else holds (409 while another reviewer's claim holds).
    The reviewer recorded is the name of the caller's key; a `reviewer` field in the body
    is ignored (kept so older clients still work). An adjudication is an admin's to
    decide, a second opinion anyone's but the first reviewer's (403 otherwise)."""
    return ReviewOut.of(
        svc.reviews.decide(review_id, body.label, who.name, body.comment, who.role.value)
    )


health = APIRouter()


@health.get("/metrics", tags=["health"], response_class=PlainTextResponse, dependencies=[ADMIN])
def metrics(mon: Mon) -> PlainTextResponse:
    """Prometheus exposition format (plus the monitoring gauges: concerns, alerts)."""
    return PlainTextResponse(mon.metrics(), media_type="text/plain; version=0.0.4; charset=utf-8")


@health.get("/healthz", tags=["health"], dependencies=[PUBLIC])
async def healthz(svc: Svc) -> JSONResponse:
    """200 once at least one model can predict; 503 before. It re-reads the registry
    when due, as a prediction does: a host started before the first model was added
    (from another host or the CLI) turns healthy without a request reaching it."""
    await svc.models.refresh_when_due()
    models = {name: p.version for name, p in svc.predictions.predictors.items()}
    status = 200 if models else 503
    return JSONResponse(
        {"status": "ok" if models else "no model loaded", "models": models, "pid": os.getpid()},
        status_code=status,
        headers=WORKER,
    )
