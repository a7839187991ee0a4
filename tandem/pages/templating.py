"""The one Jinja2 environment every page renders with (autoescaping on)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from fastapi import Request
from fastapi.responses import Response
from fastapi.templating import Jinja2Templates
from markupsafe import Markup, escape

from tandem.auth.roles import Principal
from tandem.errors import TandemError
from tandem.models.sklearn_adapter import SklearnFamily
from tandem.web.access import authenticate, current_principal
from tandem.web.markup import clean_html, has_markup

templates = Jinja2Templates(directory=str(Path(__file__).parent / "templates"))


def max_abs(explanation: list[dict[str, Any]]) -> float:
    """The scale of an explanation's bars and heat maps (never 0)."""
    return max((abs(float(e["contribution"])) for e in explanation), default=1.0) or 1.0


templates.env.globals["max_abs"] = max_abs


def signed_in(request: Request) -> Principal | None:
    """The logged-in principal, for the header: set by the page's role check, or
    looked up from the cookie on public pages (a cache hit after the first)."""
    return current_principal(request) or authenticate(request)


templates.env.globals["signed_in"] = signed_in

ADD_SAVED_MODEL = "tandem models add NAME --sklearn MODEL.joblib --schema SCHEMA.json"


def model_setup(request: Request) -> list[str]:
    """While no model is in production, the commands that would put one there (a
    `tandem train` per installed family, and adding a saved model); else nothing."""
    svc = request.app.state.services
    if any(v.status == "production" for v in svc.registry.versions()):
        return []
    installed = sorted(n for n, f in svc.families.items() if not isinstance(f, SklearnFamily))
    return [f"tandem train {name}" for name in installed] + [ADD_SAVED_MODEL]


templates.env.globals["model_setup"] = model_setup

_URL = re.compile(r"https?://[^\s<>\"']+[^\s<>\"'.,;:!?)]")


def linked(text: str) -> Markup:
    """Plain text escaped, with its http(s) addresses as links: how a model family's
    attribution is shown, so a family cannot put markup on the page."""
    out, end = [], 0
    for m in _URL.finditer(text):
        out += [escape(text[end : m.start()]), Markup('<a href="{0}">{0}</a>').format(m[0])]
        end = m.end()
    out.append(escape(text[end:]))
    return Markup("").join(out)


templates.env.filters["linked"] = linked
templates.env.filters["clean_html"] = clean_html  # an input field its family shows as HTML
templates.env.tests["markup"] = has_markup


def message_page(
    request: Request, title: str, message: str, back: str, status: int, back_text: str = "Back"
) -> Response:
    """A page that says one thing and links back."""
    return templates.TemplateResponse(
        request,
        "message.html",
        {"title": title, "message": message, "back": back, "back_text": back_text},
        status_code=status,
    )


def refused(request: Request, exc: TandemError) -> Response:
    """A page route's Tandem error, as a page with the error's status: the errors
    handler (tandem/web/errors.py) answers pages with this, the API with JSON."""
    title = "Cannot show this" if request.method in ("GET", "HEAD") else "Not saved"
    return message_page(request, title, exc.message, _came_from(request), exc.status)


def cross_site_refused(request: Request, message: str) -> Response:
    """The page for a form another site submitted (see tandem/web/origin.py)."""
    text = message[0].upper() + message[1:] + "."
    return message_page(request, "Not allowed", text, "/", 403, "Go to Tandem")


def _came_from(request: Request) -> str:
    """The page of ours the person came from (the form they submitted, the list they
    clicked in), else the start page."""
    referer = urlsplit(request.headers.get("referer", ""))
    same_site = referer.netloc == request.url.netloc and referer.path.startswith("/")
    if not same_site or referer.path.startswith("//") or "\\" in referer.path:
        return "/"
    return referer.path + (f"?{referer.query}" if referer.query else "")
