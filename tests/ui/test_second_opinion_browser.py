"""A second opinion and an adjudication on the pages, in real headless Chromium: two
reviewers disagree without seeing each other's answer, and an admin settles it."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import httpx
import pytest

from tandem.settings import Settings
from tests.conftest import (
    QUESTION,
    _wait_healthy,
    bearer,
    env_for,
    free_port,
    make_key,
    tandem_serve,
)
from tests.ui.chromium import chromium, log_in

pytestmark = [pytest.mark.browser, pytest.mark.server]


@pytest.fixture
def served(trained_home: Settings) -> Iterator[tuple[str, dict[str, str]]]:
    """`tandem serve` on the ML Editor, every prediction to review and every first
    decision to a second reviewer; a key for each person."""
    people = {
        "client": "client",
        "rina": "reviewer",
        "sami": "reviewer",
        "chief": "admin",
    }
    keys = {name: make_key(trained_home, role, name) for name, role in people.items()}
    env = {
        **env_for(trained_home),
        "TANDEM_REVIEW_THRESHOLD": "1.0",
        "TANDEM_HOLDOUT_RATE": "0",
        "TANDEM_SECOND_OPINION_RATE": "1",
    }
    port = free_port()
    log_path = trained_home.home.parent / "serve.log"
    with tandem_serve(env, port, log_path) as proc:
        url = f"http://127.0.0.1:{port}"
        _wait_healthy(proc, url, log_path)
        yield url, keys


def _review_page(browser: Any, url: str, key: str, query: str = "") -> tuple[Any, Any]:
    context = browser.new_context()
    page = context.new_page()
    page.goto(f"{url}/login?next={quote(f'/review{query}')}")
    log_in(page, key, f"/review{query}")
    return context, page


def test_two_reviewers_disagree_and_an_admin_adjudicates(
    served: tuple[str, dict[str, str]],
) -> None:
    url, keys = served
    with httpx.Client(base_url=url, headers=bearer(keys["client"])) as http:
        p = http.post("/v1/predict", json={"model": "ml-editor", "input": QUESTION}).json()
    other = next(a["label"] for a in p["alternatives"] if a["label"] != p["label"])

    with chromium() as browser:
        # The first reviewer accepts the model's label.
        context, page = _review_page(browser, url, keys["rina"])
        page.locator(f'[data-review-id="{p["review_id"]}"]').get_by_role(
            "button", name=f"Accept “{p['label']}”"
        ).click()
        page.wait_for_url("**/review?decided=*")
        # The item came back as a second opinion, which is not hers to give.
        assert page.locator(".review-item").count() == 0
        context.close()

        # The second reviewer gets it, with nothing of the first answer, and disagrees.
        context, page = _review_page(browser, url, keys["sami"])
        item = page.locator(".review-item")
        assert item.count() == 1
        assert "reason: second_opinion" in item.inner_text()
        assert "rina" not in page.content()
        page.goto(f"{url}/predictions/{p['id']}")
        assert "hidden while a second opinion is pending" in page.content()
        assert "rina" not in page.content()
        page.goto(f"{url}/review")
        page.locator(".review-item").get_by_role("button", name=f"Change to “{other}”").click()
        page.wait_for_url("**/review?decided=*")
        assert page.locator(".review-item").count() == 0  # the adjudication is not his
        refused = page.goto(f"{url}/review?reason=adjudication")
        assert refused is not None and refused.status == 403
        assert "only an admin" in page.content()
        context.close()

        # The admin sees both answers and settles it.
        context, page = _review_page(browser, url, keys["chief"], "?reason=adjudication")
        item = page.locator(".review-item")
        assert "reason: adjudication" in item.inner_text()
        answers = dict(
            zip(
                item.locator(".answer-author").all_inner_texts(),
                item.locator(".answer-label").all_inner_texts(),
                strict=True,
            )
        )
        assert answers == {"rina": p["label"], "sami": other}
        item.get_by_role("button", name=f"Change to “{other}”").click()
        page.wait_for_url("**/review?decided=*")
        page.goto(f"{url}/monitor/quality?model=ml-editor")
        stats = page.locator(".reviewer-stats")
        assert "rina & sami" in stats.inner_text() and "too few to tell" in stats.inner_text()
        context.close()

    with httpx.Client(base_url=url, headers=bearer(keys["rina"])) as http:
        detail = http.get(f"/v1/predictions/{p['id']}").json()
    final = detail["final_label"]
    assert (final["label"], final["source"], final["author"]) == (other, "adjudication", "chief")
    assert [d["author"] for d in detail["disagreements"]] == ["rina"]
