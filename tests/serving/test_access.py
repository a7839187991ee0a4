"""Every route checks its role: walked over the app's real routes, so a route added
later is covered without touching this file."""

from __future__ import annotations

import re
from collections.abc import Iterator

import httpx
import pytest
from fastapi import APIRouter, FastAPI
from fastapi.testclient import TestClient

from tandem.app import create_app
from tandem.auth.keys import revoke_key
from tandem.auth.roles import Role
from tandem.settings import Settings
from tandem.store import open_store
from tandem.web.access import (
    ADMIN,
    CLIENT,
    PUBLIC,
    REVIEWER,
    check_routes,
    iter_routes,
)
from tests.conftest import bearer, make_key, predict

ROLES = list(Role)

# The policy, pinned: a change here is a change of who may do what.
PUBLIC_ROUTES = {
    "GET /healthz",
    "GET /",
    "GET /about",
    "GET /login",
    "POST /login",
    "POST /logout",
    "GET /openapi.json",
    "GET /docs",
    "GET /docs-assets/{name}",
    "GET /redoc",
    "GET /static/{name}",  # the pages' scripts (tandem/pages/scripts.py)
}
POLICY = {
    "POST /v1/predict": "client",
    "GET /editor": "page client",  # TANDEM_EDITOR_ACCESS=public opens it (test_drafts.py)
    "POST /v1/predictions/{prediction_id}/feedback": "client",
    "GET /v1/predictions/{prediction_id}": "reviewer",
    "GET /v1/predictions/{prediction_id}/feedback": "reviewer",
    "POST /v1/predictions/{prediction_id}/replay": "reviewer",
    "GET /v1/reviews": "reviewer",
    "GET /v1/reviews/{review_id}": "reviewer",
    "POST /v1/reviews/{review_id}/decision": "reviewer",
    "GET /review": "page reviewer",
    "POST /review/{review_id}": "page reviewer",
    "GET /predictions/{prediction_id}": "page reviewer",
    "POST /v1/replay": "admin",
    "GET /metrics": "admin",
    "GET /v1/models": "admin",
    "POST /v1/models/{name}/promote": "admin",
    "POST /v1/models/{name}/rollback": "admin",
    "POST /v1/models/{name}/shadow": "admin",
    "PUT /v1/models/{name}/versions/{version}/card": "admin",
    "GET /v1/models/{name}/guidelines": "reviewer",  # the people who follow them read them
    "PUT /v1/models/{name}/guidelines": "admin",
    "GET /models": "page admin",
    "POST /models/{name}/{version}/promote": "page admin",
    "POST /models/{name}/rollback": "page admin",
    "GET /models/{name}/guidelines": "page admin",
    "POST /models/{name}/guidelines": "page admin",
}


@pytest.fixture
def walk(trained_home: Settings) -> Iterator[tuple[TestClient, dict[Role, str]]]:
    """An app whose client sends no key by default, and one key per role."""
    keys = {role: make_key(trained_home, role) for role in ROLES}
    with TestClient(create_app(trained_home)) as c:
        yield c, keys


def _call(client: TestClient, method: str, path: str, key: str | None) -> httpx.Response:
    url = re.sub(r"\{[^}]+\}", "x", path)
    body = {"json": {}} if method in ("POST", "PUT", "PATCH") else {}
    headers = bearer(key) if key else {}
    return client.request(method, url, headers=headers, follow_redirects=False, **body)  # type: ignore[arg-type]


def _asks_for_a_key(response: httpx.Response) -> bool:
    if response.status_code == 303:
        return response.headers["location"].startswith("/login?next=")
    if response.status_code == 401 and "json" in response.headers.get("content-type", ""):
        return bool(response.json()["error"]["code"] == "unauthorized")
    return False


def _walked(app: FastAPI) -> list[tuple[str, str, str]]:
    """(method, path, declared access) for every route of the app."""
    found = []
    for route in iter_routes(app):
        assert route.access is not None, f"{route} {route.problem}"
        for method in sorted(route.methods - {"HEAD"}):
            found.append((method, route.path, repr(route.access)))
    return found


def test_every_route_answers_by_its_role(walk: tuple[TestClient, dict[Role, str]]) -> None:
    client, keys = walk
    routes = _walked(client.app)  # type: ignore[arg-type]
    assert len(routes) >= 35  # the walk really walks
    wrong = []
    for method, path, access in routes:
        where = f"{method} {path} ({access})"
        anonymous = _call(client, method, path, None)
        if access == "public":
            if _asks_for_a_key(anonymous) or anonymous.status_code == 403:
                wrong.append(f"{where}: public, but {anonymous.status_code} without a key")
            continue
        page = access.startswith("page ")
        needed = Role(access.removeprefix("page "))
        if not _asks_for_a_key(anonymous):
            wrong.append(f"{where}: {anonymous.status_code} without a key")
        if not page and anonymous.status_code == 401:
            assert anonymous.headers["www-authenticate"].startswith("Bearer")
        for role in ROLES:
            answer = _call(client, method, path, keys[role])
            if role.rank < needed.rank and answer.status_code != 403:
                wrong.append(f"{where}: {role} key got {answer.status_code}, not 403")
            if role.rank >= needed.rank and (_asks_for_a_key(answer) or answer.status_code == 403):
                wrong.append(f"{where}: {role} key refused ({answer.status_code})")
    assert wrong == []


