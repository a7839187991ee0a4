"""One prediction, start to finish: validate, score under a budget (or fall back),
explain, route, log. Shadow versions score the same input after the answer."""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time
from collections.abc import Awaitable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np
from pydantic import BaseModel, ValidationError

from tandem.clock import utcnow
from tandem.domain import Intake, Prediction, ReviewItem, ShadowResult
from tandem.errors import InvalidInput, ModelUnavailable, UnknownModel
from tandem.ids import new_id
from tandem.models.interface import Predictor
from tandem.models.scoring import Answer, score
from tandem.predict.guard import Busy, Guard
from tandem.predict.served import ServedModels
from tandem.review.routing import route as route_for
from tandem.store.prediction_log import LogEntry, PredictionLog

log = logging.getLogger("tandem")


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


class PredictionService:
    def __init__(
        self,
        prediction_log: PredictionLog,
        models: ServedModels,
        policy: Policy,
        guard: Guard,
    ) -> None:
        self.prediction_log = prediction_log
        self.models = models
        self.policy = policy
        self.guard = guard
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

    async def _answer(self, predictor: Predictor, data: BaseModel) -> tuple[Answer, str | None]:
        """The model's answer, or the fallback's with the reason."""
        try:
            if predictor.runs_inline:
                key = f"model {predictor.name} {predictor.version}"
                answer = await self.guard.run_inline(
                    lambda: score(predictor, data), self.budget_s(predictor), key
                )
            else:
                answer = await self.guard.run(
                    lambda: score(predictor, data), self.budget_s(predictor)
                )
            return answer, None
        except TimeoutError:
            reason = "timeout"
        except Busy:
            reason = "busy"
        except Exception as exc:  # the model's own failure, whatever it is
            reason = f"error: {type(exc).__name__}"
            log.warning("model %s %s failed: %r", predictor.name, predictor.version, exc)
        fallback = predictor.fallback(data)
        if fallback is None:
            raise ModelUnavailable(
                f"model {predictor.name!r} could not answer ({reason}) and has no fallback"
            )
        return Answer(
            fallback.features,
            np.asarray(fallback.probabilities, dtype=float),
            fallback.explanation[: predictor.explanation_size],
            fallback.suggestions,
        ), reason

    async def predict(
        self, model: str, raw_input: dict[str, Any], received_at: datetime | None = None
    ) -> tuple[Prediction, str | None]:
        """Score `raw_input` and log it, with its intake record, before returning
        (prediction, review id or None)."""
        started = time.perf_counter()
        received_at = received_at or utcnow()
        await self.models.refresh_when_due()
        predictor = self.predictor(model)
        try:
            data = predictor.input_schema.model_validate(raw_input)
        except ValidationError as exc:
            raise InvalidInput(_describe(exc, model)) from exc
        answer, fallback_reason = await self._answer(predictor, data)
        alternatives = answer.ranked(predictor.labels)
        label, confidence = alternatives[0]["label"], float(alternatives[0]["probability"])
        pid = new_id()
        holdout = in_holdout(pid, self.policy.holdout_rate)
        route, reason = route_for(fallback_reason, holdout, confidence, self.threshold(predictor))
        prediction = Prediction(
            id=pid,
            # The request's arrival, as in its intake row: a window cut between arrival
            # and scoring must count the request and its prediction on the same side.
            created_at=received_at,
            model=model,
            model_version=predictor.version,
            input=data.model_dump(mode="json"),
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
            holdout=reason == "holdout",  # a holdout item that fell back is not reviewed
            fallback_reason=fallback_reason,
        )
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
        await self.prediction_log.write(LogEntry(prediction, review, intake))
        self._shadow(model, data, pid)
        return prediction, review.id if review else None

    def _shadow(self, model: str, data: BaseModel, prediction_id: str) -> None:
        """Let the shadow version score the same input, after the user's answer."""
        shadow = self.models.shadows.get(model)
        if shadow is None:
            return
        task = asyncio.get_running_loop().create_task(self._run_shadow(shadow, data, prediction_id))
        self._shadow_tasks.add(task)
        task.add_done_callback(self._shadow_tasks.discard)

    async def _run_shadow(self, shadow: Predictor, data: BaseModel, prediction_id: str) -> None:
        started = time.perf_counter()
        label, confidence, alternatives, error = None, None, [], None
        try:
            answer = await self.guard.run(lambda: score(shadow, data), self.budget_s(shadow))
            alternatives = answer.ranked(shadow.labels)
            label, confidence = alternatives[0]["label"], alternatives[0]["probability"]
        except TimeoutError:
            error = "timeout"
        except Busy:
            return  # production traffic comes first; a skipped shadow call is not an error
        except Exception as exc:
            error = f"error: {type(exc).__name__}"
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


def _describe(exc: ValidationError, model: str) -> str:
    parts = []
    for err in exc.errors():
        where = ".".join(str(p) for p in ("input", *err["loc"]))
        parts.append(f"{where}: {err['msg']}")
    return f"invalid input for model {model!r}: " + "; ".join(parts)
