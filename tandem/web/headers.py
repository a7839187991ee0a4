"""Security headers on every response (pure ASGI: a precomputed list appended to
the response start, nothing parsed).

The pages run no inline script and load nothing from elsewhere, so the policy allows
only this origin (inline `style` attributes aside: the pages size bars and pixels
with them). No page may be framed, a response is never sniffed into another type,
and a link followed off-site carries no path of ours."""

from __future__ import annotations

from starlette.types import Message, Receive, Scope, Send

from tandem.web.asgi import HttpMiddleware

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
)
HEADERS: tuple[tuple[bytes, bytes], ...] = (
    (b"content-security-policy", CONTENT_SECURITY_POLICY.encode()),
    (b"x-frame-options", b"DENY"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
)
_NAMES = frozenset(name for name, _ in HEADERS)


class SecurityHeaders(HttpMiddleware):
    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [h for h in message.get("headers", ()) if h[0].lower() not in _NAMES]
                message["headers"] = [*headers, *HEADERS]
            await send(message)

        await self.app(scope, receive, send_with_headers)
