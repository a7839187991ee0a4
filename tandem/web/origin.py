"""Refuse state-changing requests a browser sends from another origin (pure ASGI).

A browser attaches the login cookie to any request it makes to Tandem, including a
form another site submits; such a request must not change anything. Requests with an
`Authorization: Bearer` header are left alone: a page elsewhere cannot set that header
on a cross-origin request without Tandem's consent (there is no CORS), and no cookie
is involved. Everything else that is not GET/HEAD/OPTIONS is checked, the login and
logout forms included:

- `Sec-Fetch-Site` (every current browser sends it, a page cannot set it) must be
  `same-origin` or `none` (typed by the person, or a bookmark);
- without it (an older browser), `Origin`, else `Referer`, must be this request's own
  scheme and host;
- with none of the three the sender is not a browser, so no cookie rides along by
  accident: accepted.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from urllib.parse import urlsplit

from fastapi import Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Receive, Scope, Send

from tandem.web.asgi import HttpMiddleware

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
ALLOWED_FETCH_SITES = frozenset({"same-origin", "none"})
API_PREFIX = "/v1/"
PageRenderer = Callable[[Request, str], Response]


def _headers(scope: Scope) -> dict[str, str]:
    wanted = (b"sec-fetch-site", b"origin", b"referer", b"host", b"authorization")
    return {
        name.decode(): value.decode("latin-1")
        for name, value in scope.get("headers", ())
        if name in wanted
    }


def _own_origin(scope: Scope, headers: dict[str, str]) -> str:
    scheme = str(scope.get("scheme", "http"))
    host = headers.get("host")
    if not host:
        server = scope.get("server")
        host = f"{server[0]}:{server[1]}" if server else ""
    default = {"http": ":80", "https": ":443"}.get(scheme, "")
    if default and host.endswith(default):
        host = host[: -len(default)]
    return f"{scheme}://{host.lower()}"


def _origin_of(url: str) -> str | None:
    parts = urlsplit(url.strip())
    if not parts.scheme or not parts.netloc:
        return None
    host = parts.netloc.lower().rpartition("@")[2]
    default = {"http": ":80", "https": ":443"}.get(parts.scheme.lower(), "")
    if default and host.endswith(default):
        host = host[: -len(default)]
    return f"{parts.scheme.lower()}://{host}"


def refusal(scope: Scope) -> str | None:
    """Why this request is refused as cross-site, or None when it may proceed."""
    if scope.get("method", "GET") in SAFE_METHODS:
        return None
    headers = _headers(scope)
    scheme, _, token = headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return None
    fetch_site = headers.get("sec-fetch-site")
    if fetch_site is not None:
        if fetch_site.strip().lower() in ALLOWED_FETCH_SITES:
            return None
        return (
            f"the browser says this request came from another site (Sec-Fetch-Site: {fetch_site})"
        )
    own = _own_origin(scope, headers)
    for name in ("origin", "referer"):
        if name in headers:
            sender = _origin_of(headers[name])
            if sender == own:
                return None
            shown = headers[name] if name == "origin" else (sender or "an unreadable address")
            return f"the request came from {shown}, not from {own}"
    return None


class SameOrigin(HttpMiddleware):
    """The check above, before anything reads the body. A page is refused with
    `page(request, why)` (run on the thread pool: it may read the store to show who is
    logged in), the JSON API with its usual error shape."""

    def __init__(self, app: ASGIApp, page: PageRenderer | None = None) -> None:
        super().__init__(app)
        self.page = page

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        why = refusal(scope)
        if why is None:
            await self.app(scope, receive, send)
            return
        message = f"cross-site request refused: {why}; submit the form from Tandem's own pages"
        path = str(scope.get("path", ""))
        if self.page is not None and not path.startswith(API_PREFIX):
            response = await run_in_threadpool(self.page, Request(scope), message)
        else:
            body = json.dumps({"error": {"code": "forbidden", "message": message}}).encode()
            response = Response(body, status_code=403, media_type="application/json")
        await response(scope, receive, send)
