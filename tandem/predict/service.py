"""One prediction, start to finish: validate, score under a budget (or fall back),
explain, route, log. Shadow versions score the same input after the answer.

Model code runs in the model worker processes (tandem.predict.isolation), or, for a
model served with thread isolation, on the model and fallback threads
(tandem.predict.guard), where only a model that declares `runs_inline` is scored on
the event loop. A fallback never runs on the event loop."""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time
from collections.abc import Awaitable
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, ValidationError

from tandem.clock import utcnow
from tandem.domain import (
    DraftRevision,
    Intake,
    Prediction,
    ReviewItem,
    ShadowResult,
    SuggestionOutcome,
    suggestion_dict,
)
from tandem.errors import InvalidInput, ModelUnavailable, UnknownModel
from tandem.ids import new_id
from tandem.models.interface import FallbackAnswer, Predictor
from tandem.models.scoring import Answer, score
from tandem.predict import drafts
from tandem.predict.guard import Busy, Guard
from tandem.predict.isolation import Isolation, Key, ModelError, Source, WorkerCrashed
from tandem.predict.served import ServedModels
from tandem.predict.unusual import UnusualInputs
from tandem.review.routing import route as route_for
from tandem.store.editor_store import EditorStore
from tandem.store.prediction_log import LogEntry, PredictionLog

log = logging.getLogger("tandem")
FALLBACK_BUDGET_FACTOR = 4
"""A fallback's budget, in model budgets: it is there to stop a fallback that runs away
(answered 503 model_unavailable), not to race a busy machine's scheduler, so it is
roomier than the model's own."""


