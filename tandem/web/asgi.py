"""What the app's pure ASGI middleware share: each acts on HTTP requests only (some
on POSTs to one path only) and passes everything else (lifespan, websockets, other
paths) straight through to the app, untouched."""

from __future__ import annotations

from starlette.types import ASGIApp, Receive, Scope, Send


class ClientGone(Exception):
    """The client went away before its request was read: there is no one to answer."""


class HttpMiddleware:
    """Calls `handle` for the requests it acts on; a subclass writes only that. A
    `handle` that finds the client gone (ClientGone) simply ends: nothing is sent."""

    def __init__(self, app: ASGIApp, path: str | None = None) -> None:
        self.app = app
        self.path = path
        """Act only on POSTs to this path; None: on every HTTP request."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or (
            self.path is not None and (scope["path"] != self.path or scope["method"] != "POST")
        ):
            await self.app(scope, receive, send)
            return
        try:
            await self.handle(scope, receive, send)
        except ClientGone:
            return

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        raise NotImplementedError
