"""The baseline for benchmarks/serve.py: FastAPI plus the model, and nothing else.

It loads the same production predictor from the same store as Tandem and does the
same model work per request: it validates the model's input and scores it with
`tandem.models.scoring.score`, the function Tandem's own predictions go through
(features, probabilities, explanation, the model's suggestions). It logs nothing,
routes nothing to review and has no middleware, error handlers or UI. Tandem's
overhead is whatever it costs on top of this.

Run: TANDEM_HOME=... python benchmarks/bare_app.py --port 8001
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import uvicorn
from fastapi import FastAPI, HTTPException
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ValidationError

from tandem.models.artifacts import ArtifactStore
from tandem.models.catalog import discover_families, load_version
from tandem.models.interface import Predictor
from tandem.models.scoring import score
from tandem.settings import Settings
from tandem.store import open_store


class PredictIn(BaseModel):
    model: str
    input: dict[str, Any]


def load_predictors(settings: Settings) -> dict[str, Predictor]:
    """The production predictors of the store in TANDEM_HOME, loaded the way Tandem does."""
    store = open_store(settings.resolved_database_url, migrate=False)
    try:
        artifacts, families = ArtifactStore(settings.artifacts_dir), discover_families()
        versions = {name: store.production_version(name) for name in families}
        return {
            name: load_version(families, artifacts, mv)
            for name, mv in versions.items()
            if mv is not None
        }
    finally:
        store.close()  # the baseline never touches the store again


def create_app() -> FastAPI:
    """App factory, so uvicorn is started exactly as `tandem serve` starts Tandem."""
    predictors = load_predictors(Settings())
    app = FastAPI(title="bare baseline")

    @app.get("/healthz")
    async def healthz() -> dict[str, Any]:
        return {"status": "ok", "models": {n: p.version for n, p in predictors.items()}}

    # A JSONResponse rather than a returned dict: FastAPI would walk a dict through
    # jsonable_encoder (~100 recursive calls here), a cost a lean app would not pay.
    @app.post("/v1/predict", response_model=None)
    async def predict(body: PredictIn) -> JSONResponse:
        predictor = predictors.get(body.model)
        if predictor is None:
            raise HTTPException(404, f"unknown model {body.model!r}")
        try:
            data = predictor.input_schema.model_validate(body.input)
        except ValidationError as exc:
            raise HTTPException(422, str(exc)) from exc
        answer = score(predictor, data)
        best = int(answer.probabilities.argmax())
        return JSONResponse(
            {
                "model": body.model,
                "model_version": predictor.version,
                "label": predictor.labels[best],
                "confidence": round(float(answer.probabilities[best]), 6),
                "features": answer.features,
                "explanation": [
                    {"feature": c.feature, "value": c.value, "contribution": c.contribution}
                    for c in answer.explanation
                ],
                "suggestions": answer.suggestions,
            }
        )

    return app


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8001)
    parser.add_argument("--workers", type=int, default=1)
    args = parser.parse_args()
    uvicorn.run(  # the options of `tandem serve` (tandem/cli/main.py)
        "bare_app:create_app",
        factory=True,
        app_dir=str(Path(__file__).resolve().parent),
        host=args.host,
        port=args.port,
        workers=args.workers,
        loop="uvloop",
        http="httptools",
        access_log=False,
        log_level="warning",
    )


if __name__ == "__main__":
    main()
