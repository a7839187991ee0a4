"""/review/one in real headless Chromium, driven by key presses only: a label by its
number, a label past the ninth by typing to filter, Enter to accept, s to skip with a
reason, f to flag a bug, u to undo, ? for the keys. The next item is fetched ahead,
so it is on screen within 100 ms of a decision (measured in the page)."""

from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from tandem.models.interface import TrainedArtifact
from tandem.settings import Settings
from tests.conftest import bearer, make_key, predict_digits, register_production
from tests.live import running_server
from tests.ui.chromium import chromium, log_in

pytestmark = [pytest.mark.browser, pytest.mark.server]

NEXT_ITEM_MS = 100.0

MEASURE = """() => {
  // Each keydown's time; when the item on screen changes, the time since the last key
  // press, taken once the change is painted (the next animation frame).
  window.__pressed = null;
  window.__shown = [];
  document.addEventListener("keydown", (e) => { window.__pressed = e.timeStamp; }, true);
  const box = document.getElementById("one-current");
  new MutationObserver(() => {
    const from = window.__pressed;
    if (from === null) return;
    window.__pressed = null;
    requestAnimationFrame(() => window.__shown.push(performance.now() - from));
  }).observe(box, { childList: true });
}"""


@pytest.fixture
def server(trained_home: Settings, digits_artifact: TrainedArtifact) -> Iterator[tuple[str, str]]:
    """Digits (ten labels) in production, every prediction to review: (url, admin key)."""
    from tandem_examples.digits.family import family as digits

    register_production(trained_home, "digits", digits_artifact, digits.card_defaults())
    admin = make_key(trained_home, "admin", "kb-admin")
    with running_server(trained_home, review_threshold="1.0", holdout_rate="0") as s:
        yield s.url, admin


@dataclass
class Reviewing:
    url: str
    http: httpx.Client  # an admin's
    page: Any  # logged in as the reviewer, on /review/one?model=digits
    made: list[dict[str, Any]]  # the predictions sent to review before the page opened
    problems: list[str]  # script errors on the page, and what the policy refused


@contextmanager
def _reviewing(
    server: tuple[str, str], home: Settings, reviewer: str, items: int, javascript: bool = True
) -> Iterator[Reviewing]:
    """`items` digits predictions, then a browser page logged in as `reviewer` on the
    one-item review page."""
    url, admin = server
    key = make_key(home, "reviewer", reviewer)
    with httpx.Client(base_url=url, timeout=30, headers=bearer(admin)) as http, chromium() as b:
        made = predict_digits(http, items)
        page = b.new_context(java_script_enabled=javascript).new_page()
        problems: list[str] = []
        page.on("pageerror", lambda error: problems.append(str(error)))
        page.on(
            "console",
            lambda m: problems.append(m.text) if "Content Security Policy" in m.text else None,
        )
        page.goto(f"{url}/login?next=/review/one?model=digits")
        log_in(page, key, "/review/one?model=digits")
        yield Reviewing(url, http, page, made, problems)


def _on_screen(page: Any) -> str:
    return str(page.locator("#one-current .one-item").get_attribute("data-review-id"))


def _ready(page: Any, was: str | None = None) -> str:
    """Wait until an item other than `was` is on screen and the next one is fetched."""
    if was is not None:
        page.wait_for_function(
            "(was) => document.querySelector('#one-current .one-item').dataset.reviewId !== was",
            arg=was,
        )
    page.wait_for_selector('#one-current[data-next="ready"]')
    return _on_screen(page)


def _p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[max(0, math.ceil(0.95 * len(ordered)) - 1)]


def _shown_ms(page: Any) -> list[float]:
    page.wait_for_function("(n) => window.__shown.length >= n", arg=1)
    values: list[float] = page.evaluate("window.__shown.splice(0)")
    return values


