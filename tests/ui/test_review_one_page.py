"""/review/one without JavaScript: one claimed item at a time (the next claimed and
drawn ahead), every label of the model a button, and plain forms that decide, skip
with a reason, flag a bug and undo, each POST redirecting to the next item with the
page's filters kept. A request from the page's script gets the next item's HTML."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

from tests.conftest import predict, predict_digits

FRAGMENT = {"X-Review-Fragment": "1"}


def _current(html: str) -> str:
    """The review id of the item on screen."""
    part = html[html.index('id="one-current"') :]
    return re.findall(r'data-review-id="([^"]*)"', part)[0]


def _ahead(html: str) -> str:
    part = html[html.index('<template id="one-next">') :]
    return re.findall(r'data-review-id="([^"]*)"', part)[0]


def test_one_item_with_every_label_and_the_next_drawn_ahead(digits_client: TestClient) -> None:
    predict(digits_client)  # an ML Editor item, left out by the filter
    made = predict_digits(digits_client, 3)
    html = digits_client.get("/review/one?model=digits").text
    assert (_current(html), _ahead(html)) == (made[0]["review_id"], made[1]["review_id"])
    item = html[html.index('id="one-current"') : html.index('<template id="one-next">')]
    choices = re.findall(r'<button type="submit" name="label" value="([^"]+)" class="choice', item)
    assert choices == [str(d) for d in range(10)]  # all ten, in the model's order
    assert re.findall(r'data-key="(\d)"', item) == [str(k) for k in range(1, 10)]
    assert 'class="label-filter"' in item  # more than nine labels: type to filter
    assert f"Accept “{made[0]['label']}”" in item
    assert 'name="back" value="?model=digits"' in item
    assert '<script src="/static/review-one.js"></script>' in html
    assert "<script>" not in html  # nothing inline: the policy forbids it
    claims = [digits_client.get(f"/v1/reviews/{m['review_id']}").json() for m in made]
    assert [c["claimed_by"] for c in claims] == ["test-admin", "test-admin", None]
    listing = digits_client.get("/review?model=digits").text
    assert 'href="/review/one?model=digits" class="one-at-a-time"' in listing
    script = digits_client.get("/static/review-one.js")
    assert script.status_code == 200 and "javascript" in script.headers["content-type"]
    other = digits_client.get("/static/base.html")  # only the pages' scripts are served
    assert other.status_code == 404 and "review-one.js" in other.text


def test_decide_undo_skip_and_flag_with_plain_forms(review_client: TestClient) -> None:
    made = [predict(review_client) for _ in range(4)]
    rids = [m["review_id"] for m in made]
    html = review_client.get("/review/one?sort=least_confident").text
    first = _current(html)
    order = [first, _ahead(html)]
    # Decide: the next item, the filters kept, and an undo button for the decision.
    done = review_client.post(
        f"/review/one/{first}/decide",
        data={"label": "good", "comment": "by form", "back": "?sort=least_confident"},
        follow_redirects=False,
    )
    assert done.status_code == 303
    assert done.headers["location"] == f"/review/one?sort=least_confident&decided={first}"
    html = review_client.get(done.headers["location"]).text
    assert _current(html) == order[1] and "Decision saved" in html
    assert f'name="review_id" value="{first}"' in html
    stored = review_client.get(f"/v1/reviews/{first}").json()
    assert (stored["status"], stored["label"], stored["comment"]) == ("decided", "good", "by form")
    # Undo: pending again, shown first.
    undone = review_client.post(
        "/review/one/undo", data={"review_id": first}, follow_redirects=False
    )
    assert undone.status_code == 303 and undone.headers["location"] == f"/review/one?undone={first}"
    html = review_client.get(undone.headers["location"]).text
    assert _current(html) == first and "undone" in html
    assert review_client.get(f"/v1/reviews/{first}").json()["status"] == "pending"
    # Skip: the reason kept on the item, which this page no longer offers.
    skipped = review_client.post(
        f"/review/one/{first}/skip", data={"reason": "cannot tell"}, follow_redirects=False
    )
    assert skipped.headers["location"] == f"/review/one?skipped={first}"
    html = review_client.get(skipped.headers["location"]).text
    assert first not in (_current(html), _ahead(html))
    assert f'name="skipped" value="{first}"' in html  # carried by the next forms
    stored = review_client.get(f"/v1/reviews/{first}").json()
    assert (stored["claimed_by"], stored["comment"]) == (
        None,
        "skipped by test-reviewer: cannot tell",
    )
    # Flag: a bug report with the comment, the item still to decide.
    shown = _current(html)
    flagged = review_client.post(
        f"/review/one/{shown}/flag",
        data={"comment": "the title is cut off", "skipped": first},
        follow_redirects=False,
    )
    assert flagged.headers["location"] == f"/review/one?flagged={shown}&skipped={first}"
    assert _current(review_client.get(flagged.headers["location"]).text) == shown
    bugs = review_client.get("/v1/bugs").json()["bugs"]
    pid = next(m["id"] for m in made if m["review_id"] == shown)
    assert [(b["prediction_id"], b["comment"]) for b in bugs] == [(pid, "the title is cut off")]
    assert set(rids) >= {first, shown}


def test_the_script_gets_the_item_after_the_one_on_screen(review_client: TestClient) -> None:
    rids = [predict(review_client)["review_id"] for _ in range(4)]
    review_client.get("/review/one")  # holds the first two
    done = review_client.post(
        f"/review/one/{rids[0]}/decide",
        data={"label": "good", "showing": rids[1]},
        headers=FRAGMENT,
    )
    assert done.status_code == 200
    assert re.findall(r'class="card one-item" data-review-id="([^"]+)"', done.text) == [rids[2]]
    skipped = review_client.post(
        f"/review/one/{rids[1]}/skip",
        data={"reason": "later", "showing": rids[2]},
        headers=FRAGMENT,
    )
    assert re.findall(r'data-review-id="([^"]+)"', skipped.text) == [rids[3]]
    last = review_client.post(
        f"/review/one/{rids[2]}/decide",
        data={"label": "good", "showing": rids[3], "skipped": rids[1]},
        headers=FRAGMENT,
    )
    assert 'class="card one-item empty" data-review-id=""' in last.text  # none left
    params = {"showing": rids[3], "skipped": rids[1]}
    following = review_client.get("/review/one/next", params=params, headers=FRAGMENT)
    assert 'data-review-id=""' in following.text  # the skipped one is not offered again
    params = {"showing": rids[3]}
    following = review_client.get("/review/one/next", params=params, headers=FRAGMENT)
    assert re.findall(r'data-review-id="([^"]+)"', following.text) == [rids[1]]
    undone = review_client.post("/review/one/undo", data={"review_id": rids[0]}, headers=FRAGMENT)
    assert re.findall(r'data-review-id="([^"]+)"', undone.text) == [rids[0]]
    late = review_client.post("/review/one/undo", data={"review_id": rids[0]}, headers=FRAGMENT)
    assert late.status_code == 409 and "not decided" in late.text
