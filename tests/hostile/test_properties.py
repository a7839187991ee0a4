"""Property-based tests (hypothesis): whatever a client sends, an accepted input is
stored exactly as the model's schema reads it, and a rejected request is a 4xx that
changes no stored row. Derandomized, so CI runs the same examples every time."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import joblib
import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError
from sklearn.datasets import load_iris
from sklearn.linear_model import LogisticRegression

from tandem.models.sklearn_adapter import SklearnFamily, package
from tandem_examples.digits.schema import Digit
from tandem_examples.ml_editor.schema import Question
from tests.conftest import ANSWER_ONLY, as_logged, predict
from tests.hostile.snapshot import changed, snapshot

FUZZ = settings(
    max_examples=60,
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

# Any text, controls, emoji, right-to-left and NUL included; hypothesis never makes
# lone surrogates here (JSON cannot carry them raw), the gate tests cover those.
JSON_TYPE = {"content-type": "application/json"}
TEXT = st.text(st.characters(codec="utf-8"), max_size=320)


def _store(client: TestClient) -> Any:
    return client.app.state.store  # type: ignore[attr-defined]


def _post_and_check(client: TestClient, url: str, outcomes: Counter[int], **kwargs: Any) -> Any:
    """POST; never a 5xx; a rejection leaves every table as it was."""
    before = snapshot(_store(client))
    response = client.post(url, **kwargs)
    outcomes[response.status_code] += 1
    assert response.status_code < 500, response.text
    if response.status_code >= 400:
        assert response.json()["error"]["message"]
        assert changed(before, snapshot(_store(client))) == {}
    return response


def _round_trips(client: TestClient, response: Any, expected: dict[str, Any]) -> None:
    body = response.json()
    assert body["input"] == expected
    stored = client.get(f"/v1/predictions/{body['id']}").json()
    assert as_logged(stored) == {k: v for k, v in body.items() if k not in ANSWER_ONLY}
    assert _store(client).get_prediction(body["id"]).input == expected


def test_any_accepted_question_is_stored_unchanged(digits_client: TestClient) -> None:
    outcomes: Counter[int] = Counter()

    @FUZZ
    @given(title=TEXT, body=TEXT)
    def check(title: str, body: str) -> None:
        sent = {"title": title, "body": body}
        payload = {"model": "ml-editor", "input": sent}
        response = _post_and_check(digits_client, "/v1/predict", outcomes, json=payload)
        if response.status_code == 200:
            _round_trips(digits_client, response, Question.model_validate(sent).model_dump())

    check()
    assert outcomes[200] >= 10 and outcomes[422] >= 10, outcomes  # both sides exercised


PIXEL = st.one_of(
    st.integers(min_value=-3, max_value=19),
    st.floats(min_value=-1, max_value=17),
    st.sampled_from([float("nan"), float("inf"), 1e400, 16.0, True, "7", None]),
)


def test_any_accepted_scan_is_stored_unchanged(digits_client: TestClient) -> None:
    outcomes: Counter[int] = Counter()

    @FUZZ
    @given(
        st.one_of(
            st.lists(st.integers(min_value=0, max_value=16), min_size=64, max_size=64),
            st.lists(PIXEL, min_size=62, max_size=66),
        )
    )
    def check(pixels: list[Any]) -> None:
        # json.dumps writes NaN and Infinity as the literals some clients send.
        payload = json.dumps({"model": "digits", "input": {"pixels": pixels}}).encode()
        response = _post_and_check(
            digits_client, "/v1/predict", outcomes, content=payload, headers=JSON_TYPE
        )
        if response.status_code == 200:
            expected = Digit.model_validate({"pixels": pixels}).model_dump()
            _round_trips(digits_client, response, expected)

    check()
    assert outcomes[200] >= 10 and outcomes[422] >= 10, outcomes


KEYS = st.sampled_from(
    [
        "model",
        "input",
        "title",
        "body",
        "pixels",
        "kind",
        "label",
        "reviewer",
        "comment",
        "count",
        "version",
        "x",
    ]
)
SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=False),
    TEXT,
    st.sampled_from(["ml-editor", "digits", "good", "poor", "correct", "incorrect", "bug"]),
)
JSON_VALUES = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(KEYS | TEXT, inner, max_size=5),
    max_leaves=20,
)


def _valid_bodies(route: str, made: dict[str, Any]) -> st.SearchStrategy[Any]:
    """Bodies of the route's own shape, valid or nearly so (any text, any label)."""
    labels = st.sampled_from([str(a["label"]) for a in made["alternatives"]])
    comment = st.one_of(st.none(), TEXT)
    if route == "/v1/predict":
        question = st.fixed_dictionaries({"title": TEXT, "body": TEXT})
        return st.fixed_dictionaries({"model": st.just("ml-editor"), "input": question})
    if route == "feedback":
        kinds = st.sampled_from(["correct", "incorrect", "bug"])
        return st.fixed_dictionaries(
            {"kind": kinds}, optional={"label": labels, "comment": comment}
        )
    if route == "decision":
        return st.fixed_dictionaries({"label": labels}, optional={"comment": comment})
    if route == "/v1/reviews/claim":
        return st.fixed_dictionaries({}, optional={"count": st.integers(0, 101)})
    if route == "release":
        return st.fixed_dictionaries({}, optional={"reviewer": comment})
    return st.fixed_dictionaries(  # /v1/replay
        {"model": st.just("ml-editor"), "version": st.just(made["model_version"])},
        optional={
            "route": st.sampled_from(["model", "review", "fallback", "other"]),
            "label": labels,
            "limit": st.integers(0, 5),
        },
    )


