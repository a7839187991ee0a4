"""A tiny model family whose behaviour a test chooses: fast, slow, failing, holding
the GIL in native code, or crashing the process it runs in.

Real enough to go through every layer (registry, artifacts, serving, store); it
exists because no real model can be told to sleep or crash on demand."""

from __future__ import annotations

import ctypes
import json
import re
import time
from typing import Any, Literal

import numpy as np
from fastapi.testclient import TestClient
from pydantic import BaseModel, ConfigDict

from tandem.app import create_app
from tandem.domain import Contribution
from tandem.models.interface import (
    FallbackAnswer,
    LabelledExample,
    Predictor,
    TrainedArtifact,
)
from tandem.settings import Settings
from tandem_examples.family import ExampleFamily, Train
from tests.conftest import bearer, make_key, register_production


class Text(BaseModel):
    model_config = ConfigDict(extra="forbid")
    text: str


GIL_HOLD_S = 10.0
CATASTROPHIC = re.compile(r"(a+)+$")  # exponential backtracking, all of it in C


def hold_the_gil(seconds: float = GIL_HOLD_S) -> None:
    """Backtrack in `re`'s C engine, which never releases the GIL, for `seconds`: each
    match holds it without a break for ~0.3 s or more (a second on a loaded machine)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        CATASTROPHIC.match("a" * 22 + "!")


def segfault() -> None:
    """Read address 0: the process dies of SIGSEGV, nothing Python can catch."""
    ctypes.string_at(0)


class FakePredictor(Predictor):
    name = "fake"
    labels = ("a", "b")
    input_schema = Text
    review_threshold = 0.0
    latency_budget_ms = 50.0

    def __init__(
        self,
        version: str,
        behaviour: str,
        p_a: float,
        fallback: bool,
        inline: bool = False,
        name: str = "fake",
        isolation: Literal["process", "thread"] = "thread",
    ) -> None:
        self.name = name
        self.isolation = isolation
        self.version = version
        self.behaviour = behaviour
        self.p_a = p_a
        self.has_fallback = fallback
        self.runs_inline = inline

    def features(self, data: BaseModel) -> dict[str, float]:
        assert isinstance(data, Text)
        if self.behaviour == "picky":  # the input decides: several calls, several fates
            if data.text == "slow":
                time.sleep(0.3)
            if data.text == "raise":
                raise ZeroDivisionError("model bug")
            if data.text == "segfault":
                segfault()
        return {"length": float(len(data.text))}

    def predict_proba(self, features: dict[str, float]) -> np.ndarray:
        if self.behaviour in ("sleep", "sleep everywhere"):
            time.sleep(1.0)
        if self.behaviour == "pause":  # 5 budgets of 50 ms, a quarter of "sleep"
            time.sleep(0.25)
        if self.behaviour == "raise":
            raise ZeroDivisionError("model bug")
        if self.behaviour in ("gil", "gil everywhere"):
            hold_the_gil()
        if self.behaviour == "segfault":
            segfault()
        return np.array([self.p_a, 1.0 - self.p_a])

    def explain(self, features: dict[str, float], label: str) -> list[Contribution]:
        return [Contribution("length", features["length"], 0.1)]

    def fallback(self, data: BaseModel) -> FallbackAnswer | None:
        if not self.has_fallback:
            return None
        if self.behaviour == "gil everywhere":
            hold_the_gil()
        if self.behaviour == "sleep everywhere":
            time.sleep(1.0)
        return FallbackAnswer(
            self.features(data),
            np.array([0.4, 0.6]),
            [Contribution("rule: short", 1.0, 0.2)],
            ["rule advice"],
        )


class FakeFamily(ExampleFamily):
    """Trains as the example families do, through `trainer`; on the labels alone."""

    name = "fake"
    input_schema = Text
    card: dict[str, str] = {}

    def __init__(self, name: str = "fake") -> None:
        self.name = name

    def trainer(self) -> Train:
        return lambda _data_dir, _progress=None, extra=None, _evaluate_on=None: self.trained_on(
            extra or []
        )

    def trained_on(self, extra: list[LabelledExample]) -> TrainedArtifact:
        """What training on the labels `extra` gives: the default fake, whatever they are."""
        return artifact()

    def load(self, content: bytes, version: str) -> Predictor:
        doc = json.loads(content)
        return FakePredictor(
            version,
            doc["behaviour"],
            doc["p_a"],
            doc["fallback"],
            doc.get("inline", False),
            self.name,
            doc.get("isolation", "thread"),
        )


def artifact(
    behaviour: str = "ok",
    p_a: float = 0.7,
    fallback: bool = True,
    inline: bool = False,
    isolation: Literal["process", "thread"] = "thread",
) -> TrainedArtifact:
    """A fake version's bytes. The fakes run on the model threads unless a test asks
    for a worker process (`isolation="process"`): the suite's hundreds of apps then
    start no process, and the isolation tests choose it where they test it."""
    doc: dict[str, object] = {"behaviour": behaviour, "p_a": p_a, "fallback": fallback}
    if inline:  # only when asked, so every other fake artifact keeps its bytes (and hash)
        doc["inline"] = True
    if isolation != "thread":
        doc["isolation"] = isolation
    return TrainedArtifact(
        json.dumps(doc, sort_keys=True).encode(), "d" * 64, {"model": {"accuracy": p_a}}
    )


class SlowClassifier:
    """A fitted scikit-learn classifier that takes `delay_s` to score, and fails on a row
    whose first value is above `fails_above`. Picklable (this module is importable), so
    it is saved with joblib and added with `tandem models add` like any classifier: no
    real model can be told to overrun its budget or to break."""

    def __init__(self, inner: Any, delay_s: float, fails_above: float = float("inf")) -> None:
        self.inner, self.delay_s, self.fails_above = inner, delay_s, fails_above
        self.classes_ = inner.classes_
        self.n_features_in_ = inner.n_features_in_

    def predict_proba(self, rows: Any) -> Any:
        time.sleep(self.delay_s)
        if (np.asarray(rows)[:, 0] > self.fails_above).any():
            raise ValueError("a row this model cannot score")
        return self.inner.predict_proba(rows)


def fake_client(settings: Settings, trained: TrainedArtifact | None = None) -> TestClient:
    """A client, with an admin key, of an app serving the fake model; `trained` becomes
    its production version first (None: the store's own)."""
    if trained is not None:
        register_production(settings, "fake", trained)
    key = make_key(settings, "admin")
    return TestClient(create_app(settings, families={"fake": FakeFamily()}), headers=bearer(key))


def fake_predict(client: TestClient, text: str = "some text") -> dict[str, Any]:
    """A prediction of the fake model that must be answered 200."""
    response = client.post("/v1/predict", json={"model": "fake", "input": {"text": text}})
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body
