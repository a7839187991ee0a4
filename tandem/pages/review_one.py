"""/review/one: the review queue one item at a time, keyboard first.

Every key stands for a button or a form on the page, so the page works without
JavaScript (POST, then redirect to the next item). With static/review-one.js the
keys work and a decision is sent in the background: the next item, claimed and
rendered ahead while the reviewer looks at the current one, is shown at once. A
request from that script (header X-Review-Fragment) is answered with the HTML of the
item to fetch ahead rather than a redirect."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Annotated, Any
from urllib.parse import parse_qsl, urlencode

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import BaseModel, Field

from tandem.auth.roles import Principal
from tandem.domain import Prediction, ReviewItem
from tandem.pages.inputs import guidelines_of, view_of
from tandem.pages.review import _FILTERS, Decision
from tandem.pages.templating import templates
from tandem.review.claims import ClaimAsk
from tandem.review.queue import Aim, QueueAsk
from tandem.web.access import PageReviewer
from tandem.web.state import Services, Svc, served_labels

router = APIRouter(include_in_schema=False)

ONE_BATCH = 2
"""Items claimed at a time: the one shown and the next, held while the reviewer looks
at the first so the next needs no claim when it is wanted."""
SKIPPED_KEPT = 50
"""Skipped items a page remembers (and does not offer again); older skips may return."""
FRAGMENT = "x-review-fragment"

Rows = list[tuple[ReviewItem, Prediction]]


class Place(BaseModel):
    """Where the reviewer is, as every form and fetch of the page carries it: `back`,
    the page's query string (its filters); the items skipped; the one on screen."""

    back: str = Field(default="", max_length=2000)
    skipped: list[str] = Field(default_factory=list, max_length=SKIPPED_KEPT * 2)
    showing: str = Field(default="", max_length=32)


def _filters(back: str) -> dict[str, str]:
    """The known filters of a page's query string (anything else is dropped, so a
    form cannot send the reviewer elsewhere)."""
    return {k: v for k, v in parse_qsl(back.lstrip("?")) if k in _FILTERS and v}


def _aim(svc: Services, filters: dict[str, str]) -> Aim:
    asked = QueueAsk(
        model=filters.get("model"),
        reason=filters.get("reason"),
        label=filters.get("label"),
        sort=filters.get("sort") or "oldest",
    )
    return svc.reviews.aim(served_labels(svc), asked)


def _kept(skipped: list[str]) -> list[str]:
    """The most recent skips, each an id's length at most."""
    return [s for s in skipped if s and len(s) <= 32][-SKIPPED_KEPT:]


def _claim(svc: Services, who: Principal, aim: Aim, skipped: list[str], showing: set[str]) -> Rows:
    """The reviewer's held items (the aimed queue's next topped up), but for those
    skipped and those already on their screen."""
    _until, rows = svc.reviews.claim(
        ClaimAsk(who.name, ONE_BATCH, aim, who.role.value, exclude=skipped)
    )
    return [row for row in rows if row[0].id not in showing]


def _choices(svc: Services, p: Prediction) -> list[tuple[str, float]]:
    """Every label of the model with its probability, in the model's own label order
    (so a key means the same label on every item); else most probable first."""
    probability = {str(a["label"]): float(a["probability"]) for a in p.alternatives}
    order = served_labels(svc).get(p.model, ())
    if set(order) != set(probability):
        order = tuple(probability)
    return [(label, probability[label]) for label in order]


def _item(svc: Services, rows: Rows) -> dict[str, Any] | None:
    """What the item macro needs to draw the first of `rows` (None: nothing left)."""
    if not rows:
        return None
    item, p = rows[0]
    return {
        "item": item,
        "p": p,
        "view": view_of(svc, p),
        "choices": _choices(svc, p),
        "answers": svc.reviews.answers(item),
        "guidelines": guidelines_of(svc, [p.model]).get(p.model),
    }


def _fragment(request: Request, svc: Services, rows: Rows, filters: dict[str, str]) -> Response:
    here = _query(filters)
    return templates.TemplateResponse(
        request, "review_one_fragment.html", {"one": _item(svc, rows), "here": here}
    )


def _query(params: dict[str, str], *more: tuple[str, str]) -> str:
    pairs = [*((k, v) for k, v in params.items() if v), *more]
    return f"?{urlencode(pairs)}" if pairs else ""


@dataclass
class Action:
    """A form the page sends about an item: who sends it, from where (`place`), and
    what it is answered with."""

    request: Request
    svc: Services
    who: Principal
    place: Place

    @property
    def fetched(self) -> bool:
        """Sent by the page's script, which wants HTML back rather than a redirect."""
        return bool(self.request.headers.get(FRAGMENT))

    def answer(self, **flash: str) -> Response:
        """The next item's HTML for the script; the page (redirect) for a plain form."""
        filters = _filters(self.place.back)
        skipped = _kept(self.place.skipped)
        if self.fetched:
            shown = {self.place.showing} if self.place.showing else set()
            rows = _claim(self.svc, self.who, _aim(self.svc, filters), skipped, shown)
            return _fragment(self.request, self.svc, rows, filters)
        extra = [*flash.items(), *(("skipped", s) for s in skipped)]
        return RedirectResponse("/review/one" + _query(filters, *extra), status_code=303)


