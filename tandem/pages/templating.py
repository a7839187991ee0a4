"""The one Jinja2 environment every page renders with (autoescaping on)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.templating import Jinja2Templates

from tandem.auth.roles import Principal
from tandem.web.access import authenticate, current_principal

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