@pytest.mark.parametrize(
    "route",
    ["/v1/predict", "feedback", "decision", "/v1/reviews/claim", "release", "/v1/replay"],
)
def test_any_json_body_is_answered_and_a_rejection_changes_nothing(
    digits_client: TestClient, route: str
) -> None:
    """Any JSON, and bodies of the route's own shape so that many are accepted: the
    code behind the validation sees them too."""
    made = predict(digits_client)

    def url() -> str:
        if route == "decision":  # a new item each time: a decided one only answers 409
            return f"/v1/reviews/{predict(digits_client)['review_id']}/decision"
        return {
            "feedback": f"/v1/predictions/{made['id']}/feedback",
            "release": f"/v1/reviews/{made['review_id']}/release",
        }.get(route, route)

    outcomes: Counter[int] = Counter()

    @FUZZ
    @given(st.one_of(_valid_bodies(route, made), JSON_VALUES))
    def check(value: Any) -> None:
        content = json.dumps(value).encode()  # infinities as the Infinity literal
        _post_and_check(digits_client, url(), outcomes, content=content, headers=JSON_TYPE)

    check()
    accepted = sum(n for status, n in outcomes.items() if status < 300)
    refused = sum(n for status, n in outcomes.items() if status >= 400)
    assert accepted >= 10 and refused >= 20, outcomes  # both sides exercised


def test_any_bytes_are_answered_and_a_rejection_changes_nothing(
    digits_client: TestClient,
) -> None:
    outcomes: Counter[int] = Counter()
    prefix = b'{"model": "ml-editor", "input": {"title": "'

    @FUZZ
    @given(st.binary(max_size=200), st.booleans())
    def check(raw: bytes, framed: bool) -> None:
        content = prefix + raw + b'", "body": "b"}}' if framed else raw
        _post_and_check(digits_client, "/v1/predict", outcomes, content=content, headers=JSON_TYPE)

    check()
    assert outcomes[400] >= 5 and outcomes[422] >= 5, outcomes


@pytest.fixture(scope="module")
def iris_schema(tmp_path_factory: pytest.TempPathFactory) -> type[Any]:
    """The input schema `tandem models add` builds for a saved scikit-learn model."""
    folder = tmp_path_factory.mktemp("iris")
    iris = load_iris()
    names = ["sepal_length", "sepal_width", "petal_length", "petal_width"]
    joblib.dump(LogisticRegression(max_iter=500).fit(iris.data, iris.target), folder / "m.joblib")
    (folder / "s.json").write_text(json.dumps({"features": {n: "number" for n in names}}))
    trained = package(Path(folder / "m.joblib"), Path(folder / "s.json"))
    schema: type[Any] = SklearnFamily("iris").load(trained.content, "v1").input_schema
    return schema


@FUZZ
@given(st.floats(allow_nan=True, allow_infinity=True))
def test_number_features_take_finite_floats_only(iris_schema: type[Any], x: float) -> None:
    row = {"sepal_length": x, "sepal_width": 1.0, "petal_length": 1.0, "petal_width": 1.0}
    if x == x and abs(x) != float("inf"):
        assert iris_schema.model_validate(row).model_dump() == row
    else:
        with pytest.raises(ValidationError, match="finite number"):
            iris_schema.model_validate(row)
