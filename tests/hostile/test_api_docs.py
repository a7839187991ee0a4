"""/docs shares its origin with the login cookie: it runs only files Tandem serves."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient


def _references(html: str) -> list[str]:
    return re.findall(r'(?:src|href)="([^"]+)"', html)


def test_the_docs_page_loads_nothing_from_another_host(client: TestClient) -> None:
    response = client.get("/docs")
    assert response.status_code == 200
    refs = _references(response.text)
    assert any(r.endswith("swagger-ui-bundle.js") for r in refs)
    assert all(r.startswith("/") and not r.startswith("//") for r in refs), refs
    assert "<script>" not in response.text  # no inline script: the CSP forbids it
    assert "cdn" not in response.text.lower()


def test_the_docs_assets_are_served_by_tandem(client: TestClient) -> None:
    refs = _references(client.get("/docs").text)
    for ref in refs:
        asset = client.get(ref, headers={"Authorization": ""})  # public: no key needed
        assert asset.status_code == 200, ref
        assert asset.content
    assert "javascript" in client.get("/docs-assets/swagger-ui-bundle.js").headers["content-type"]


def test_only_the_listed_assets_are_served(client: TestClient) -> None:
    for name in ("index.html", "..%2Fdocs.py", "oauth2-redirect.html", "nope.js"):
        assert client.get(f"/docs-assets/{name}").status_code == 404, name


def test_redoc_leads_to_the_docs(client: TestClient) -> None:
    response = client.get("/redoc", follow_redirects=False)
    assert response.status_code == 308 and response.headers["location"] == "/docs"
