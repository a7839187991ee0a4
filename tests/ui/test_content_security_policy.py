"""Every page renders in real Chromium under the Content-Security-Policy, with no
violation reported, and cannot be framed."""

from __future__ import annotations

import httpx
import pytest

from tandem.settings import Settings
from tests.conftest import bearer, make_key
from tests.live import running_server
from tests.ui.chromium import chromium, log_in

pytestmark = [pytest.mark.browser, pytest.mark.server]


def test_every_page_renders_without_a_policy_violation(trained_home: Settings) -> None:
    admin = make_key(trained_home, "admin", "csp-admin")
    with (
        running_server(trained_home, review_threshold="1.0", latency_budget_ms="60000") as server,
        chromium() as browser,
        httpx.Client(base_url=server.url, timeout=30, headers=bearer(admin)) as http,
    ):
        p = http.post(
            "/v1/predict", json={"model": "ml-editor", "input": {"title": "t", "body": "b"}}
        ).json()
        models = http.get("/v1/models").json()["models"]
        version = next(m["production"] for m in models if m["name"] == "ml-editor")
        violations: list[str] = []
        page = browser.new_page()
        page.on(
            "console",
            lambda m: violations.append(m.text) if "Content Security Policy" in m.text else None,
        )
        page.goto(f"{server.url}/login")
        log_in(page, admin, "/review")
        pages = [
            "/login",
            "/about",
            "/review",
            "/models",
            f"/models/ml-editor/{version}",
            f"/predictions/{p['id']}",
            "/report",
            "/alerts",
            "/monitor/quality",
            "/monitor/drift",
            "/bugs",
            "/postmortems",
        ]
        for path in pages:
            response = page.goto(f"{server.url}{path}")
            assert response is not None and response.status == 200, path
            assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
            page.wait_for_load_state("load")
        assert violations == []


def test_the_api_docs_render_under_the_policy(trained_home: Settings) -> None:
    with running_server(trained_home) as server, chromium() as browser:
        violations: list[str] = []
        requests: list[str] = []
        page = browser.new_page()
        page.on(
            "console",
            lambda m: violations.append(m.text) if "Content Security Policy" in m.text else None,
        )
        page.on("request", lambda r: requests.append(r.url))
        page.goto(f"{server.url}/docs")
        page.locator(".opblock").first.wait_for(timeout=30_000)
        assert page.locator(".opblock-summary-path", has_text="/v1/predict").count() >= 1
        assert violations == []
        assert requests and all(u.startswith(server.url) for u in requests), requests
