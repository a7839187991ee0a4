"""Reject oversized bodies before anything parses them (pure ASGI: no per-request
overhead beyond a header look-up)."""

from __future__ import annotations

import json

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from tandem.web.asgi import ClientGone, HttpMiddleware


async def read_body(receive: Receive) -> bytes:
    """The whole request body (the body limit has bounded it by now); ClientGone when
    the client went away before sending it all (HttpMiddleware ends the request)."""
    chunks = []
    more = True
    while more:
        message = await receive()
        if message["type"] != "http.request":
            raise ClientGone()
        chunks.append(message.get("body", b""))
        more = message.get("more_body", False)
    return b"".join(chunks)


def replay(body: bytes, receive: Receive) -> Receive:
    """A `receive` that hands the app the body already read, then whatever follows
    (a disconnect): for middleware that must see the whole body first."""
    sent = False

    async def receive_again() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return receive_again


async def send_json(send: Send, status: int, body: bytes, *headers: tuple[bytes, bytes]) -> None:
    """A whole JSON answer from ASGI code that runs outside FastAPI's error handlers."""
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                *headers,
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


class BodyLimit(HttpMiddleware):
    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        super().__init__(app)
        self.max_bytes = max_bytes

    async def _reject(self, send: Send, size: str) -> None:
        body = json.dumps(
            {
                "error": {
                    "code": "payload_too_large",
                    "message": f"request body is {size} bytes; the limit is {self.max_bytes} "
                    "(TANDEM_MAX_BODY_BYTES)",
                }
            }
        ).encode()
        await send_json(send, 413, body)

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        length = None
        for name, value in scope["headers"]:
            if name == b"content-length":
                length = value
                break
        if length is not None:
            if not length.isdigit() or int(length) > self.max_bytes:
                await self._reject(send, length.decode(errors="replace"))
                return
            await self.app(scope, receive, send)
            return
        # No length (chunked): buffer up to the limit, then replay.
        chunks: list[bytes] = []
        size = 0
        more = True
        while more:
            message = await receive()
            if message["type"] != "http.request":
                raise ClientGone()  # not a truncated body to answer: nobody is listening
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_bytes:
                await self._reject(send, f"more than {self.max_bytes}")
                return
            chunks.append(chunk)
            more = message.get("more_body", False)
        body = b"".join(chunks)
        await self.app(scope, replay(body, receive), send)
