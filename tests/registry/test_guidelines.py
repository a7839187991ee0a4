"""Each model's guidelines for reviewers: written in Markdown by admins (API and page),
stored with who edited them and when, rendered and sanitised beside review items."""

from __future__ import annotations

import re
from collections.abc import Iterator
from html.parser import HTMLParser

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from tandem.app import create_app
from tandem.registry.registry import MAX_GUIDELINES
from tandem.settings import Settings
from tandem.store import tables as t
from tests.conftest import app_client, bearer, make_key, predict

GUIDE = (
    "# Judging ml-editor items\n\n"
    "* **good**: a clear question, with *code* where it helps\n"
    "* ~~poor~~ only when it cannot be answered\n\n"
    "| case | label |\n|---|---|\n| no question mark | poor |\n\n"
    "See [the style guide](https://example.com/style).\n"
)
HOSTILE = (
    "<script>window.__pwned=1</script> raw HTML stays text\n\n"
    "[run](javascript:alert(1)) [home](/logout) ![tracker](https://evil.example/t.png)\n\n"
    '<img src="https://evil.example/x" onerror="alert(2)">'
)
URL = "/v1/models/ml-editor/guidelines"


@pytest.fixture
def admin(trained_home: Settings) -> Iterator[TestClient]:
    """Every prediction goes to review; requests carry an admin key named `test-admin`."""
    settings = trained_home.model_copy(update={"review_threshold": 1.0})
    with app_client(settings) as c:
        yield c


def test_admins_write_guidelines_and_reviewers_read_them(
    admin: TestClient, trained_home: Settings
) -> None:
    empty = admin.get(URL).json()
    assert empty == {
        "model": "ml-editor",
        "markdown": "",
        "html": "",
        "edited_by": None,
        "edited_at": None,
    }
    saved = admin.put(URL, json={"markdown": GUIDE})
    assert saved.status_code == 200, saved.text
    assert saved.json()["edited_by"] == "test-admin" and saved.json()["edited_at"]

    reviewer = make_key(trained_home, "reviewer", "rita")
    read = admin.get(URL, headers=bearer(reviewer)).json()
    assert read["markdown"] == GUIDE and read["edited_by"] == "test-admin"
    html = read["html"]
    assert "<h1>Judging ml-editor items</h1>" in html and "<strong>good</strong>" in html
    assert "<td>no question mark</td>" in html and "<s>poor</s>" in html
    assert re.search(r'<a href="https://example.com/style" rel="[^"]*noopener', html)


def test_the_latest_edit_wins_and_every_edit_is_kept(
    admin: TestClient, trained_home: Settings
) -> None:
    admin.put(URL, json={"markdown": "first"})
    other = make_key(trained_home, "admin", "ada")
    admin.put(URL, json={"markdown": "second\r\nline"}, headers=bearer(other))
    now = admin.get(URL).json()
    assert (now["markdown"], now["edited_by"]) == ("second\nline", "ada")
    g = t.model_guidelines
    with admin.app.state.store.engine.connect() as conn:
        history = conn.execute(
            sa.select(g.c.markdown, g.c.edited_by).order_by(g.c.edited_at, g.c.id)
        ).all()
    assert [tuple(r) for r in history] == [("first", "test-admin"), ("second\nline", "ada")]
    admin.put(URL, json={"markdown": ""})
    assert admin.get(URL).json()["html"] == ""


class Elements(HTMLParser):
    def __init__(self, html: str) -> None:
        super().__init__()
        self.found: list[tuple[str, dict[str, str | None]]] = []
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.found.append((tag, dict(attrs)))


def test_markdown_is_sanitised(admin: TestClient) -> None:
    html = admin.put(URL, json={"markdown": HOSTILE}).json()["html"]
    # Raw HTML in the Markdown is shown as text; links that are not absolute http(s) lose
    # their address; images go.
    assert "&lt;script&gt;window.__pwned=1&lt;/script&gt; raw HTML stays text" in html
    assert "&lt;img src=" in html
    elements = Elements(html).found
    assert {tag for tag, _ in elements} == {"p", "a"}
    assert [attrs for tag, attrs in elements if tag == "a"] == [
        {"rel": "noopener noreferrer nofollow"}
    ]


