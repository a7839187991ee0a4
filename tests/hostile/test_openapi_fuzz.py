"""OpenAPI-driven fuzzing (schemathesis) of every operation in /openapi.json: valid and
invalid requests generated from the schema, no 5xx anywhere, answers that match the
documented schema, and no stored row changed by a rejected request.

The fuzzing runs on a store with real state (predictions of three models, review items,
feedback and a bug report, a post-mortem with an action, a model with a production and
a candidate version, a drift reference), and each operation starts with a valid request
built from it, linked to what earlier operations answered (the prediction just made,
the item just claimed, the post-mortem just opened). So every operation is seen to
succeed, not only to refuse: `test_every_operation_answers_a_valid_request` fails for
an operation with no valid example or no 2xx, which a new route starts as.

The schema is fuzzed as the app publishes it, with one help so that generated requests
reach past the 404s into the code that stores things: valid ids, names, versions and
labels are what is really stored (invalid ones are anything else), and a valid
prediction request may also be a served model with its own input schema."""

from __future__ import annotations

import copy
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
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

from tandem.models.artifacts import ArtifactStore
from tandem.models.catalog import discover_families
from tandem.models.interface import TrainedArtifact
from tandem.registry.versions import register
from tandem.settings import Settings
from tandem.store import open_store
from tests.conftest import QUESTION, app_client, predict
from tests.fakes import FakeFamily, artifact
from tests.hostile.snapshot import changed, snapshot

EXAMPLES = 15
"""Per operation and generation mode (valid, invalid): 30 requests per operation."""
CHECKS = [not_a_server_error, response_schema_conformance, content_type_conformance]
"""Plus negative_data_rejection, except for a 413: too large is a rejection too."""


@dataclass
class World:
    """The seeded app, what its store holds, and the last 2xx answer of each operation
    (what the valid examples of later operations link to)."""

    client: TestClient
    known: dict[str, list[str]]
    candidate: str
    answers: dict[str, Any] = field(default_factory=dict)

    @property
    def store(self) -> Any:
        return self.client.app.state.store  # type: ignore[attr-defined]

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": self.client.headers["Authorization"]}

    def answer(self, label: str) -> Any:
        if label not in self.answers:
            raise LookupError(f"needs a 2xx from {label} first")
        return self.answers[label]


@pytest.fixture
def world(trained_home: Settings, digits_artifact: TrainedArtifact) -> Iterator[World]:
    """ML Editor and digits in production; "fake" with a production and a candidate
    version; every prediction routed to review."""
    store = open_store(trained_home.resolved_database_url)
    artifacts = ArtifactStore(trained_home.artifacts_dir)
    families = {**discover_families(), "fake": FakeFamily()}
    register(store, artifacts, "digits", digits_artifact, {}, production=True)
    register(store, artifacts, "fake", artifact(p_a=0.7), {"intended_use": "tests"}, True)
    candidate = register(store, artifacts, "fake", artifact(p_a=0.2), {}).version
    store.close()
    settings = trained_home.model_copy(update={"review_threshold": 1.0})
    with app_client(settings, families) as client:
        yield World(client, _seed(client), candidate)


def _seed(client: TestClient) -> dict[str, list[str]]:
    """Predictions, feedback, a bug, a post-mortem with an action; what the store holds."""
    made = [predict(client) for _ in range(3)]
    for model, data in (("digits", {"pixels": [0, 8, 16, 4] * 16}), ("fake", {"text": "x"})):
        answer = client.post("/v1/predict", json={"model": model, "input": data})
        assert answer.status_code == 200, answer.text
        made.append(answer.json())
    ok = client.post(f"/v1/predictions/{made[0]['id']}/feedback", json={"kind": "correct"})
    bug = client.post(
        f"/v1/predictions/{made[1]['id']}/feedback",
        json={"kind": "bug", "comment": "ignores the code block"},
    )
    pm = client.post(
        "/v1/postmortems", json={"title": "Code blocks ignored", "prediction_ids": [made[1]["id"]]}
    )
    assert (ok.status_code, bug.status_code, pm.status_code) == (201, 201, 201), pm.text
    action = client.post(
        f"/v1/postmortems/{pm.json()['id']}/actions", json={"text": "Add a test", "owner": "ana"}
    )
    assert action.status_code == 201, action.text
    versions = client.app.state.store.list_model_versions()  # type: ignore[attr-defined]
    return {
        "prediction_id": [str(p["id"]) for p in made],
        "review_id": [str(p["review_id"]) for p in made],
        "name": sorted({v.name for v in versions}),
        "version": sorted({v.version for v in versions}),
        "label": sorted({str(a["label"]) for p in made for a in p["alternatives"]}),
        "feedback_id": [bug.json()["id"]],
        "postmortem_id": [pm.json()["id"]],
        "action_id": [action.json()["id"]],
    }