def _action(
    request: Request, svc: Svc, who: PageReviewer, place: Annotated[Place, Form()]
) -> Action:
    """What every action route needs, read once: the route names only its own fields."""
    return Action(request, svc, who, place)


PageAction = Annotated[Action, Depends(_action)]


@router.get("/review/one", response_class=HTMLResponse)
def review_one(
    request: Request,
    svc: Svc,
    who: PageReviewer,
    model: Annotated[str | None, Query(max_length=100)] = None,
    reason: Annotated[str | None, Query(max_length=32)] = None,
    label: Annotated[str | None, Query(max_length=100)] = None,
    sort: Annotated[str, Query(max_length=32)] = "oldest",
    skipped: Annotated[list[str] | None, Query(max_length=SKIPPED_KEPT * 2)] = None,
    decided: Annotated[str | None, Query(max_length=32)] = None,
    undone: Annotated[str | None, Query(max_length=32)] = None,
    flagged: Annotated[str | None, Query(max_length=32)] = None,
) -> Response:
    """One claimed item of the aimed queue (the filters of /review), the next one
    claimed and drawn ahead. `decided`, `undone`, `flagged`: what the last form did."""
    filters = {"model": model, "reason": reason, "label": label, "sort": sort}
    aim = _aim(svc, {k: v for k, v in filters.items() if v})
    kept = {"model": aim.where.model, "reason": aim.where.reason, "label": aim.where.label}
    shown = {k: v for k, v in {**kept, "sort": aim.sort}.items() if v and v != "oldest"}
    skips = _kept(skipped or [])
    rows = _claim(svc, who, aim, skips, set())
    first = undone or flagged
    rows.sort(key=lambda row: row[0].id != first)  # the item just undone or flagged first
    return templates.TemplateResponse(
        request,
        "review_one.html",
        {
            "one": _item(svc, rows),
            "ahead": _item(svc, rows[1:]),
            "filters": {k: v for k, v in kept.items() if v},
            "here": _query(shown),
            "skipped": skips,
            "decided": decided,
            "undone": undone,
            "flagged": flagged,
            "reviewer": who.name,
        },
    )


@router.get("/review/one/next", response_class=HTMLResponse)
def next_item(
    request: Request, svc: Svc, who: PageReviewer, place: Annotated[Place, Query()]
) -> Response:
    """The HTML of the item after `showing` (the one on the reviewer's screen)."""
    filters = _filters(place.back)
    shown = {place.showing} if place.showing else set()
    rows = _claim(svc, who, _aim(svc, filters), _kept(place.skipped), shown)
    return _fragment(request, svc, rows, filters)


@router.post("/review/one/undo", response_class=HTMLResponse)
def undo_one(action: PageAction, review_id: Annotated[str, Form(max_length=32)]) -> Response:
    """Take back the reviewer's last decision (within 60 s): the item is shown again."""
    svc = action.svc
    svc.reviews.undo(review_id, action.who.name)
    if action.fetched:
        rows = [svc.reviews.review(review_id)]
        return _fragment(action.request, svc, rows, _filters(action.place.back))
    return action.answer(undone=review_id)


@router.post("/review/one/{review_id}/decide", response_class=HTMLResponse)
def decide_one(
    action: PageAction, review_id: str, decision: Annotated[Decision, Form()]
) -> Response:
    """The same decision as /review's."""
    decision.record(action.svc, action.who, review_id)
    return action.answer(decided=review_id)


@router.post("/review/one/{review_id}/skip", response_class=HTMLResponse)
def skip_one(
    action: PageAction, review_id: str, reason: Annotated[str, Form(max_length=500)] = ""
) -> Response:
    """Pass on the item: it goes back to the queue with the reason, and this page does
    not offer it again."""
    action.svc.reviews.skip(review_id, action.who.name, reason)
    skips = [*(s for s in action.place.skipped if s != review_id), review_id]
    place = action.place.model_copy(update={"skipped": skips})
    return replace(action, place=place).answer()


@router.post("/review/one/{review_id}/flag", response_class=HTMLResponse)
def flag_one(
    action: PageAction, review_id: str, comment: Annotated[str, Form(max_length=5000)] = ""
) -> Response:
    """File a bug report on the item's prediction (it lands on /bugs for triage); the
    item stays with the reviewer to decide."""
    svc, who = action.svc, action.who
    _held, p = svc.reviews.review(review_id)
    bug, _label = svc.reviews.add_feedback(
        p.id, "bug", None, comment.strip() or None, who.name, who.role.value
    )
    if action.fetched:
        return HTMLResponse(f"Bug report {bug.id} filed.")
    return action.answer(flagged=review_id)
