"""What the app's pure ASGI middleware share: each acts on HTTP requests only (some
on POSTs to one path only) and passes everything else (lifespan, websockets, other
paths) straight through to the app, untouched."""

from __future__ import annotations

from starlette.types import ASGIApp, Receive, Scope, Send


class HttpMiddleware:
    """Calls `handle` for the requests it acts on; a subclass writes only that."""

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
        await self.handle(scope, receive, send)

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        raise NotImplementedError
