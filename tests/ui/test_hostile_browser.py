"""Script injection, checked where it would run: in real headless Chromium against the
real server. Hostile text is stored exactly as sent and shown as text (the ML Editor's
body, which its family shows as HTML, as sanitised HTML: its words, none of its markup);
no script runs, no dialog opens, no element is injected."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tandem.settings import Settings
from tests.conftest import QUESTION, bearer, make_key
from tests.live import running_server
from tests.ui.chromium import chromium, log_in

pytestmark = [pytest.mark.browser, pytest.mark.server]

TITLE = "<script>alert(1)</script> Why does my loop never end?"
BODY = (
    '<img src=x onerror="alert(2)"><svg onload=alert(3)></svg>\n'
    '"><script>document.title=\'pwned\'</script><a href="javascript:alert(4)">x</a>\n'
    + QUESTION["body"]
)
REVIEWER = "<b onmouseover=alert(5)>eve</b>"
COMMENT = "<script>alert(6)</script> checked"


def _no_markup_injected(item: Any) -> None:
    for tag in ("script", "img", "svg", "a[href^='javascript']", "b"):
        assert item.locator(tag).count() == 0, tag


def test_hostile_text_is_stored_as_sent_and_shown_as_text(trained_home: Settings) -> None:
    admin = make_key(trained_home, "admin", "hostile-admin")
    reviewer = make_key(trained_home, "reviewer", REVIEWER)  # a key name that is markup
    with (
        running_server(trained_home, review_threshold="1.0", latency_budget_ms="60000") as server,
        chromium() as browser,
        httpx.Client(base_url=server.url, timeout=30, headers=bearer(admin)) as http,
    ):
        sent = {"title": TITLE, "body": BODY}
        p = http.post("/v1/predict", json={"model": "ml-editor", "input": sent}).json()
        assert http.get(f"/v1/predictions/{p['id']}").json()["input"] == sent
        dialogs: list[str] = []
        page = browser.new_page()
        page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))

        # Log in as a reviewer whose name is markup; the queue claims the item for them.
        page.goto(f"{server.url}/login?next=/review")
        log_in(page, reviewer, "/review")
        assert page.locator(".claim-reviewer").inner_text() == REVIEWER
        item = page.locator(f'[data-review-id="{p["review_id"]}"]')
        assert item.locator(".input-title").inner_text() == TITLE
        body = item.locator(".input-body").inner_text()
        assert body.startswith('">') and "How do I get a 7-day average?" in body
        _no_markup_injected(item)

        # Decide with a comment that is markup too.
        item = page.locator(f'[data-review-id="{p["review_id"]}"]')
        _no_markup_injected(item)
        item.locator('input[name="comment"]').fill(COMMENT)
        item.get_by_role("button", name=f"Accept “{p['label']}”").click()
        page.wait_for_url("**/review?decided=*")

        page.goto(f"{server.url}/predictions/{p['id']}")
        assert TITLE in page.locator("main").inner_text()
        _no_markup_injected(page.locator("main"))
        assert page.title() != "pwned" and page.evaluate("document.title") != "pwned"
        assert dialogs == []
        stored = http.get(f"/v1/reviews/{p['review_id']}").json()
        assert (stored["reviewer"], stored["comment"]) == (REVIEWER, COMMENT)
