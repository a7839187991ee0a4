"""Logging in to the pages with a key: cookie, redirects, roles, logout, CSRF."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from tandem.app import create_app
from tandem.auth.keys import revoke_key
from tandem.settings import Settings
from tandem.store import open_store
from tests.conftest import make_key


@pytest.fixture
def browser(trained_home: Settings) -> Iterator[TestClient]:
    """A client with no key of its own: it logs in like a person, by cookie."""
    settings = trained_home.model_copy(update={"auth_cache_seconds": 0})
    with TestClient(create_app(settings)) as c:
        yield c


def _login(client: TestClient, key: str, next_path: str = "") -> str:
    response = client.post("/login", data={"key": key, "next": next_path}, follow_redirects=False)
    assert response.status_code == 303, response.text
    return str(response.headers["location"])


def test_a_page_without_a_key_sends_you_to_log_in(browser: TestClient) -> None:
    response = browser.get("/review", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/login?next=/review&why=missing"
    page = browser.get(response.headers["location"]).text
    assert "Paste your API key" in page and 'name="next" value="/review"' in page


def test_logging_in_sets_a_strict_http_only_cookie(
    browser: TestClient, trained_home: Settings
) -> None:
    key = make_key(trained_home, "reviewer", "ann")
    response = browser.post("/login", data={"key": key, "next": "/review"}, follow_redirects=False)
    cookie = response.headers["set-cookie"]
    assert response.headers["location"] == "/review"
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Max-Age=43200" in cookie
    assert key not in cookie and key[4:] not in cookie  # a session's token, not the key
    page = browser.get("/review").text
    assert "ann (reviewer)" in page and 'class="reviewer-name">ann<' in page
    assert browser.get("/v1/reviews").status_code == 200  # the API takes the cookie too


def test_a_bad_key_is_refused_on_the_login_page(browser: TestClient) -> None:
    response = browser.post("/login", data={"key": "tdm_guess"}, follow_redirects=False)
    assert response.status_code == 401 and "set-cookie" not in response.headers
    assert "unknown or was revoked" in response.text and "tandem keys create" in response.text


@pytest.mark.parametrize("target", ["//evil.example/x", "https://evil.example", "/\\evil"])
def test_login_only_redirects_within_the_site(
    browser: TestClient, trained_home: Settings, target: str
) -> None:
    assert _login(browser, make_key(trained_home, "reviewer"), target) == "/review"


def test_a_client_key_gets_a_clear_403_page(browser: TestClient, trained_home: Settings) -> None:
    assert _login(browser, make_key(trained_home, "client", "app")) == "/about"
    page = browser.get("/review")
    assert page.status_code == 403
    assert "needs a reviewer key" in page.text and "Log in with another key" in page.text


def test_a_reviewer_does_not_see_model_admin(browser: TestClient, trained_home: Settings) -> None:
    _login(browser, make_key(trained_home, "reviewer"))
    assert 'href="/models"' not in browser.get("/review").text
    refused = browser.post("/models/ml-editor/rollback", data={"comment": "x"})
    assert refused.status_code == 403 and "needs an admin key" in refused.text


def test_logout_ends_the_session(browser: TestClient, trained_home: Settings) -> None:
    _login(browser, make_key(trained_home, "reviewer"))
    out = browser.post("/logout", follow_redirects=False)
    assert out.status_code == 303 and out.headers["location"] == "/login"
    assert browser.get("/review", follow_redirects=False).status_code == 303


def test_revoking_a_key_logs_its_browser_out(browser: TestClient, trained_home: Settings) -> None:
    _login(browser, make_key(trained_home, "reviewer", "ann"))
    assert browser.get("/review").status_code == 200
    store = open_store(trained_home.resolved_database_url)
    revoke_key(store, "ann")
    store.close()
    response = browser.get("/review", follow_redirects=False)
    assert response.headers["location"] == "/login?next=/review&why=invalid"


def test_another_site_cannot_use_the_cookie_to_change_anything(
    browser: TestClient, trained_home: Settings
) -> None:
    _login(browser, make_key(trained_home, "admin"))
    forged = browser.post(
        "/models/ml-editor/rollback",
        data={"comment": "x"},
        headers={"Sec-Fetch-Site": "cross-site"},
    )
    assert forged.status_code == 403 and "Cross-site request refused" in forged.text
    api = browser.post("/v1/predict", json={}, headers={"Sec-Fetch-Site": "same-site"})
    assert api.status_code == 403
    reading = browser.get("/models", headers={"Sec-Fetch-Site": "cross-site"})
    assert reading.status_code == 200  # a top-level link from elsewhere still opens