def test_a_reviewer_works_the_queue_by_keyboard_only(
    server: tuple[str, str], trained_home: Settings
) -> None:
    with _reviewing(server, trained_home, "kb-reviewer", 11) as r:
        url, http, page = r.url, r.http, r.page
        made = {m["review_id"]: m for m in r.made}
        page.evaluate(MEASURE)
        timings: list[float] = []

        # 3: the third label of the model's ten ("2").
        a = _ready(page)
        assert page.locator("#one-current button.choice").count() == 10
        page.keyboard.press("3")
        b_id = _ready(page, a)
        timings += _shown_ms(page)
        # A label past the ninth: "/" opens the filter, "9" narrows it, Enter chooses.
        page.keyboard.press("/")
        page.keyboard.type("9")
        shown = "li:not([hidden]) > button.choice"
        assert page.locator(f"#one-current {shown}").evaluate_all("bs => bs.map(b => b.value)") == [
            "9"
        ]
        page.keyboard.press("Enter")
        c = _ready(page, b_id)
        timings += _shown_ms(page)
        # Enter: the model's own label.
        page.keyboard.press("Enter")
        d = _ready(page, c)
        timings += _shown_ms(page)
        # s: skip with a reason.
        page.keyboard.press("s")
        page.keyboard.type("smudged scan")
        page.keyboard.press("Enter")
        e = _ready(page, d)
        timings += _shown_ms(page)
        # f: flag a bug with a comment; the item stays on screen.
        page.keyboard.press("f")
        page.keyboard.type("the heat map is blank")
        page.keyboard.press("Enter")
        page.wait_for_selector("#one-status:has-text('Bug report')")
        assert _on_screen(page) == e
        # u: the last decision (Enter on c) taken back; c is on screen again.
        page.keyboard.press("u")
        assert _ready(page, e) == c
        page.wait_for_selector("#one-status:has-text('undone')")
        assert http.get(f"/v1/reviews/{c}").json()["status"] == "pending"
        _shown_ms(page)  # undo waits for the server: not timed
        page.keyboard.press("1")
        assert _ready(page, c) == e
        timings += _shown_ms(page)
        # ?: the keys.
        assert not page.locator("#keys-help table").is_visible()
        page.keyboard.press("?")
        assert page.locator("#keys-help table").is_visible()
        assert "undo the last decision" in page.locator("#keys-help").inner_text()
        # More decisions by number, for the timing.
        seen = []
        for key in "2468":
            on = _on_screen(page)
            page.keyboard.press(key)
            seen.append(_ready(page, on))
            timings += _shown_ms(page)
        page.wait_for_function("() => !document.querySelector('#undo-form').hidden")

        stored = {rid: http.get(f"/v1/reviews/{rid}").json() for rid in (a, b_id, c, d, e)}
        assert (stored[a]["status"], stored[a]["label"]) == ("decided", "2")
        assert (stored[b_id]["status"], stored[b_id]["label"]) == ("decided", "9")
        assert (stored[c]["label"], stored[c]["reviewer"]) == ("0", "kb-reviewer")
        # The undone accept's label is withdrawn, not kept beside the new one.
        lookup = http.get(f"/v1/predictions/{made[c]['id']}").json()
        assert (lookup["final_label"]["label"], lookup["disagreements"]) == ("0", [])
        assert (stored[d]["status"], stored[d]["claimed_by"]) == ("pending", None)
        assert stored[d]["comment"] == "skipped by kb-reviewer: smudged scan"
        assert stored[e]["label"] == "1"
        bugs = http.get("/v1/bugs").json()["bugs"]
        assert [(x["prediction_id"], x["comment"]) for x in bugs] == [
            (made[e]["id"], "the heat map is blank")
        ]
        assert d not in seen  # the skipped item is not offered again
        assert r.problems == []  # no script error, nothing the policy refused

        # Within 100 ms at p95; the best of up to 3 tries (as the other timing tests):
        # a loaded machine may stall any one run.
        best = _p95(timings)
        for start in (11, 23):
            if best <= NEXT_ITEM_MS:
                break
            predict_digits(http, 12, start)
            page.goto(f"{url}/review/one?model=digits")
            page.evaluate(MEASURE)
            run = []
            for _ in range(8):
                on = _ready(page)
                page.keyboard.press("Enter")
                _ready(page, on)
                run += _shown_ms(page)
            best = min(best, _p95(run))
        print(f"next item on screen after a decision: p95 {best:.1f} ms")
        assert best <= NEXT_ITEM_MS, (best, timings)


def test_without_javascript_the_buttons_do_it_all(
    server: tuple[str, str], trained_home: Settings
) -> None:
    with _reviewing(server, trained_home, "nojs-reviewer", 3, javascript=False) as r:
        http, page, made = r.http, r.page, r.made
        first = _on_screen(page)
        assert first == made[0]["review_id"]
        assert page.locator("#one-current .label-filter").is_hidden()  # a script's aid only
        page.locator('#one-current button.choice[value="9"]').click()  # the tenth label
        page.wait_for_url(f"**/review/one?model=digits&decided={first}")
        assert _on_screen(page) == made[1]["review_id"]
        page.get_by_role("button", name="Undo the last decision").click()
        page.wait_for_url(f"**/review/one?model=digits&undone={first}")
        assert _on_screen(page) == first
        page.locator("#one-current details.skip summary").click()
        page.locator('#one-current input[name="reason"]').fill("too faint")
        page.get_by_role("button", name="Skip this item").click()
        page.wait_for_url(f"**/review/one?model=digits&skipped={first}")
        assert _on_screen(page) == made[1]["review_id"]
        stored = http.get(f"/v1/reviews/{first}").json()
        assert (stored["status"], stored["comment"]) == (
            "pending",
            "skipped by nojs-reviewer: too faint",
        )
        assert http.get(f"/v1/predictions/{made[0]['id']}").json()["final_label"] is None
