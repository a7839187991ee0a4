"""Logging in to the pages with an API key, and what a page answers without one.

The key is checked once, at login, and opens a server-side session (tandem.auth.sessions);
the cookie holds only the session's random token (HttpOnly, SameSite=Strict, Secure over
HTTPS), so a stolen cookie is not a stolen key. A session lasts 12 hours at most and ends
earlier at logout or when its key is revoked. A person pastes the key once per browser."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, FastAPI, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from tandem.auth.sessions import SESSION_SECONDS
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
COOKIE_SECONDS = SESSION_SECONDS
WHY = {
    "missing": "Paste your API key to continue.",
    "invalid": "Your login has ended (you logged out, it expired, or its key was revoked): "
    "paste your key to log in again.",
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
    auth = verifier(request)
    principal = auth.verify(key.strip())
    if principal is None:
        return _form(
            request,
            "That key is unknown or was revoked. Keys start with tdm_; an admin creates "
            "them with `tandem keys create --role ROLE --name NAME`.",
            safe_next(next),
            401,
        )
    previous = request.cookies.get(COOKIE)
    if previous:  # logging in with another key: the old session ends, not just its cookie
        auth.end_session(previous)
    target = safe_next(next) or ("/review" if principal.can("reviewer") else "/about")
    response = RedirectResponse(target, status_code=303)
    response.set_cookie(
        COOKIE,
        auth.open_session(principal),
        max_age=COOKIE_SECONDS,
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
    )
    return response


@router.post("/logout", response_class=HTMLResponse)
def logout(request: Request) -> Response:
    """Ends the session on the server: a copy of the cookie opens nothing afterwards."""
    token = request.cookies.get(COOKIE)
    if token:
        verifier(request).end_session(token)
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
