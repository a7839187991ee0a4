"""The HTTP protocol `tandem serve` runs: uvicorn's httptools protocol with the limits
uvicorn lacks, so idle or slow clients cannot hold the server.

uvicorn closes a connection idle *between* requests (`timeout_keep_alive`), and with
`limit_concurrency` answers 503 once that many connections are open. It has no limit
on the time or bytes a client may take to send a request's headers: a connection that
sends nothing, or a header a byte at a time, stays open for ever and counts towards
the cap (slow loris). This protocol adds both:

- `header_timeout_s`: from a connection's first byte (or its opening) until its
  request's headers are complete; past it the connection gets a 408 and is closed.
- `max_header_bytes`: a request line plus headers larger than this gets a 431.

and answers the connection cap's 503 as JSON that says what happened."""

from __future__ import annotations

import asyncio
import json
from functools import partial
from typing import Any

from uvicorn.protocols.http.flow_control import service_unavailable
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from tandem.web.limits import send_json

_STATUS = {408: b"Request Timeout", 431: b"Request Header Fields Too Large"}


def _overloaded_body(max_connections: int | None) -> bytes:
    return json.dumps(
        {
            "error": {
                "code": "overloaded",
                "message": f"the server has {max_connections} connections open, its limit "
                "(TANDEM_MAX_CONNECTIONS); retry in a few seconds",
            }
        }
    ).encode()


class GuardedHttpTools(HttpToolsProtocol):
    """uvicorn's httptools protocol with a header-read timeout and size limit."""

    def __init__(
        self, *args: Any, header_timeout_s: float, max_header_bytes: int, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.header_timeout_s = header_timeout_s
        self.max_header_bytes = max_header_bytes
        self._header_timer: asyncio.TimerHandle | None = None
        self._header_bytes = 0

    # A request is "awaiting headers" from its first byte (or the connection's opening)
    # until the parser has them all; only then does the timer stop.
    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._await_headers()

    def _await_headers(self) -> None:
        self._header_bytes = 0
        self._header_timer = self.loop.call_later(self.header_timeout_s, self._refuse, 408)

    def _between_requests(self) -> bool:
        return self.cycle is None or self.cycle.response_complete

    def data_received(self, data: bytes) -> None:
        if self._header_timer is None and self._between_requests() and not self.pipeline:
            self._await_headers()  # the first bytes of the next request on this connection
        super().data_received(data)
        if self._header_timer is not None:  # the headers are still incomplete
            self._header_bytes += len(data)
            if self._header_bytes > self.max_header_bytes:
                self._refuse(431)

    def on_headers_complete(self) -> None:
        self._stop_timer()
        super().on_headers_complete()

    def connection_lost(self, exc: Exception | None) -> None:
        self._stop_timer()
        super().connection_lost(exc)

    def _stop_timer(self) -> None:
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None

    def _refuse(self, status: int) -> None:
        self._stop_timer()
        if self.transport.is_closing():
            return
        if self._between_requests():  # never write into a response already under way
            self.transport.write(
                b"HTTP/1.1 %d %s\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
                % (status, _STATUS[status])
            )
        self.transport.close()

    def _start_asgi_task(self, cycle: Any, app: Any) -> None:
        if app is service_unavailable:  # uvicorn's plain-text 503 at the connection cap
            app = partial(_overloaded, _overloaded_body(self.limit_concurrency))
        super()._start_asgi_task(cycle, app)


async def _overloaded(body: bytes, scope: Any, receive: Any, send: Any) -> None:
    await send_json(send, 503, body, (b"retry-after", b"5"), (b"connection", b"close"))


def protocol(header_timeout_s: float, max_header_bytes: int) -> Any:
    """The protocol class for `uvicorn.run(http=...)`, bound to these limits (a partial
    of a module-level class, so it can be pickled into worker processes)."""
    return partial(
        GuardedHttpTools, header_timeout_s=header_timeout_s, max_header_bytes=max_header_bytes
    )
