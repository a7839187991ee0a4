"""POST /v1/predict with a key this process verified lately skips the router
(tandem.api.predictions.PredictFastPath): its answers, refusals and ledger rows must
be the route's."""

from __future__ import annotations

import time

import pytest
from fastapi.testclient import TestClient
from httpx import Response

from tandem.clock import utcnow
from tandem.settings import Settings
from tests.fakes import artifact, fake_client
from tests.rows import settled


def _post(client: TestClient, doc: object) -> Response:
    return client.post("/v1/predict", json=doc)


def _shape(response: Response) -> tuple[int, list[str], list[str]]:
    names = sorted(k for k in response.headers if k != "date")
    return response.status_code, names, sorted(response.json())


def test_the_fast_path_answers_as_the_route_does(settings: Settings) -> None:
    doc = {"model": "fake", "input": {"text": "hello"}}
    with fake_client(settings, artifact()) as client:
        auth = client.app.state.auth  # type: ignore[attr-defined]
        key = client.headers["authorization"].removeprefix("Bearer ")
        assert auth.cached(key) is None  # the first request goes through the route...
        by_route = _post(client, doc)
        assert auth.cached(key) is not None  # ...which verified the key: the next do not
        fast = _post(client, doc)
        assert _shape(fast) == _shape(by_route)
        a, b = by_route.json(), fast.json()
        assert a["id"] != b["id"]
        same = ("model", "model_version", "label", "confidence", "route", "explanation")
        assert {k: a[k] for k in same} == {k: b[k] for k in same}
        for body in (a, b):  # both stored, with their intake rows
            stored = client.get(f"/v1/predictions/{body['id']}")
            assert stored.status_code == 200 and stored.json()["label"] == body["label"]
        store = client.app.state.store  # type: ignore[attr-defined]
        assert store.intake_counts()["answered"] == 2


def test_fast_path_refusals_are_the_routes(settings: Settings) -> None:
    with fake_client(settings, artifact()) as client:
        assert _post(client, {"model": "fake", "input": {"text": "warm"}}).status_code == 200
        unknown = _post(client, {"model": "nope", "input": {"text": "x"}})
        assert unknown.status_code == 404
        assert unknown.json()["error"]["code"] == "unknown_model"
        extra = _post(client, {"model": "fake", "input": {"text": "x"}, "extra": 1})
        assert extra.status_code == 422  # FastAPI's own validation answer, via the route
        assert extra.json()["error"]["code"] == "invalid_request"
        bad_input = _post(client, {"model": "fake", "input": {"wrong": "x"}})
        assert bad_input.status_code == 422
        not_json = client.post(
            "/v1/predict", content=b"model=fake", headers={"content-type": "text/plain"}
        )
        assert not_json.status_code == 422
        store = client.app.state.store  # type: ignore[attr-defined]
        counts = store.intake_counts()
    assert counts == settled(answered=1, failed=4)


def test_a_revoked_key_is_refused_once_its_cache_entry_expires(settings: Settings) -> None:
    settings = settings.model_copy(update={"auth_cache_seconds": 0.5})
    with fake_client(settings, artifact()) as client:
        assert _post(client, {"model": "fake", "input": {"text": "a"}}).status_code == 200
        store = client.app.state.store  # type: ignore[attr-defined]
        for key in store.list_api_keys():
            store.revoke_api_key(key.id, utcnow())
        time.sleep(0.6)  # the process's cache entry has expired: the route checks again
        refused = _post(client, {"model": "fake", "input": {"text": "b"}})
    assert refused.status_code == 401


@pytest.mark.parametrize("length", [None, b"60"], ids=["chunked", "content-length"])
def test_a_client_gone_mid_body_gets_nothing_and_stores_nothing(
    settings: Settings, length: bytes | None
) -> None:
    """A client that leaves before its body has arrived is not answered and leaves no
    prediction, whether the router or the fast path would have served it (a chunked
    body is buffered by the body limit, one with a length read by the input gate and
    the fast path)."""
    doc = b'{"model": "fake", "input": {"text": "hel'
    with fake_client(settings, artifact()) as client:
        key = client.headers["authorization"]
        scope = {
            "type": "http",
            "http_version": "1.1",
            "method": "POST",
            "scheme": "http",
            "path": "/v1/predict",
            "raw_path": b"/v1/predict",
            "query_string": b"",
            "root_path": "",
            "headers": [
                (b"host", b"testserver"),
                (b"content-type", b"application/json"),
                (b"authorization", key.encode()),
                *([(b"content-length", length)] if length else []),
            ],
            "client": ("127.0.0.1", 1),
            "server": ("testserver", 80),
        }

        async def leave_mid_body() -> list[object]:
            messages = iter(
                [
                    {"type": "http.request", "body": doc, "more_body": True},
                    {"type": "http.disconnect"},
                ]
            )
            sent: list[object] = []

            async def receive() -> object:
                return next(messages)

            async def send(message: object) -> None:
                sent.append(message)

            await client.app(dict(scope), receive, send)  # type: ignore[arg-type]
            return sent

        auth = client.app.state.auth  # type: ignore[attr-defined]
        assert auth.cached(key.removeprefix("Bearer ")) is None
        assert client.portal.call(leave_mid_body) == []  # through the gate and the router
        assert _post(client, {"model": "fake", "input": {"text": "hello"}}).status_code == 200
        assert auth.cached(key.removeprefix("Bearer ")) is not None
        assert client.portal.call(leave_mid_body) == []  # through the fast path
        store = client.app.state.store  # type: ignore[attr-defined]
        assert store.count_predictions() == 1
