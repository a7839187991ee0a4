"""Hostile requests get a 4xx that says what to fix, and change no stored row. Each
case that used to answer 500 (or 503) is kept here as a regression test."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.conftest import QUESTION, TEST_DATABASE_URL, predict
from tests.hostile.snapshot import changed, snapshot

JSON = {"content-type": "application/json"}


def _nested(depth: int) -> bytes:
    return b'{"model": "ml-editor", "input": ' + b"[" * depth + b"]" * depth + b"}"


def _rejected(
    client: TestClient, method: str, url: str, status: int, says: str, **kwargs: Any
) -> None:
    store = client.app.state.store  # type: ignore[attr-defined]
    before = snapshot(store)
    response = client.request(method, url, **kwargs)
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert says in error["message"], error
    assert changed(before, snapshot(store)) == {}


@pytest.mark.parametrize(
    ("body", "status", "says"),
    [
        (_nested(10_000), 400, "nests deeper than 64 levels"),  # was a misleading 400
        (_nested(65), 400, "nests deeper than 64 levels"),
        (
            '{"model": "ml-editor", "input": {"title": "caf\xe9"}}'.encode("latin-1"),
            400,
            "not UTF-8 (byte 0xe9 at position 46)",
        ),
        (
            b'{"model": "ml-editor", "input": {"title": "\xed\xa0\x80", "body": "b"}}',
            400,
            "not UTF-8",
        ),  # an encoded surrogate, which json.loads alone lets through
        ('{"model": "ml-editor"}'.encode("utf-16"), 400, "send JSON encoded as UTF-8"),
        (
            b'{"model": "ml-editor", "input": {"title": NaN, "body": "b"}}',
            422,
            "NaN is not a JSON number",
        ),
        (
            b'{"model": "ml-editor", "input": {"title": -Infinity, "body": "b"}}',
            422,
            "-Infinity is not a JSON number",
        ),
        (
            b'{"model": "ml-editor", "input": {"title": "a\\u0000b", "body": "b"}}',
            422,
            "input.title contains a NUL character",
        ),
        (
            b'{"model": "ml-editor", "input": {"title": "t", "body": "\\udc00"}}',
            422,
            "input.body contains an unpaired UTF-16 surrogate",
        ),
        (b'{"model": "ml-editor", "input": {"\\ud800": 1}}', 422, "unpaired UTF-16 surrogate"),
        (
            b'{"model": "' + b"9" * 5000 + b'"}',
            422,
            "model: String should match pattern '^[a-z0-9][a-z0-9._-]{0,63}$'",
        ),
        (b'{"model": ' + b"9" * 5000 + b"}", 400, "number too long to read"),
        (b'{"model": "ml-editor", "input": {"title": 1e400, "body": "b"}}', 422, "input.title"),
    ],
)
def test_hostile_json_bodies(client: TestClient, body: bytes, status: int, says: str) -> None:
    _rejected(client, "POST", "/v1/predict", status, says, content=body, headers=JSON)


def test_escaped_backslash_before_u0000_is_plain_text(client: TestClient) -> None:
    """`\\\\u0000` in JSON is a backslash and 'u0000', not a NUL: accepted as is."""
    body = b'{"model": "ml-editor", "input": {"title": "a \\\\u0000 b", "body": "b"}}'
    response = client.post("/v1/predict", content=body, headers=JSON)
    assert response.status_code == 200 and response.json()["input"]["title"] == "a \\u0000 b"


@pytest.mark.parametrize(
    ("title", "body", "says"),
    [
        ("t" * 301, "b", "input.title: String should have at most 300 characters"),
        ("t", "b" * 50_001, "input.body: String should have at most 50000 characters"),
        ("t", " " * 200_000, "input.body: String should have at least 1 character"),
    ],
)
def test_very_long_strings(client: TestClient, title: str, body: str, says: str) -> None:
    payload = {"model": "ml-editor", "input": {"title": title, "body": body}}
    _rejected(client, "POST", "/v1/predict", 422, says, json=payload)


def test_longest_accepted_strings_are_stored_whole(client: TestClient) -> None:
    question = {"title": "t" * 300, "body": "é" * 50_000}  # 100 kB of UTF-8
    p = predict(client, question)
    assert client.get(f"/v1/predictions/{p['id']}").json()["input"] == question


@pytest.mark.parametrize(
    ("content_type", "body", "says"),
    [
        ("text/plain", b'{"model": "ml-editor"}', "Content-Type: application/json"),
        ("application/xml", b"<model>ml-editor</model>", "Content-Type: application/json"),
        ("application/x-www-form-urlencoded", b"model=ml-editor", "Content-Type: application/json"),
        ("application/json", b"", "body: Field required"),
        ("application/json", b"null", "valid dictionary"),
        ("application/json", b'{"model": ', "not valid JSON"),
    ],
)
def test_wrong_content_types_and_empty_bodies(
    client: TestClient, content_type: str, body: bytes, says: str
) -> None:
    headers = {"content-type": content_type}
    _rejected(client, "POST", "/v1/predict", 422, says, content=body, headers=headers)


def test_oversized_body_is_413_before_it_is_read(client: TestClient) -> None:
    huge = b'{"model": "ml-editor", "input": {"title": "' + b"x" * 300_000 + b'"}}'
    _rejected(
        client, "POST", "/v1/predict", 413, "TANDEM_MAX_BODY_BYTES", content=huge, headers=JSON
    )


@pytest.mark.parametrize(
    ("field", "value"),
    [("reviewer", "ann\x00"), ("comment", "ok\x00"), ("label", "good\x00")],
)
def test_nul_in_a_decision_is_422_on_every_store(
    review_client: TestClient, field: str, value: str
) -> None:
    """PostgreSQL text cannot hold NUL: this was a 503 quoting the SQL statement."""
    review_id = predict(review_client)["review_id"]
    body = {"label": "good", "reviewer": "ann", field: value}
    url = f"/v1/reviews/{review_id}/decision"
    _rejected(review_client, "POST", url, 422, f"{field} contains a NUL character", json=body)


@pytest.mark.parametrize(
    "url", ["/v1/predictions/a%00b", "/v1/reviews/x%00/decision", "/v1/reviews?status=%00"]
)
def test_nul_in_the_url_is_400(client: TestClient, url: str) -> None:
    method = "POST" if url.endswith("decision") else "GET"
    kwargs: dict[str, Any] = {"json": {"label": "a", "reviewer": "b"}} if method == "POST" else {}
    _rejected(client, method, url, 400, "the URL contains a NUL character", **kwargs)


def test_nul_in_a_page_form_is_422(review_client: TestClient) -> None:
    review_id = predict(review_client)["review_id"]
    form = {"label": "good", "reviewer": "ann\x00"}
    _rejected(review_client, "POST", f"/review/{review_id}", 422, "NUL character", data=form)


def test_unpaired_surrogate_in_a_card_is_422_and_the_version_stays_readable(
    client: TestClient,
) -> None:
    """This was stored, then answered 500 on every later read of the version."""
    store = client.app.state.store  # type: ignore[attr-defined]
    [version] = [v.version for v in store.list_model_versions("ml-editor")]
    url = f"/v1/models/ml-editor/versions/{version}/card"
    body = b'{"editor": "ann", "sections": {"intended_use": "\\ud800"}}'
    _rejected(
        client,
        "PUT",
        url,
        422,
        "sections.intended_use contains an unpaired UTF-16",
        content=body,
        headers=JSON,
    )
    assert client.get(f"/v1/models/ml-editor/versions/{version}").status_code == 200


@pytest.mark.parametrize("query", ["offset=99999999999999999999", "offset=1000000001"])
def test_huge_queue_offset_is_422(client: TestClient, query: str) -> None:
    """SQLite's OFFSET is 64-bit: this was an OverflowError, answered 500."""
    response = client.get(f"/v1/reviews?{query}")
    assert response.status_code == 422 and "offset" in response.json()["error"]["message"]
    assert client.get(f"/review?{query}").status_code == 422


def test_store_refuses_what_postgresql_cannot_hold_as_the_callers_error(
    client: TestClient,
) -> None:
    """Below the gate (CLI, services): a value PostgreSQL cannot store is InvalidInput
    (422) naming the problem, never the SQL statement."""
    if TEST_DATABASE_URL is None:
        pytest.skip("SQLite stores NUL characters; only PostgreSQL refuses them")
    from tandem.errors import InvalidInput

    store = client.app.state.store  # type: ignore[attr-defined]
    reviews = client.app.state.services.reviews  # type: ignore[attr-defined]
    pid = predict(client, QUESTION)["id"]
    with pytest.raises(InvalidInput, match="cannot contain NUL") as raised:
        reviews.add_feedback(str(pid), "bug", None, "broken\x00")
    assert "INSERT" not in raised.value.message
    assert store.list_feedback(str(pid)) == []
