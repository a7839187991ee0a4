"""One handler for Tandem's errors: a page route answers with a page, the API with JSON."""

from __future__ import annotations

from tandem.settings import Settings
from tests.conftest import app_client
from tests.fakes import FakeFamily


def test_a_page_error_is_a_page_that_links_back_and_the_api_error_stays_json(
    settings: Settings,
) -> None:
    with app_client(settings, families={"fake": FakeFamily()}) as client:
        listing = "http://testserver/postmortems?x=1"
        page = client.get("/postmortems/missing", headers={"referer": listing})
        assert page.status_code == 404 and page.headers["content-type"].startswith("text/html")
        assert 'role="alert"' in page.text and 'href="/postmortems?x=1"' in page.text

        posted = client.post("/bugs/missing/status", data={"status": "fixed"})
        assert posted.status_code == 404 and "<h1>Not saved</h1>" in posted.text

        elsewhere = client.get("/postmortems/missing", headers={"referer": "https://evil.test/"})
        assert elsewhere.status_code == 404 and 'href="/"' in elsewhere.text

        api = client.get("/v1/postmortems/missing")
        assert api.status_code == 404 and api.json()["error"]["code"] == "not_found"
