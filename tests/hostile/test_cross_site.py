"""A logged-in browser cannot be made to change anything by another origin's page,
whether the browser sends `Sec-Fetch-Site` or (an older one) only `Origin`/`Referer`."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from tandem.app import create_app
from tandem.settings import Settings
from tests.conftest import bearer, make_key, predict

EVIL = "https://evil.example"
OWN = "http://testserver"  # the TestClient's scheme and host


@pytest.fixture
def home(trained_home: Settings) -> Settings:
    return trained_home.model_copy(update={"auth_cache_seconds": 0, "review_threshold": 1.0})


@pytest.fixture
def browser(home: Settings) -> Iterator[TestClient]:
    """Logged in as the reviewer `ann` by cookie, like a person."""
    with TestClient(create_app(home)) as c:
        key = make_key(home, "reviewer", "ann")
        assert c.post("/login", data={"key": key}, follow_redirects=False).status_code == 303
        yield c


@pytest.fixture
def api(home: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(home), headers=bearer(make_key(home, "admin"))) as c:
        yield c


def _status(api: TestClient, review_id: object) -> str:
    return str(api.get(f"/v1/reviews/{review_id}").json()["status"])


@pytest.mark.parametrize(
    "headers",
    [
        {"Origin": EVIL},
        {"Origin": "null"},  # a sandboxed frame or a data: page
        {"Referer": f"{EVIL}/page"},
        {"Origin": "https://testserver"},  # another scheme is another origin
        {"Origin": "http://testserver:8080"},  # so is another port
        {"Sec-Fetch-Site": "same-site"},
        {"Sec-Fetch-Site": "cross-site", "Origin": OWN},  # the browser's word wins
    ],
)
def test_a_decision_from_another_origin_is_refused(
    browser: TestClient, api: TestClient, headers: dict[str, str]
) -> None:
    p = predict(api)
    forged = browser.post(f"/review/{p['review_id']}", data={"label": "poor"}, headers=headers)
    assert forged.status_code == 403
    assert "Cross-site request refused" in forged.text and "<html" in forged.text.lower()
    assert _status(api, p["review_id"]) == "pending"


@pytest.mark.parametrize(
    "headers",
    [
        {"Sec-Fetch-Site": "same-origin"},
        {"Sec-Fetch-Site": "none"},
        {"Origin": OWN},
        {"Referer": f"{OWN}/review"},
        {},  # no browser headers at all: not a browser, so no cookie by accident
    ],
)
def test_a_decision_from_tandem_itself_is_saved(
    browser: TestClient, api: TestClient, headers: dict[str, str]
) -> None:
    p = predict(api)
    saved = browser.post(
        f"/review/{p['review_id']}",
        data={"label": "poor"},
        headers=headers,
        follow_redirects=False,
    )
    assert saved.status_code == 303, saved.text
    assert _status(api, p["review_id"]) == "decided"


@pytest.mark.parametrize("headers", [{"Origin": EVIL}, {"Sec-Fetch-Site": "cross-site"}])
def test_another_site_cannot_log_you_out(browser: TestClient, headers: dict[str, str]) -> None:
    out = browser.post("/logout", headers=headers, follow_redirects=False)
    assert out.status_code == 403 and "set-cookie" not in out.headers
    assert browser.get("/review", follow_redirects=False).status_code == 200


@pytest.mark.parametrize("headers", [{"Origin": EVIL}, {"Sec-Fetch-Site": "cross-site"}])
def test_another_site_cannot_log_you_in_as_someone_else(
    home: Settings, headers: dict[str, str]
) -> None:
    with TestClient(create_app(home)) as c:
        key = make_key(home, "reviewer", "mallory")
        response = c.post("/login", data={"key": key}, headers=headers, follow_redirects=False)
        assert response.status_code == 403 and "set-cookie" not in response.headers


def test_a_cookie_api_write_from_another_origin_is_refused(
    browser: TestClient, api: TestClient
) -> None:
    p = predict(api)
    forged = browser.post(
        f"/v1/reviews/{p['review_id']}/decision",
        json={"label": "poor"},
        headers={"Origin": EVIL},
    )
    assert forged.status_code == 403
    assert forged.json()["error"]["code"] == "forbidden"
    assert "cross-site" in forged.json()["error"]["message"]
    assert _status(api, p["review_id"]) == "pending"


def test_a_bearer_key_is_not_a_cross_site_risk(api: TestClient) -> None:
    """No cookie is involved: a client's Origin header does not matter."""
    response = api.post(
        "/v1/predict",
        json={"model": "ml-editor", "input": {"title": "t", "body": "b"}},
        headers={"Origin": EVIL},
    )
    assert response.status_code == 200, response.text