Example = Callable[[World], dict[str, Any]]
"""The arguments of a valid `operation.Case(...)`, built from the world."""


def _predicted(w: World) -> Any:
    return w.answer("POST /v1/predict")


def _just_decided(w: World) -> str:
    """An item decided by the fuzzing key a moment ago (a decision is undone within 60 s)."""
    made = predict(w.client)
    body = {"label": made["label"]}
    decided = w.client.post(f"/v1/reviews/{made['review_id']}/decision", json=body)
    assert decided.status_code == 200, decided.text
    return str(made["review_id"])


VALID: dict[str, Example] = {
    "POST /v1/predict": lambda w: {"body": {"model": "ml-editor", "input": QUESTION}},
    "GET /v1/predictions/{prediction_id}": lambda w: {
        "path_parameters": {"prediction_id": _predicted(w)["id"]}
    },
    "POST /v1/predictions/{prediction_id}/feedback": lambda w: {
        "path_parameters": {"prediction_id": _predicted(w)["id"]},
        "body": {"kind": "bug", "comment": "suggests nothing about the code block"},
    },
    "GET /v1/predictions/{prediction_id}/feedback": lambda w: {
        "path_parameters": {"prediction_id": _predicted(w)["id"]}
    },
    "POST /v1/predictions/{prediction_id}/replay": lambda w: {
        "path_parameters": {"prediction_id": _predicted(w)["id"]},
        "body": {"version": None},
    },
    "POST /v1/replay": lambda w: {
        "body": {"model": "fake", "version": w.candidate, "route": "review", "limit": 10}
    },
    "GET /v1/reviews": lambda w: {"query": {"status": "pending", "limit": 2}},
    "GET /v1/labels": lambda w: {"query": {"model": "ml-editor", "limit": 2}},
    "GET /v1/reviews/{review_id}": lambda w: {
        "path_parameters": {"review_id": _predicted(w)["review_id"]}
    },
    "POST /v1/reviews/{review_id}/decision": lambda w: {
        "path_parameters": {"review_id": _predicted(w)["review_id"]},
        "body": {"label": _predicted(w)["label"], "comment": "checked"},
    },
    "GET /metrics": lambda w: {},
    "GET /healthz": lambda w: {},
    "POST /v1/reviews/claim": lambda w: {"body": {"count": 2}},
    "POST /v1/reviews/{review_id}/release": lambda w: {
        "path_parameters": {"review_id": w.answer("POST /v1/reviews/claim")["items"][0]["id"]},
        "body": {},
    },
    "POST /v1/reviews/{review_id}/undo": lambda w: {
        "path_parameters": {"review_id": _just_decided(w)}
    },
    "GET /v1/models": lambda w: {},
    "GET /v1/models/{name}/versions/{version}": lambda w: {
        "path_parameters": {"name": "fake", "version": w.candidate}
    },
    "GET /v1/models/{name}/versions/{version}/card.md": lambda w: {
        "path_parameters": {"name": "fake", "version": w.candidate}
    },
    "PUT /v1/models/{name}/versions/{version}/card": lambda w: {
        "path_parameters": {"name": "fake", "version": w.candidate},
        "body": {"sections": {"limitations": "Answers 'b' to everything."}},
    },
    "GET /v1/models/{name}/compare/{version}": lambda w: {
        "path_parameters": {"name": "fake", "version": w.candidate}
    },
    "POST /v1/models/{name}/promote": lambda w: {
        "path_parameters": {"name": "fake"},
        "body": {"version": w.candidate, "comment": "agrees with people more often"},
    },
    "POST /v1/models/{name}/rollback": lambda w: {
        "path_parameters": {"name": "fake"},
        "body": {"comment": "back to the previous version"},
    },
    "POST /v1/models/{name}/shadow": lambda w: {
        "path_parameters": {"name": "fake"},
        "body": {"version": w.candidate},
    },
    "GET /v1/models/{name}/events": lambda w: {"path_parameters": {"name": "fake"}},
    "GET /v1/models/{name}/guidelines": lambda w: {"path_parameters": {"name": "fake"}},
    "PUT /v1/models/{name}/guidelines": lambda w: {
        "path_parameters": {"name": "fake"},
        "body": {"markdown": "Label **b** only when the input *is* a b."},
    },
    "GET /v1/monitor/concerns": lambda w: {},
    "GET /v1/alerts": lambda w: {},
    "GET /v1/alerts/rules": lambda w: {},
    "POST /v1/alerts/check": lambda w: {},
    "GET /v1/bugs": lambda w: {"query": {"status": "new"}},
    "PATCH /v1/bugs/{feedback_id}": lambda w: {
        "path_parameters": {"feedback_id": w.known["feedback_id"][0]},
        "body": {"status": "triaged", "note": "reproduced"},
    },
    "POST /v1/postmortems": lambda w: {
        "body": {
            "title": "Answers without review",
            "prediction_ids": w.known["prediction_id"][:2],
            "summary": "Two answers nobody checked.",
        }
    },
    "GET /v1/postmortems": lambda w: {"query": {"prediction_id": w.known["prediction_id"][0]}},
    "GET /v1/postmortems/{postmortem_id}": lambda w: {
        "path_parameters": {"postmortem_id": w.answer("POST /v1/postmortems")["id"]}
    },
    "PATCH /v1/postmortems/{postmortem_id}": lambda w: {
        "path_parameters": {"postmortem_id": w.answer("POST /v1/postmortems")["id"]},
        "body": {"whys": [{"why": "Nobody checked", "because": "the threshold was low"}]},
    },
    "POST /v1/postmortems/{postmortem_id}/timeline": lambda w: {
        "path_parameters": {"postmortem_id": w.answer("POST /v1/postmortems")["id"]},
        "body": {"text": "First report", "at": "2026-03-01T10:00:00Z"},
    },
    "POST /v1/postmortems/{postmortem_id}/actions": lambda w: {
        "path_parameters": {"postmortem_id": w.answer("POST /v1/postmortems")["id"]},
        "body": {"text": "Raise the threshold", "owner": "ana"},
    },
    "PATCH /v1/postmortems/{postmortem_id}/actions/{action_id}": lambda w: {
        "path_parameters": {
            "postmortem_id": w.answer("POST /v1/postmortems")["id"],
            "action_id": w.answer("POST /v1/postmortems/{postmortem_id}/actions")["id"],
        },
        "body": {"status": "done"},
    },
    "GET /v1/monitor/drift": lambda w: {"query": {"model": "digits", "psi_bins": 5}},
    "GET /v1/monitor/quality": lambda w: {"query": {"model": "ml-editor", "by": "week"}},
}
"""One valid request per operation of /openapi.json, in the document's order (later
ones link to what earlier ones answered)."""


