"""OpenAPI-driven fuzzing (schemathesis) of every operation in /openapi.json: valid and
invalid requests generated from the schema, no 5xx anywhere, answers that match the
documented schema, and no stored row changed by a rejected request.

The schema is fuzzed as the app publishes it, with one help so that generated requests
reach past the 404s into the code that stores things: valid path parameters are what
is really stored (ids, model names, versions; invalid ones are anything else), and a
valid prediction request may also be a served model with its own input schema."""

from __future__ import annotations

import copy
from collections import Counter
from typing import Any

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_schema_conformance,
)

from tests.conftest import predict
from tests.hostile.snapshot import changed, snapshot

EXAMPLES = 20
"""Per operation and generation mode (valid, invalid): 40 requests per operation."""
CHECKS = [not_a_server_error, response_schema_conformance, content_type_conformance]
"""Plus negative_data_rejection, except for a 413: too large is a rejection too."""


def _known_values(client: TestClient) -> dict[str, list[str]]:
    """Seed the store (predictions, review items, feedback) and list what it holds."""
    made = [predict(client) for _ in range(3)]
    client.post(f"/v1/predictions/{made[0]['id']}/feedback", json={"kind": "correct"})
    store = client.app.state.store  # type: ignore[attr-defined]
    versions = store.list_model_versions()
    return {
        "prediction_id": [str(p["id"]) for p in made],
        "review_id": [str(p["review_id"]) for p in made],
        "name": sorted({v.name for v in versions}),
        "version": [v.version for v in versions],
        "label": sorted({str(a["label"]) for p in made for a in p["alternatives"]}),  # type: ignore[attr-defined]
    }


def _enriched(spec: dict[str, Any], known: dict[str, list[str]], inputs: dict[str, Any]) -> Any:
    spec = copy.deepcopy(spec)
    # Every call carries an admin key (roles are walked in tests/serving/test_access.py):
    # without the security requirement, a "wrong" header is not counted as invalid data.
    spec.get("components", {}).pop("securitySchemes", None)
    for operations in spec["paths"].values():
        for operation in operations.values():
            operation.pop("security", None)
            for parameter in operation.get("parameters", []):
                if parameter["in"] == "path" and parameter["name"] in known:
                    # Valid requests name what is stored; invalid ones anything else.
                    values = sorted(set(known[parameter["name"]]))
                    parameter["schema"] = {"type": "string", "enum": values}
    # A prediction request is one served model with that model's input, or anything
    # the published schema allows.
    body = spec["paths"]["/v1/predict"]["post"]["requestBody"]["content"]["application/json"]
    body["schema"] = {
        "anyOf": [
            *(
                {
                    "type": "object",
                    "properties": {"model": {"const": name}, "input": schema},
                    "required": ["model", "input"],
                    "additionalProperties": False,
                }
                for name, schema in inputs.items()
            ),
            body["schema"],
        ]
    }
    # Valid decisions and feedback name one of the models' labels.
    for name in ("DecisionRequest", "FeedbackRequest"):
        spec["components"]["schemas"][name]["properties"]["label"] = {"enum": known["label"]}
    return spec


@pytest.fixture
def fuzzed_schema(digits_client: TestClient) -> Any:
    app = digits_client.app
    served = app.state.services.predictions.predictors  # type: ignore[attr-defined]
    inputs = {name: p.input_schema.model_json_schema() for name, p in served.items()}
    spec = _enriched(
        digits_client.get("/openapi.json").json(), _known_values(digits_client), inputs
    )
    schema = schemathesis.openapi.from_dict(spec)
    schema.app = app
    return schema


def _fuzz(operation: Any, store: Any, auth: dict[str, str]) -> Counter[int]:
    """Valid and invalid requests for one operation; returns the statuses seen."""
    seen: Counter[int] = Counter()
    cases = st.one_of(
        operation.as_strategy(GenerationMode.POSITIVE),
        operation.as_strategy(GenerationMode.NEGATIVE),
    )

    @settings(
        max_examples=2 * EXAMPLES,
        derandomize=True,
        database=None,
        deadline=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(cases)
    def fuzz(case: Any) -> None:
        before = snapshot(store)
        response = case.call(headers=auth)  # an admin key: past the role check
        seen[response.status_code] += 1
        extra = [negative_data_rejection] if response.status_code != 413 else []
        case.validate_response(response, checks=[*CHECKS, *extra])
        if 400 <= response.status_code < 500:
            assert changed(before, snapshot(store)) == {}, (case.method, case.formatted_path)

    fuzz()
    return seen


@pytest.mark.parametrize("part", ["models", "everything else"])
def test_no_operation_answers_5xx_or_changes_anything_when_it_refuses(
    fuzzed_schema: Any, digits_client: TestClient, part: str
) -> None:
    """In two parts (model registry operations, the rest) to keep each under a minute."""
    store = digits_client.app.state.store  # type: ignore[attr-defined]
    auth = {"Authorization": digits_client.headers["Authorization"]}
    statuses: dict[str, Counter[int]] = {}
    failures: list[str] = []
    for result in fuzzed_schema.get_all_operations():
        operation = result.ok()
        if ("models" in (operation.tags or [])) != (part == "models"):
            continue
        try:
            statuses[operation.label] = _fuzz(operation, store, auth)
        except (Exception, BaseExceptionGroup) as exc:  # report every operation's failure
            failures.append(f"{operation.label}: {str(exc)[:3000]}")
    print("\n".join(f"{label}: {dict(seen)}" for label, seen in statuses.items()))
    assert not failures, "\n\n".join(failures)
    reached = {label for label, seen in statuses.items() if any(s < 300 for s in seen)}
    must = {
        "models": {
            "GET /v1/models/{name}/versions/{version}",
            "PUT /v1/models/{name}/versions/{version}/card",
        },
        "everything else": {
            "POST /v1/predict",
            "POST /v1/reviews/claim",
            "GET /v1/reviews/{review_id}",
        },
    }[part]
    assert must <= reached, statuses
