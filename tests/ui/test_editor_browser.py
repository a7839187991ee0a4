"""The writer's page in real headless Chromium against `tandem serve`: a writer types a
poor question, sees what pulls it down and the suggestions, rates one, edits as it
advises, sees the score rise; the report then counts it as followed and helpful."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest

from tests.ui.chromium import chromium, log_in

pytestmark = [pytest.mark.browser, pytest.mark.server]

TITLE = "sorting broken"
BODY = "Hi all. My sort returns the list unsorted. THANKS SO MUCH for any help!"
UPDATES = 30  # pauses whose update time is measured
P95_BUDGET_MS = 150.0


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    with chromium() as b:
        yield b


def _revision(page: Any) -> int:
    return int(page.locator("#editor").get_attribute("data-revision") or 0)


def _next_update(page: Any, after: int, timeout_s: float = 10.0) -> None:
    """Wait for the page to show a revision past `after` (polled: the page's CSP
    forbids the evaluated predicates wait_for_function uses)."""
    deadline = time.monotonic() + timeout_s
    while _revision(page) <= after:
        assert time.monotonic() < deadline, f"no update past revision {after}"
        page.wait_for_timeout(10)


def _score(page: Any) -> float:
    return float(page.locator("#editor-score").inner_text())


def test_a_writer_improves_a_question_with_the_editor(
    live_server: str, live_keys: dict[str, str], browser: Any
) -> None:
    context = browser.new_context()
    page = context.new_page()
    page.goto(f"{live_server}/editor")
    page.wait_for_url("**/login?next=/editor*")  # TANDEM_EDITOR_ACCESS=key (the default)
    log_in(page, live_keys["client"], "/editor")

    page.locator("#editor-title").fill(TITLE)
    page.locator("#editor-body").press_sequentially(BODY, delay=5)
    _next_update(page, 0)
    page.wait_for_timeout(400)  # any update still on its way lands
    before = _score(page)
    assert page.locator("#editor-words").inner_text() in (
        "probably unclear",
        "leaning unclear",
        "hard to tell",
    )
    marks = page.locator("#editor-highlights li")
    assert marks.count() >= 1
    for mark in page.locator("#editor-mirror mark").all():
        assert mark.inner_text() in BODY and mark.get_attribute("title")  # the reason
    advice = page.locator("#editor-suggestions li[data-suggestion]")
    ids = [advice.nth(i).get_attribute("data-suggestion") for i in range(advice.count())]
    assert "title_question" in ids and len(ids) >= 2
    other = next(i for i in ids if i != "title_question")

    followed = page.locator('#editor-suggestions li[data-suggestion="title_question"]')
    followed.get_by_role("button", name="helpful", exact=True).click()
    page.wait_for_selector(
        '#editor-suggestions li[data-suggestion="title_question"] '
        'button[aria-label="helpful"][aria-pressed="true"]'
    )
    rejected = page.locator(f'#editor-suggestions li[data-suggestion="{other}"]')
    rejected.get_by_role("button", name="not helpful").click()
    page.wait_for_selector(
        f'#editor-suggestions li[data-suggestion="{other}"] '
        'button[aria-label="not helpful"][aria-pressed="true"]'
    )

    at = _revision(page)
    page.locator("#editor-title").press("End")
    page.keyboard.type("?")  # as the suggestion advises: the title is a question
    _next_update(page, at)
    assert _score(page) > before
    assert page.locator('#editor-suggestions li[data-suggestion="title_question"]').count() == 0

    # The best of up to 3 rounds: a round on a machine busy with other tests can carry
    # their bursts; a page that is slow itself is slow in every round.
    rounds = []
    body = page.locator("#editor-body")
    for _ in range(3):
        page.evaluate("window.tandemEditor.timings.length = 0")
        for i in range(UPDATES):
            at = _revision(page)
            body.press("End")
            page.keyboard.type(f" Step {i} sorts again.")
            _next_update(page, at)
        timings = page.evaluate("window.tandemEditor.timings")
        p95 = float(np.percentile(timings, 95))
        p50 = float(np.median(timings))
        print(f"\nupdate after a pause: p50 {p50:.1f} ms, p95 {p95:.1f} ms, n={len(timings)}")
        rounds.append(p95)
        if p95 < P95_BUDGET_MS:
            break
    assert min(rounds) < P95_BUDGET_MS, f"p95 over {UPDATES} updates, each round: {rounds}"
    context.close()

    context = browser.new_context()
    page = context.new_page()
    page.goto(f"{live_server}/login?next=/report%3Fmodel%3Dml-editor")
    log_in(page, live_keys["reviewer"], "/report?model=ml-editor")
    row = page.locator('.usefulness tr[data-suggestion="title_question"]')
    assert row.locator(".helpful").inner_text() == "1 of 1"
    assert re.fullmatch(r"[1-9]\d* of \d+", row.locator(".followed").inner_text())
    other_row = page.locator(f'.usefulness tr[data-suggestion="{other}"]')
    assert other_row.locator(".helpful").inner_text() == "0 of 1"
    context.close()
