"""/review in real headless Chromium (Debian's package, installed by scripts/test.sh)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.conftest import QUESTION, bearer
from tests.ui.chromium import chromium, log_in

pytestmark = [pytest.mark.browser, pytest.mark.server]


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    with chromium() as b:
        yield b


def test_reviewer_decides_an_item_by_clicking(live_server: str, live_keys, browser) -> None:  # type: ignore[no-untyped-def]
    hostile = {**QUESTION, "title": "Is <script>window.pwned=1</script> shown as text?"}
    with httpx.Client(base_url=live_server, headers=bearer(live_keys["client"])) as http:
        p = http.post("/v1/predict", json={"model": "ml-editor", "input": hostile}).json()
    # The live server is shared: other tests' older items would fill the reviewer's page
    # of 5. The admin holds them (and gives this test's item back), so it is on the page.
    with httpx.Client(base_url=live_server, headers=bearer(live_keys["admin"])) as admin:
        held = admin.post("/v1/reviews/claim", json={"count": 100}).json()["items"]
        if p["review_id"] in {i["id"] for i in held}:
            admin.post(f"/v1/reviews/{p['review_id']}/release").raise_for_status()
    other = next(a["label"] for a in p["alternatives"] if a["label"] != p["label"])

    context = browser.new_context()  # a fresh cookie jar: not logged in
    page = context.new_page()
    page.goto(f"{live_server}/review")
    page.wait_for_url("**/login?next=/review*")  # no key yet: sent to log in
    log_in(page, live_keys["reviewer"], "/review")
    assert page.locator(".reviewer-name").inner_text() == "live-reviewer"
    [cookie] = context.cookies()
    assert (cookie["httpOnly"], cookie["sameSite"]) == (True, "Strict")
    assert live_keys["reviewer"] not in cookie["value"]  # a session's token, not the key
    item = page.locator(f'[data-review-id="{p["review_id"]}"]')
    assert "<script>window.pwned=1</script>" in item.locator(".input-title").inner_text()
    assert page.evaluate("window.pwned") is None
    item.locator('input[name="comment"]').fill("clicked in chromium")
    item.get_by_role("button", name=f"Change to “{other}”").click()
    page.wait_for_url("**/review?decided=*")
    assert "Decision saved" in page.locator(".flash").inner_text()
    assert page.locator(f'[data-review-id="{p["review_id"]}"]').count() == 0
    context.close()

    with httpx.Client(base_url=live_server, headers=bearer(live_keys["reviewer"])) as http:
        stored = http.get(f"/v1/reviews/{p['review_id']}").json()
    assert (stored["status"], stored["label"], stored["reviewer"], stored["comment"]) == (
        "decided",
        other,
        "live-reviewer",  # from the key the browser logged in with
        "clicked in chromium",
    )


def test_logging_out_ends_the_session_a_copied_cookie_stands_for(
    live_server: str,
    live_keys: dict[str, str],
    browser: Any,
) -> None:
    context = browser.new_context()
    page = context.new_page()
    page.goto(f"{live_server}/login?next=/review")
    page.locator('input[name="key"]').fill(live_keys["reviewer"])
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url("**/review")
    copied = context.cookies()
    page.get_by_role("button", name="Log out").click()
    page.wait_for_url("**/login")
    context.close()

    thief = browser.new_context()  # the cookie, copied before logout, in another browser
    thief.add_cookies(copied)
    page = thief.new_page()
    page.goto(f"{live_server}/review")
    page.wait_for_url("**/login?next=/review&why=invalid")
    thief.close()