def in_holdout(prediction_id: str, rate: float) -> bool:
    """Random but reproducible from the id: the same id is always in or out."""
    if rate <= 0:
        return False
    digest = hashlib.sha256(prediction_id.encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64 < rate


@dataclass
class Policy:
    review_threshold: float | None = None  # None: each model's own default
    latency_budget_ms: float | None = None  # None: each model's own budget
    holdout_rate: float = 0.02
    isolation: Literal["process", "thread"] | None = None  # None: each model's own


@dataclass(frozen=True, slots=True)
class _Scoring:
    """One request's input for one version of `model`: `data` as validated, `logged`
    as stored (and as a worker process scores it)."""

    model: str
    predictor: Predictor
    data: BaseModel
    logged: dict[str, Any]


class PredictionService:
    def __init__(
        self,
        prediction_log: PredictionLog,
        models: ServedModels,
        policy: Policy,
        guard: Guard,
        isolation: Isolation | None = None,
        unusual: UnusualInputs | None = None,
        drafts: EditorStore | None = None,
    ) -> None:
        self.prediction_log = prediction_log
        self.models = models
        self.policy = policy
        self.guard = guard
        self.isolation = isolation  # None: every model on threads
        self.unusual = unusual  # None: no input is checked against training ranges
        self.drafts = drafts  # None: a request that names a draft is refused
        self._shadow_tasks: set[asyncio.Task[None]] = set()

    @property
    def predictors(self) -> dict[str, Predictor]:
        return self.models.production

    def predictor(self, model: str) -> Predictor:
        try:
            return self.models.production[model]
        except KeyError:
            known = ", ".join(sorted(self.models.production)) or "none loaded"
            raise UnknownModel(f"unknown model {model!r}; served models: {known}") from None

    def threshold(self, predictor: Predictor) -> float:
        if self.policy.review_threshold is not None:
            return self.policy.review_threshold
        return predictor.review_threshold

    def budget_s(self, predictor: Predictor) -> float:
        budget = self.policy.latency_budget_ms or predictor.latency_budget_ms
        return budget / 1000.0

    def _worker_key(self, job: _Scoring) -> tuple[Key, Source] | None:
        """Where a worker process finds this version, when its code runs in one (else
        None: it runs on threads)."""
        model, predictor = job.model, job.predictor
        mode = self.policy.isolation or predictor.isolation
        if mode != "process" or self.isolation is None:
            return None
        source = self.models.sources.get((model, predictor.version))
        if source is None:
            return None
        key = (model, predictor.version, source.sha256)
        return (key, source) if self.isolation.can_host(key, source) else None

    async def _in_worker(self, kind: str, job: _Scoring, budget: float) -> Any:
        where = self._worker_key(job)
        assert where is not None and self.isolation is not None
        return await self.isolation.run(kind, *where, job.logged, budget)

    async def _score(self, job: _Scoring, highlights: bool = False) -> Answer:
        predictor, data = job.predictor, job.data
        budget = self.budget_s(predictor)
        if self._worker_key(job) is not None:
            kind = "score_highlights" if highlights else "score"
            answer: Answer = await self._in_worker(kind, job, budget)
            return answer
        if predictor.runs_inline:
            key = f"model {predictor.name} {predictor.version}"
            return await self.guard.run_inline(
                lambda: score(predictor, data, highlights), budget, key
            )
        return await self.guard.run(lambda: score(predictor, data, highlights), budget)

    async def _answer(self, job: _Scoring, highlights: bool = False) -> tuple[Answer, str | None]:
        """The model's answer, or the fallback's with the reason."""
        predictor = job.predictor
        try:
            return await self._score(job, highlights), None
        except Exception as exc:
            reason = _reason(exc)
            if reason.startswith("error"):
                log.warning("model %s %s failed: %r", job.model, predictor.version, exc)
        fallback = await self._fallback(job, reason)
        if fallback is None:
            raise ModelUnavailable(
                f"model {predictor.name!r} could not answer ({reason}) and has no fallback"
            )
        return Answer(
            fallback.features,
            np.asarray(fallback.probabilities, dtype=float),
            fallback.explanation[: predictor.explanation_size],
            [suggestion_dict(s) for s in fallback.suggestions],
        ), reason

    async def _fallback(self, job: _Scoring, reason: str) -> FallbackAnswer | None:
        """The fallback's answer, computed where the model's code runs (a worker process
        or the fallback threads, never the event loop) under a budget of its own."""
        predictor, data = job.predictor, job.data
        if type(predictor).fallback is Predictor.fallback:
            return None  # no fallback: no need to ask a worker
        budget = FALLBACK_BUDGET_FACTOR * self.budget_s(predictor)
        try:
            if self._worker_key(job) is not None:
                answer: FallbackAnswer | None = await self._in_worker("fallback", job, budget)
                return answer
            return await self.guard.run_fallback(lambda: predictor.fallback(data), budget)
        except Exception as exc:
            failed = _reason(exc)
            log.warning("the fallback of %s %s failed: %r", job.model, predictor.version, exc)
        raise ModelUnavailable(
            f"model {predictor.name!r} could not answer ({reason}) and neither could its "
            f"fallback ({failed})"
        )

    async def predict(
        self,
        model: str,
        raw_input: dict[str, Any],
        received_at: datetime | None = None,
        draft: str | None = None,
        author: str | None = None,
    ) -> tuple[Prediction, str | None]:
        """Score `raw_input` and log it, with its intake record, before returning
        (prediction, review id or None). With `draft`, the prediction is the draft's
        next revision (written by `author`, when known)."""
        started = time.perf_counter()
        received_at = received_at or utcnow()
        await self.models.refresh_when_due()
        predictor = self.predictor(model)
        try:
            data = predictor.input_schema.model_validate(raw_input)
        except ValidationError as exc:
            raise InvalidInput(_describe(exc, model)) from exc
        logged = data.model_dump(mode="json")  # what is stored, and what a worker scores
        job = _Scoring(model, predictor, data, logged)
        previous = await self._previous(model, draft)
        answer, fallback_reason = await self._answer(job, highlights=draft is not None)
        alternatives = answer.ranked(predictor.labels)
        label, confidence = alternatives[0]["label"], float(alternatives[0]["probability"])
        pid = new_id()
        holdout = in_holdout(pid, self.policy.holdout_rate)
        outside = await self._outside(predictor, answer.features)
        route, reason = route_for(
            fallback_reason, holdout, confidence, self.threshold(predictor), bool(outside)
        )
        prediction = Prediction(
            id=pid,
            # The request's arrival, as in its intake row: a window cut between arrival
            # and scoring must count the request and its prediction on the same side.
            created_at=received_at,
            model=model,
            model_version=predictor.version,
            input=logged,
            features=answer.features,
            label=label,
            confidence=confidence,
            alternatives=alternatives,
            explanation=[
                {"feature": c.feature, "value": c.value, "contribution": c.contribution}
                for c in answer.explanation
            ],
            suggestions=answer.suggestions,
            route=route,
            latency_ms=round((time.perf_counter() - started) * 1000, 3),
            # A holdout item that fell back is not held out (no model answer to test).
            holdout=holdout and not fallback_reason,
            fallback_reason=fallback_reason,
            unusual_features=outside,
            highlights=answer.highlights,
        )
        revision: DraftRevision | None = None
        outcomes: tuple[SuggestionOutcome, ...] = ()
        if draft is not None:
            revision, outcomes = drafts.revise(predictor, prediction, draft, previous, author)
            prediction = replace(prediction, draft=draft, revision=revision.revision)
        review = None
        if reason:
            review = ReviewItem(
                new_id(),
                pid,
                "pending",
                prediction.created_at,
                reason,
                model=model,
                predicted_label=label,
                confidence=confidence,
            )
        intake = Intake(new_id(), received_at, model, "answered", 200, pid)
        entry = LogEntry(prediction, review, intake, revision=revision, outcomes=outcomes)
        await self.prediction_log.write(entry)
        self._shadow(job, pid)
        return prediction, review.id if review else None

    async def _previous(
        self, model: str, draft: str | None
    ) -> tuple[DraftRevision, Prediction] | None:
        """The draft's last revision (None: a new draft), read on the thread pool."""
        if draft is None:
            return None
        if self.drafts is None:
            raise InvalidInput("this server keeps no drafts; send the request without `draft`")
        previous = await asyncio.to_thread(self.drafts.latest_revision, draft)
        if previous is not None and previous[0].model != model:
            raise InvalidInput(
                f"draft {draft!r} is a draft for model {previous[0].model!r}, not {model!r}; "
                "use a new draft id for another model"
            )
        return previous

    async def _outside(self, predictor: Predictor, features: dict[str, float]) -> list[str]:
        """The features outside the version's training ranges (see predict.unusual)."""
        if self.unusual is None:
            return []
        return await self.unusual.outside(predictor.name, predictor.version, features)

    def _shadow(self, job: _Scoring, prediction_id: str) -> None:
        """Let the shadow version score the same input, after the user's answer."""
        shadow = self.models.shadows.get(job.model)
        if shadow is None:
            return
        run = self._run_shadow(replace(job, predictor=shadow), prediction_id)
        task = asyncio.get_running_loop().create_task(run)
        self._shadow_tasks.add(task)
        task.add_done_callback(self._shadow_tasks.discard)

    async def _run_shadow(self, job: _Scoring, prediction_id: str) -> None:
        """Score `job` with the shadow version it names and log the result."""
        shadow, data = job.predictor, job.data
        started = time.perf_counter()
        label, confidence, alternatives, error = None, None, [], None
        try:
            if self._worker_key(job) is not None:
                answer: Answer = await self._in_worker("score", job, self.budget_s(shadow))
            else:
                answer = await self.guard.run(lambda: score(shadow, data), self.budget_s(shadow))
            alternatives = answer.ranked(shadow.labels)
            label, confidence = alternatives[0]["label"], alternatives[0]["probability"]
        except Busy:
            return  # production traffic comes first; a skipped shadow call is not an error
        except Exception as exc:
            error = _reason(exc)
        result = ShadowResult(
            new_id(),
            prediction_id,
            shadow.name,
            shadow.version,
            utcnow(),
            label,
            confidence,
            alternatives,
            round((time.perf_counter() - started) * 1000, 3),
            error,
        )
        try:
            await self.prediction_log.write(LogEntry(shadow=result))
        except Exception:
            log.exception("could not log the shadow result of %s", prediction_id)

    def record_failure(self, row: Intake) -> Awaitable[None]:
        """Log a request that was not answered (the intake ledger's failure rows)."""
        return self.prediction_log.write(LogEntry(intake=row))

    async def drain(self) -> None:
        """Wait for shadow scoring still running (tests, shutdown)."""
        while self._shadow_tasks:
            await asyncio.gather(*list(self._shadow_tasks), return_exceptions=True)


def _reason(exc: Exception) -> str:
    """Why the model (or its fallback) did not answer, as logged with the prediction."""
    if isinstance(exc, TimeoutError):
        return "timeout"
    if isinstance(exc, Busy):
        return "busy"
    if isinstance(exc, ModelError):
        return f"error: {exc.kind}"  # the type raised in the worker process
    if isinstance(exc, WorkerCrashed):
        return "error: crashed"
    return f"error: {type(exc).__name__}"


def _describe(exc: ValidationError, model: str) -> str:
    parts = []
    for err in exc.errors():
        where = ".".join(str(p) for p in ("input", *err["loc"]))
        parts.append(f"{where}: {err['msg']}")
    return f"invalid input for model {model!r}: " + "; ".join(parts)
