"""The whole loop over real HTTP against the real server process."""

from __future__ import annotations

import httpx
import pytest

from tests.conftest import ANSWER_ONLY, QUESTION, as_logged, bearer

pytestmark = pytest.mark.server


def test_predict_review_feedback_over_http(live_server: str, live_keys: dict[str, str]) -> None:
    app = httpx.Client(base_url=live_server, timeout=10, headers=bearer(live_keys["client"]))
    person = httpx.Client(base_url=live_server, timeout=10, headers=bearer(live_keys["reviewer"]))
    with app, person as http:
        prediction = app.post("/v1/predict", json={"model": "ml-editor", "input": QUESTION})
        assert prediction.status_code == 200
        p = prediction.json()
        assert p["route"] == "review" and p["review_id"]

        pending = http.get("/v1/reviews", params={"status": "pending", "limit": 500}).json()
        assert p["review_id"] in [i["id"] for i in pending["items"]]

        other = next(a["label"] for a in p["alternatives"] if a["label"] != p["label"])
        decided = http.post(
            f"/v1/reviews/{p['review_id']}/decision",
            json={"label": other, "comment": "checked"},
        )
        assert decided.status_code == 200 and decided.json()["label"] == other
        assert decided.json()["reviewer"] == "live-reviewer"

        feedback = app.post(
            f"/v1/predictions/{p['id']}/feedback",
            json={"kind": "bug", "comment": "suggestion is odd"},
        )
        assert feedback.status_code == 201

        logged = http.get(f"/v1/predictions/{p['id']}").json()
        assert as_logged(logged) == {k: v for k, v in p.items() if k not in ANSWER_ONLY}
        kinds = [f["kind"] for f in http.get(f"/v1/predictions/{p['id']}/feedback").json()]
        assert kinds == ["bug"]


def test_pages_are_served(live_server: str, live_keys: dict[str, str]) -> None:
    with httpx.Client(base_url=live_server, timeout=10) as http:
        assert http.get("/review").headers["location"].startswith("/login")
        assert http.get("/review", headers=bearer(live_keys["reviewer"])).status_code == 200
        assert "CC BY-SA" in http.get("/about").text
        assert http.get("/v1/reviews", headers=bearer(live_keys["client"])).status_code == 403