def _enriched(spec: dict[str, Any], w: World, inputs: dict[str, Any]) -> Any:
    spec = copy.deepcopy(spec)
    known = w.known
    # Every call carries an admin key (roles are walked in tests/serving/test_access.py):
    # without the security requirement, a "wrong" header is not counted as invalid data.
    spec.get("components", {}).pop("securitySchemes", None)
    for operations in spec["paths"].values():
        for operation in operations.values():
            operation.pop("security", None)
            for parameter in operation.get("parameters", []):
                where, name = parameter["in"], parameter["name"]
                if (where, name) == ("query", "model"):  # drift and quality of a stored model
                    where, name = "path", "name"
                if where == "path" and name in known:
                    # Valid requests name what is stored; invalid ones anything else.
                    parameter["schema"] = {"type": "string", "enum": sorted(set(known[name]))}
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
    # Valid bodies name stored labels, models, versions and predictions.
    schemas = spec["components"]["schemas"]
    labels, versions = {"enum": known["label"]}, {"enum": known["version"]}
    for name in ("DecisionRequest", "FeedbackRequest"):
        schemas[name]["properties"]["label"] = labels
    for name in ("PromoteRequest", "ReplayFilter"):
        schemas[name]["properties"]["version"] = versions
    for name in ("ShadowRequest", "ReplayRequest"):
        schemas[name]["properties"]["version"] = {"anyOf": [versions, {"type": "null"}]}
    schemas["ReplayFilter"]["properties"]["model"] = {"enum": known["name"]}
    schemas["PostMortemRequest"]["properties"]["prediction_ids"]["items"] = {
        "enum": known["prediction_id"]
    }
    return spec


