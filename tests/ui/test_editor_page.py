"""/editor, the writer's page, served in-process: for a model whose family offers an
editor, to whom TANDEM_EDITOR_ACCESS allows, with its script as a file (no inline script)."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

from tandem.app import create_app
from tandem.settings import Settings
from tests.conftest import app_client


def test_the_page_names_the_model_and_its_fields(client: TestClient) -> None:
    page = client.get("/editor")
    assert page.status_code == 200, page.text
    assert 'data-model="ml-editor"' in page.text and 'data-good="good"' in page.text
    assert 'data-title-field="title"' in page.text and 'data-body-field="body"' in page.text
    assert re.findall(r"<script[^>]*>", page.text) == ['<script src="/static/editor.js">']
    script = client.get("/static/editor.js")
    assert script.status_code == 200 and "text/javascript" in script.headers["content-type"]
    assert "/v1/predict" in script.text and "textContent" in script.text
    assert "innerHTML" not in script.text  # server text never becomes markup


def test_a_model_without_an_editor_has_no_page(digits_client: TestClient) -> None:
    missing = digits_client.get("/editor?model=digits")
    assert missing.status_code == 404
    assert "offers no editor" in missing.text and "ml-editor" in missing.text


def test_with_key_access_a_writer_logs_in_first(trained_home: Settings) -> None:
    with TestClient(create_app(trained_home), follow_redirects=False) as c:
        page = c.get("/editor")
    assert page.status_code == 303 and page.headers["location"].startswith("/login?next=/editor")
    with app_client(trained_home, role="client") as c:
        assert c.get("/editor").status_code == 200


def test_with_public_access_anyone_opens_it(trained_home: Settings) -> None:
    settings = trained_home.model_copy(update={"editor_access": "public"})
    with TestClient(create_app(settings), follow_redirects=False) as c:
        assert c.get("/editor").status_code == 200
        assert c.get("/review").status_code == 303  # nothing else opens up
