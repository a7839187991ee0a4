"""Script injection on every page, checked where it would run: in real headless Chromium
against the real server. Hostile text goes everywhere a person can type (prediction
input, feedback and bug comments, a review decision's comment, a bug's triage note,
every post-mortem field, a model card, a model's reviewer guidelines, the name of an API
key, the description of a concern in the monitoring file that an alert's evidence carries,
the name, feature names and labels of a model added with `tandem models add`) and every
page that shows text is visited: no payload script runs, no dialog opens, the text reads
as typed (an input field its family shows as HTML reads as its sanitised rendering).
`test_every_page_is_visited` fails when a page exists that this test skips."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import joblib
import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression

from tandem.app import create_app
from tandem.models.artifacts import ArtifactStore
from tandem.models.sklearn_adapter import package
from tandem.pages.docs import ASSETS, DOCS
from tandem.registry.versions import register
from tandem.settings import Settings
from tandem.store import open_store
from tandem.web.access import iter_routes
from tests.conftest import bearer, make_key
from tests.live import running_server
from tests.report.pdf_text import pdf_text
from tests.ui.chromium import chromium, log_in

PWN = "window.__pwned=1"
RTL = "\u202bשלום\u202c \u200fmark"


def hostile(tag: str, rtl: bool = True) -> str:
    """Markup that would run script in a text node and in an attribute, a template
    expression, math for matplotlib, and right-to-left marks; `tag` tells them apart."""
    text = f'{tag} <script>{PWN}</script>"><img src=x onerror="{PWN}"> {{{{7*7}}}} $\\bad$'
    return f"{text} {RTL}" if rtl else text


POSTMORTEM = ("pm-title", "summary", "why", "because", "timeline", "action", "owner")
"""Every field of a post-mortem a person writes, all shown on its page."""

# What is stored where (each a different text, so a page showing the wrong one fails).
TEXT = {
    tag: hostile(tag)
    for tag in (
        "title",
        "body",
        "bug",
        "incorrect",
        "decision",
        "note",
        *POSTMORTEM,
        "card",
        "concern",
        "guidelines",
    )
}
KEY = hostile("key", rtl=False)  # key names are printable text: no direction marks
# A model added with `tandem models add`: its feature names and labels (the classifier's
# classes, from the training data) are user text too. Its name is not: model names match
# ^[a-z0-9][a-z0-9._-]{0,63}$ (tests/hostile/test_names_and_files.py holds that rule).
MODEL = "hostile-model"
FEATURE = hostile("feature")
LABEL = f'<script>{PWN}</script>"><img src=x onerror="{PWN}">{{{{7*7}}}}$\\bad$\u202bשלום\u202c'
"""A class label holds at most 100 characters (every prediction stores one)."""

RENDERED_BODY = f'body "> {{{{7*7}}}} $\\bad$ {RTL}'
"""What a person reads of the hostile body where the ML Editor's view shows it as HTML
(sanitised): its text, with the script, the image and the tags gone."""
AS_HTML = frozenset({"/", "/review", "/predictions/{prediction_id}"})
"""Pages that show an input the way its family declares (the ML Editor's body as HTML)."""

PAGES: dict[str, tuple[str, ...]] = {
    "/": ("title", "body", "key", "model", "label", "guidelines"),  # redirects to /review
    "/login": (),
    "/about": ("model",),
    "/review": ("title", "body", "key", "model", "label", "guidelines"),
    "/review/one": ("model", "label"),  # the oldest claimed item: the hostile model's
    "/review/one/next": ("model", "label"),
    "/predictions/{prediction_id}": (
        "title",
        "body",
        "bug",
        "incorrect",
        "pm-title",
        "model",
        "feature",
        "label",
    ),
    "/models": ("model",),
    "/models/{name}/guidelines": ("guidelines", "key", "model"),
    "/models/{name}/{version}": ("card", "key", "model"),
    "/report": ("bug", "key", "model"),
    "/report/export.html": ("bug", "key", "model"),
    "/report/export.pdf": ("bug",),
    "/alerts": ("concern",),
    "/bugs": ("bug", "note", "key"),
    "/postmortems": ("pm-title", "key"),
    "/postmortems/{postmortem_id}": (*POSTMORTEM, "title", "body", "bug", "key"),
    "/monitor/drift": ("model", "feature"),
    "/monitor/quality": ("model",),
    "/editor": (),  # the writer's page shows no stored text until the writer types
}
"""Every page (GET route answering HTML or a document) and the stored texts it shows."""


def _text(tag: str, route: str = "") -> str:
    if tag == "body" and route in AS_HTML:
        return RENDERED_BODY
    return {"key": KEY, "model": MODEL, "feature": FEATURE, "label": LABEL}.get(tag) or TEXT[tag]


def _add_hostile_model(settings: Settings, folder: Path) -> None:
    """What `tandem models add` does, for a classifier trained on hostile labels."""
    rows = np.array([[0.0, 1.0], [1.0, 0.0], [0.1, 0.9], [0.9, 0.2]])
    model = LogisticRegression().fit(rows, [LABEL, "plain", LABEL, "plain"])
    joblib.dump(model, folder / "m.joblib")
    (folder / "s.json").write_text(json.dumps({"features": {FEATURE: "number", "x2": "number"}}))
    np.save(folder / "r.npy", np.repeat(rows, 10, axis=0))  # its drift reference
    trained = package(folder / "m.joblib", folder / "s.json", folder / "r.npy")
    store = open_store(settings.resolved_database_url)
    try:
        register(store, ArtifactStore(settings.artifacts_dir), MODEL, trained, {}, True)
    finally:
        store.close()


def _page_routes(settings: Settings) -> set[str]:
    """The app's pages: GET routes that are not in the JSON API's schema or the docs."""
    app = create_app(settings)
    app.state.store.close()  # never started: only its routes are read
    api = set(app.openapi()["paths"])
    docs = {app.openapi_url, DOCS, f"{ASSETS}/{{name}}", "/redoc"}
    return {
        r.path
        for r in iter_routes(app)
        if "GET" in r.methods
        and r.path not in api
        and r.path not in docs
        and not r.path.startswith("/static/")  # scripts, not pages
    }


def test_every_page_is_visited(settings: Settings) -> None:
    pages = _page_routes(settings)
    missing = pages - set(PAGES)
    assert not missing, f"pages the hostile browser test does not visit: {sorted(missing)}"
    assert set(PAGES) <= pages, "PAGES names a route that no longer exists"


def _store_hostile_text(http: httpx.Client) -> dict[str, str]:
    """Everything a person can type, through the API; returns the ids the pages need."""

    def ok(response: httpx.Response) -> Any:
        assert response.status_code in (200, 201), response.text
        return response.json()

    row = {FEATURE: 0.2, "x2": 0.7}
    added = ok(http.post("/v1/predict", json={"model": MODEL, "input": row}))
    assert (added["model"], added["label"]) == (MODEL, LABEL)
    sent = {"title": TEXT["title"], "body": TEXT["body"]}
    p = ok(http.post("/v1/predict", json={"model": "ml-editor", "input": sent}))
    assert ok(http.get(f"/v1/predictions/{p['id']}"))["input"] == sent
    decided = ok(http.post("/v1/predict", json={"model": "ml-editor", "input": sent}))
    ok(
        http.post(
            f"/v1/reviews/{decided['review_id']}/decision",
            json={"label": decided["label"], "comment": TEXT["decision"]},
        )
    )
    bug = ok(
        http.post(
            f"/v1/predictions/{p['id']}/feedback", json={"kind": "bug", "comment": TEXT["bug"]}
        )
    )
    ok(
        http.post(
            f"/v1/predictions/{p['id']}/feedback",
            json={"kind": "incorrect", "comment": TEXT["incorrect"]},
        )
    )
    ok(http.patch(f"/v1/bugs/{bug['id']}", json={"status": "triaged", "note": TEXT["note"]}))
    pm = ok(
        http.post(
            "/v1/postmortems",
            json={"title": TEXT["pm-title"], "prediction_ids": [p["id"]], "summary": "x"},
        )
    )
    why = {"why": TEXT["why"], "because": TEXT["because"]}
    ok(http.patch(f"/v1/postmortems/{pm['id']}", json={"summary": TEXT["summary"], "whys": [why]}))
    ok(http.post(f"/v1/postmortems/{pm['id']}/timeline", json={"text": TEXT["timeline"]}))
    ok(
        http.post(
            f"/v1/postmortems/{pm['id']}/actions",
            json={"text": TEXT["action"], "owner": TEXT["owner"]},
        )
    )
    card = f"/v1/models/ml-editor/versions/{p['model_version']}/card"
    ok(http.put(card, json={"sections": {"limitations": TEXT["card"]}}))
    guidelines = ok(
        http.put("/v1/models/ml-editor/guidelines", json={"markdown": TEXT["guidelines"]})
    )
    assert guidelines["edited_by"] == KEY
    fired = ok(http.post("/v1/alerts/check"))["transitions"]
    assert [t["alert"]["rule"] for t in fired] == ["bugs_reported"], fired
    assert fired[0]["alert"]["evidence"]["description"] == TEXT["concern"]
    stored = ok(http.get(f"/v1/reviews/{decided['review_id']}"))
    assert (stored["reviewer"], stored["comment"]) == (KEY, TEXT["decision"])
    return {
        "prediction_id": f"{p['id']}\n{added['id']}",
        "postmortem_id": pm["id"],
        "name": f"ml-editor\n{MODEL}",
        "version": f"{p['model_version']}\n{added['model_version']}",
    }


def _urls(route: str, ids: dict[str, str]) -> list[str]:
    """The route's pages: one per id where `ids` holds several (one a line)."""
    if route.startswith("/monitor/"):
        return [f"{route}?model={quote(m, safe='')}" for m in ("ml-editor", MODEL)]
    names = re.findall(r"\{(\w+)\}", route)
    choices = [ids[n].split("\n") for n in names]
    urls = []
    for values in zip(*choices, strict=True) if names else [()]:
        url = route
        for name, value in zip(names, values, strict=True):
            url = url.replace(f"{{{name}}}", quote(value, safe=""))
        urls.append(url)
    return urls


def _visit(page: Any, url: str, route: str, dialogs: list[str]) -> str:
    """Open one page; returns what a person reads on it, and what its form fields hold
    (editable text: a card, a summary, the whys, a triage note) as they give it back."""
    if route.startswith("/report/export."):
        # Downloads: the HTML file is opened as a page, the PDF read as text.
        response = page.request.get(url)
        assert response.status == 200, (route, response.text())
        if route.endswith(".pdf"):
            return pdf_text(response.body())
        page.set_content(response.text())
    else:
        response = page.goto(url)
        assert response is not None and response.status == 200, (url, response)
        assert "Traceback" not in page.content(), url
    _no_script_ran(page, dialogs, url)
    fields = page.evaluate("[...document.querySelectorAll('input, textarea')].map(e => e.value)")
    return "\n".join([page.locator("body").inner_text(), *fields])


def _no_script_ran(page: Any, dialogs: list[str], where: str) -> None:
    page.wait_for_timeout(150)  # an onerror handler runs after the failed image load
    assert page.evaluate("window.__pwned") is None, where
    assert dialogs == [], where
    assert page.locator('img[src="x"]').count() == 0, where
    scripts = page.evaluate("[...document.scripts].map(s => s.text)")
    assert not [s for s in scripts if "__pwned" in s], where


@pytest.mark.browser
@pytest.mark.server
def test_hostile_text_is_shown_as_text_on_every_page(
    trained_home: Settings, tmp_path: Path
) -> None:
    key = make_key(trained_home, "admin", KEY)  # a key name that is markup
    _add_hostile_model(trained_home, tmp_path)
    concerns = tmp_path / "monitoring.toml"
    concerns.write_text(
        '[[concerns]]\nname = "bugs_reported"\nsource = "feedback"\nmeasure = "count"\n'
        f'where = {{ kind = "bug" }}\nwindow = "all"\nmax = 0\n'
        f"description = {json.dumps(TEXT['concern'])}\n"  # a JSON string is a TOML one
    )
    with (
        running_server(
            trained_home,
            review_threshold="1.0",
            latency_budget_ms="60000",
            concerns_file=str(concerns),
            alert_interval_s="3600",
            drift_min_rows="1",  # drift (plots named after features) from one live row
        ) as server,
        chromium() as browser,
        httpx.Client(base_url=server.url, timeout=60, headers=bearer(key)) as http,
    ):
        ids = _store_hostile_text(http)
        dialogs: list[str] = []
        page = browser.new_page()
        page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
        page.goto(f"{server.url}/login?next=/about")
        log_in(page, key, "/about")

        shown: dict[str, str] = {}
        for route in PAGES:
            urls = [f"{server.url}{url}" for url in _urls(route, ids)]
            shown[route] = "\n".join(_visit(page, url, route, dialogs) for url in urls)

        problems = [
            f"{route}: {tag!r} not shown as typed"
            for route, tags in PAGES.items()
            for tag in tags
            if _text(tag, route) not in shown[route]
            # The PDF has no font for Hebrew: its text is checked up to the marks.
            and not (route.endswith(".pdf") and _text(tag).split(" \u202b")[0] in shown[route])
        ]
        assert not problems, "\n".join(problems)
