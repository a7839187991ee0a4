"""Logging in to the pages with an API key, and what a page answers without one.

The cookie holds the key itself (HttpOnly, SameSite=Strict, Secure over HTTPS): no
session table to keep, and revoking the key logs its browsers out within the cache
TTL. A person pastes the key once per browser (the cookie lasts 12 hours)."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, FastAPI, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from tandem.pages.templating import message_page, templates
from tandem.web.access import (
    COOKIE,
    PUBLIC,
    LoginRequired,
    PageForbidden,
    authenticate,
    verifier,
)

router = APIRouter(include_in_schema=False, dependencies=[PUBLIC])
COOKIE_SECONDS = 12 * 3600
WHY = {
    "missing": "Paste your API key to continue.",
    "invalid": "Your key is unknown or was revoked: paste a valid key.",
}


def safe_next(path: str | None) -> str | None:
    """Only a path on this site: a login link must not send anyone elsewhere."""
    if not path or not path.startswith("/") or path.startswith("//") or "\\" in path:
        return None
    return path


def _form(request: Request, message: str | None, next_path: str | None, status: int) -> Response:
    return templates.TemplateResponse(
        request,
        "login.html",
        {"message": message, "next": next_path or "", "current": authenticate(request)},
        status_code=status,
    )


@router.get("/login", response_class=HTMLResponse)
def login_page(request: Request, next: str | None = None, why: str | None = None) -> Response:
    return _form(request, WHY.get(why or ""), safe_next(next), 200)


@router.post("/login", response_class=HTMLResponse)
def login(
    request: Request,
    key: Annotated[str, Form(max_length=500)] = "",
    next: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    principal = verifier(request).verify(key.strip())
    if principal is None:
        return _form(
            request,
            "That key is unknown or was revoked. Keys start with tdm_; an admin creates "
            "them with `tandem keys create --role ROLE --name NAME`.",
            safe_next(next),
            401,
        )
    target = safe_next(next) or ("/review" if principal.can("reviewer") else "/about")
    response = RedirectResponse(target, status_code=303)
    response.set_cookie(
        COOKIE,
        key.strip(),
        max_age=COOKIE_SECONDS,
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
    )
    return response


@router.post("/logout", response_class=HTMLResponse)
def logout(request: Request) -> Response:
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(COOKIE, httponly=True, samesite="strict")
    return response


async def _login_required(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, LoginRequired)
    return RedirectResponse(f"/login?next={quote(exc.next_path)}&why={exc.why}", status_code=303)


def _forbidden(request: Request, exc: Exception) -> Response:
    # Plain def: the page shows who is signed in, which may read the key from the store.
    assert isinstance(exc, PageForbidden)
    message = exc.message[0].upper() + exc.message[1:] + "."
    return message_page(request, "Not allowed", message, "/login", 403, "Log in with another key")


def install(app: FastAPI) -> None:
    app.include_router(router)
    app.add_exception_handler(LoginRequired, _login_required)
    app.add_exception_handler(PageForbidden, _forbidden)
