"""Every response carries the security headers: pages, the API, the docs, refusals."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from tests.conftest import bearer

EXPECTED = {
    "content-security-policy": (
        "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
        "img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
    ),
    "x-frame-options": "DENY",
    "x-content-type-options": "nosniff",
    "referrer-policy": "same-origin",
}


@pytest.mark.parametrize(
    ("method", "path", "kwargs", "status"),
    [
        ("GET", "/login", {}, 200),
        ("GET", "/review", {}, 200),
        ("GET", "/models", {}, 200),
        ("GET", "/healthz", {}, 200),
        ("GET", "/openapi.json", {}, 200),
        ("GET", "/v1/reviews", {}, 200),
        ("GET", "/no-such-page", {}, 404),
        ("GET", "/v1/reviews", {"headers": bearer("tdm_not-a-key")}, 401),
        ("POST", "/v1/predict", {"content": b"x" * 2_000_000}, 413),
        (
            "POST",
            "/logout",
            {"headers": {"Origin": "https://evil.example", "Authorization": ""}},
            403,
        ),
    ],
)
def test_every_response_carries_the_security_headers(
    client: TestClient, method: str, path: str, kwargs: dict[str, object], status: int
) -> None:
    response = client.request(method, path, follow_redirects=False, **kwargs)  # type: ignore[arg-type]
    assert response.status_code == status, response.text
    for name, value in EXPECTED.items():
        assert response.headers.get_list(name) == [value], name