def test_the_walk_covers_the_openapi_schema(client: TestClient) -> None:
    walked = {(m, p) for m, p, _ in _walked(client.app)}  # type: ignore[arg-type]
    schema = client.get("/openapi.json").json()
    for path, operations in schema["paths"].items():
        for method in operations:
            assert (method.upper(), path) in walked


def test_the_policy_is_what_the_readme_says(client: TestClient) -> None:
    declared = {f"{m} {p}": a for m, p, a in _walked(client.app)}  # type: ignore[arg-type]
    assert {r for r, a in declared.items() if a == "public"} == PUBLIC_ROUTES, (
        "a new public route must be added to PUBLIC_ROUTES on purpose"
    )
    assert {r: declared.get(r) for r in POLICY} == POLICY
    # The registry is admin only, reads included; a model's guidelines are the one read
    # reviewers need (they follow them), pinned in POLICY above.
    readable = {"GET /v1/models/{name}/guidelines"}
    assert all(
        a == "admin"
        for r, a in declared.items()
        if r.split()[1].startswith("/v1/models") and r not in readable
    )


def test_openapi_declares_bearer_auth(client: TestClient) -> None:
    schema = client.get("/openapi.json").json()
    assert schema["components"]["securitySchemes"]["apiKey"]["scheme"] == "bearer"
    predict = schema["paths"]["/v1/predict"]["post"]
    assert predict["security"] == [{"apiKey": []}] and predict["x-tandem-role"] == "client"
    assert predict["description"].startswith("Needs a client key (or higher).")
    assert schema["paths"]["/v1/models"]["get"]["x-tandem-role"] == "admin"
    assert "security" not in schema["paths"]["/healthz"]["get"]


def test_a_revoked_key_is_refused(trained_home: Settings) -> None:
    settings = trained_home.model_copy(update={"auth_cache_seconds": 0})
    key = make_key(settings, "client", "app")
    with TestClient(create_app(settings), headers=bearer(key)) as c:
        predict(c)
        store = open_store(settings.resolved_database_url)
        revoke_key(store, "app")
        store.close()
        refused = c.post("/v1/predict", json={"model": "ml-editor", "input": {}})
        assert refused.status_code == 401
        assert "unknown or revoked" in refused.json()["error"]["message"]


@pytest.mark.parametrize(
    ("header", "says"),
    [
        ("Basic dXNlcjpwYXNz", "is not 'Bearer <key>'"),
        ("Bearer ", "is not 'Bearer <key>'"),
        ("Bearer tdm_not-a-real-key-at-all-but-long-enough-to-look", "unknown or revoked"),
    ],
)
def test_bad_credentials_say_what_to_do(client: TestClient, header: str, says: str) -> None:
    response = client.get("/v1/reviews", headers={"Authorization": header})
    assert response.status_code == 401
    message = response.json()["error"]["message"]
    assert says in message and "tandem keys create" in message


def test_a_wrong_role_is_told_which_role_it_needs(walk: tuple[TestClient, dict[Role, str]]) -> None:
    client, keys = walk
    response = client.get("/v1/models", headers=bearer(keys[Role.reviewer]))
    assert response.status_code == 403
    assert response.json()["error"] == {
        "code": "forbidden",
        "message": "this needs an admin key; the key 'test-reviewer' is a reviewer key: "
        "use an admin key or ask an admin for one",
    }


def test_the_reviewer_is_the_key_not_the_body(review_client: TestClient) -> None:
    body = predict(review_client)
    decided = review_client.post(
        f"/v1/reviews/{body['review_id']}/decision",
        json={"label": body["label"], "reviewer": "mallory"},
    )
    assert decided.status_code == 200 and decided.json()["reviewer"] == "test-reviewer"
    store = review_client.app.state.store  # type: ignore[attr-defined]
    [label] = store.list_labels(str(body["id"]))
    assert label.author == "test-reviewer"


def test_a_route_without_a_role_stops_the_app(settings: Settings) -> None:
    app = create_app(settings)
    app.add_api_route("/v1/forgotten", lambda: {"secret": 1}, methods=["GET"])
    with pytest.raises(RuntimeError, match="GET /v1/forgotten declares no access"):  # noqa: SIM117
        with TestClient(app):
            pass


def test_two_different_roles_on_one_route_are_refused() -> None:
    app = FastAPI()
    app.add_api_route("/both", lambda: {}, dependencies=[ADMIN, REVIEWER])
    with pytest.raises(RuntimeError, match="GET /both declares several accesses"):
        check_routes(app)


def test_a_role_given_when_a_router_is_included_guards_it(settings: Settings) -> None:
    """How the other routers are guarded: one line in the app factory."""
    router = APIRouter(prefix="/v1/monitor")
    router.add_api_route("/thing", lambda: {"ok": True})
    app = create_app(settings)
    app.include_router(router, dependencies=[ADMIN])
    open_router = APIRouter()
    open_router.add_api_route("/ping", lambda: "pong", dependencies=[PUBLIC])
    app.include_router(open_router)
    check_routes(app)
    client_key, admin_key = make_key(settings, "client"), make_key(settings, "admin")
    with TestClient(app) as c:
        assert c.get("/v1/monitor/thing").status_code == 401
        assert c.get("/v1/monitor/thing", headers=bearer(client_key)).status_code == 403
        assert c.get("/v1/monitor/thing", headers=bearer(admin_key)).json() == {"ok": True}
        assert c.get("/ping").status_code == 200
    assert CLIENT is not ADMIN