def test_only_admins_write_them(trained_home: Settings) -> None:
    with app_client(trained_home, role="reviewer") as reviewer:
        refused = reviewer.put(URL, json={"markdown": "mine"})
        assert refused.status_code == 403
        message = refused.json()["error"]["message"]
        assert "needs an admin key" in message and "'test-reviewer' is a reviewer key" in message
        assert reviewer.get(URL).json()["markdown"] == ""  # nothing was stored
        page = reviewer.post(
            "/models/ml-editor/guidelines", data={"markdown": "mine"}, follow_redirects=False
        )
        assert page.status_code == 403 and "needs an admin key" in page.text
    with TestClient(create_app(trained_home)) as anonymous:
        assert anonymous.get(URL).status_code == 401


def test_oversized_guidelines_are_refused_with_the_limit(admin: TestClient) -> None:
    too_long = admin.put(URL, json={"markdown": "x" * (MAX_GUIDELINES + 1)})
    assert too_long.status_code == 422
    assert too_long.json()["error"]["message"] == (
        f"guidelines may be at most {MAX_GUIDELINES:,} characters; these are "
        f"{MAX_GUIDELINES + 1:,}: shorten them or link to a longer document"
    )
    huge = admin.put(URL, json={"markdown": "x" * 400_000})  # over TANDEM_MAX_BODY_BYTES
    assert huge.status_code == 413 and huge.json()["error"]["code"] == "payload_too_large"
    page = admin.post("/models/ml-editor/guidelines", data={"markdown": "y" * (MAX_GUIDELINES + 1)})
    assert page.status_code == 422 and f"at most {MAX_GUIDELINES:,} characters" in page.text
    assert admin.get(URL).json()["markdown"] == ""


def test_unknown_models_have_no_guidelines(admin: TestClient) -> None:
    for response in (
        admin.get("/v1/models/nope/guidelines"),
        admin.put("/v1/models/nope/guidelines", json={"markdown": "x"}),
    ):
        assert response.status_code == 404 and "unknown model 'nope'" in response.text


def test_the_admin_page_edits_them_and_the_review_page_shows_them(admin: TestClient) -> None:
    form = admin.get("/models/ml-editor/guidelines")
    assert form.status_code == 200 and 'name="markdown"' in form.text
    saved = admin.post(
        "/models/ml-editor/guidelines", data={"markdown": GUIDE}, follow_redirects=False
    )
    assert saved.status_code == 303 and saved.headers["location"].endswith("?saved=1")
    page = admin.get(saved.headers["location"]).text
    assert "Guidelines saved" in page and "<h1>Judging ml-editor items</h1>" in page
    assert admin.get(URL).json()["edited_by"] == "test-admin"

    p = predict(admin)
    review = admin.get("/review").text
    item = review.split(f'data-review-id="{p["review_id"]}"')[1].split("</section>")[0]
    assert 'class="guidelines"' in item and "<strong>good</strong>" in item
    assert "Edited by test-admin" in item and 'href="/models/ml-editor/guidelines"' in item
    assert 'href="/models/ml-editor/guidelines"' in admin.get("/models").text


def test_reviewers_see_guidelines_without_an_edit_link(
    admin: TestClient, trained_home: Settings
) -> None:
    admin.put(URL, json={"markdown": GUIDE})
    predict(admin)
    with app_client(
        trained_home.model_copy(update={"review_threshold": 1.0}), role="reviewer"
    ) as reviewer:
        page = reviewer.get("/review").text
        assert "<h1>Judging ml-editor items</h1>" in page and "Edited by test-admin" in page
        assert 'href="/models/ml-editor/guidelines"' not in page
        assert reviewer.get("/models/ml-editor/guidelines").status_code == 403