def _schema(w: World) -> Any:
    app = w.client.app
    served = app.state.services.predictions.predictors  # type: ignore[attr-defined]
    inputs = {name: p.input_schema.model_json_schema() for name, p in served.items()}
    schema = schemathesis.openapi.from_dict(
        _enriched(w.client.get("/openapi.json").json(), w, inputs)
    )
    schema.app = app
    return schema


def _operations(w: World) -> list[Any]:
    return [result.ok() for result in _schema(w).get_all_operations()]


def _valid(operation: Any, w: World) -> int:
    """Send the operation's valid example; returns its status (after the checks)."""
    case = operation.Case(**VALID[operation.label](w))
    response = case.call(headers=w.auth)
    case.validate_response(response, checks=CHECKS)
    if 200 <= response.status_code < 300:
        try:
            w.answers[operation.label] = response.json()
        except ValueError:  # text: metrics, a card in Markdown
            w.answers[operation.label] = response.text
    return int(response.status_code)


def test_every_operation_answers_a_valid_request(world: World) -> None:
    """A valid request, linked to real data, gets a 2xx from every documented operation."""
    failed: list[str] = []
    for operation in _operations(world):
        if operation.label not in VALID:
            failed.append(f"{operation.label}: no valid example in VALID")
            continue
        try:
            status = _valid(operation, world)
        except (Exception, BaseExceptionGroup) as exc:
            failed.append(f"{operation.label}: {str(exc)[:2000]}")
            continue
        if not 200 <= status < 300:
            failed.append(f"{operation.label}: {status}")
    assert not failed, "operations that never answered 2xx:\n" + "\n".join(failed)
    assert set(VALID) <= {op.label for op in _operations(world)}, "examples of no operation"


def _fuzz(operation: Any, w: World) -> Counter[int]:
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
        before = snapshot(w.store)
        response = case.call(headers=w.auth)  # an admin key: past the role check
        seen[response.status_code] += 1
        extra = [negative_data_rejection] if response.status_code != 413 else []
        case.validate_response(response, checks=[*CHECKS, *extra])
        if 400 <= response.status_code < 500:
            assert changed(before, snapshot(w.store)) == {}, (case.method, case.formatted_path)

    fuzz()
    return seen


@pytest.mark.parametrize("part", ["models", "everything else"])
def test_no_operation_answers_5xx_or_changes_anything_when_it_refuses(
    world: World, part: str
) -> None:
    """In two parts (model registry operations, the rest) to keep each under a minute.
    Each operation gets its valid example first, then the generated requests."""
    statuses: dict[str, Counter[int]] = {}
    generated: dict[str, Counter[int]] = {}
    failures: list[str] = []
    for operation in _operations(world):
        if ("models" in (operation.tags or [])) != (part == "models"):
            continue
        try:
            valid = _valid(operation, world)
            generated[operation.label] = _fuzz(operation, world)
            statuses[operation.label] = generated[operation.label] + Counter([valid])
        except (Exception, BaseExceptionGroup) as exc:  # report every operation's failure
            failures.append(f"{operation.label}: {str(exc)[:3000]}")
    print("\n".join(f"{label}: {dict(seen)}" for label, seen in generated.items()))
    assert not failures, "\n\n".join(failures)
    never = sorted(label for label, seen in statuses.items() if not any(s < 300 for s in seen))
    assert not never, f"operations that never answered 2xx: {never}"
    # Generated requests, not only the examples, reach the code behind the validation.
    reached = sorted(label for label, seen in generated.items() if any(s < 300 for s in seen))
    assert len(reached) >= 0.6 * len(generated), (reached, generated)
