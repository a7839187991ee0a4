"""Refuse hostile input before any route sees it, with a message that says what to fix.

Python's json module accepts what JSON text should not carry and what the store or
the answer cannot hold: NaN and Infinity literals (PostgreSQL's JSON rejects them),
unpaired UTF-16 surrogates (they have no UTF-8 form, so even the answer would fail),
NUL characters (PostgreSQL text cannot hold them, SQLite can: refusing them everywhere
keeps both back-ends alike) and nesting deep enough to exhaust the parser's recursion.
Each would surface as a 500 or a 503 somewhere downstream; here it is a 4xx, before
anything is stored.

Cost on the hot path: one extra C-level parse of a body already in memory (~2 µs for
a prediction); the string walk runs only when a byte scan finds an escape that might
be a NUL or a surrogate, the depth walk only when the body has many brackets."""

from __future__ import annotations

import json
import re
from typing import Any

from starlette.types import Receive, Scope, Send

from tandem.web.asgi import HttpMiddleware
from tandem.web.limits import read_body, replay, send_json

MAX_DEPTH = 64
"""Deepest JSON nesting accepted: far beyond any model input, far below the parser's
recursion limit (~1,000)."""

_SUSPECT_ESCAPE = re.compile(rb"\\u(?:0000|[dD][89abcdefABCDEF])")
_SURROGATE = re.compile("[\ud800-\udfff]")
_BODY_METHODS = {"POST", "PUT", "PATCH", "DELETE"}


class Rejected(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def _no_constant(name: str) -> Any:
    raise Rejected(
        422,
        "invalid_request",
        f"{name} is not a JSON number; send a finite number (or null where allowed)",
    )


def _where(path: tuple[object, ...]) -> str:
    shown = ".".join(str(p) for p in path) or "the body"
    return _SURROGATE.sub("?", shown.replace("\x00", "\\u0000"))[:200]


def _check_text(text: str, path: tuple[object, ...]) -> None:
    if "\x00" in text:
        raise Rejected(
            422,
            "invalid_request",
            f"{_where(path)} contains a NUL character (\\u0000), which Tandem does not "
            "store; remove it",
        )
    if _SURROGATE.search(text):
        raise Rejected(
            422,
            "invalid_request",
            f"{_where(path)} contains an unpaired UTF-16 surrogate, which is not Unicode "
            "text; send valid UTF-8",
        )


def _walk(value: Any, check_depth: bool, check_text: bool) -> None:
    """One iterative pass (no recursion to exhaust) over the parsed body."""
    stack: list[tuple[Any, tuple[object, ...]]] = [(value, ())]
    while stack:
        item, path = stack.pop()
        if check_depth and len(path) > MAX_DEPTH:
            raise Rejected(
                400,
                "bad_request",
                f"the JSON body nests deeper than {MAX_DEPTH} levels; flatten it",
            )
        if isinstance(item, dict):
            for key, child in item.items():
                if check_text:
                    _check_text(key, (*path, key))
                stack.append((child, (*path, key)))
        elif isinstance(item, list):
            stack.extend((child, (*path, i)) for i, child in enumerate(item))
        elif check_text and isinstance(item, str):
            _check_text(item, path)


_DECODER = json.JSONDecoder(parse_constant=_no_constant)
"""NaN and Infinity literals stop the parse (no cost otherwise). A number that only
overflows to infinity (1e400) is valid JSON; input schemas refuse it where they take
floats (`allow_inf_nan=False`), so the hot path pays no per-number callback."""


def check_json(body: bytes) -> None:
    """Raise Rejected if `body` is JSON the service must not accept. Bodies that are
    not JSON at all are left to FastAPI, whose 422 points at the syntax error."""
    try:
        # Strict UTF-8 (RFC 8259), where json.loads would also take UTF-16 and let
        # encoded surrogates through ('surrogatepass'). A leading BOM is ignored.
        text = body.decode("utf-8").removeprefix("\ufeff")
    except UnicodeDecodeError as exc:
        raise Rejected(
            400,
            "bad_request",
            f"the body is not UTF-8 (byte 0x{body[exc.start]:02x} at position {exc.start}); "
            "send JSON encoded as UTF-8",
        ) from None
    try:
        value = _DECODER.decode(text)
    except Rejected:
        raise
    except RecursionError:
        raise Rejected(
            400, "bad_request", f"the JSON body nests deeper than {MAX_DEPTH} levels; flatten it"
        ) from None
    except json.JSONDecodeError:
        return
    except ValueError:  # an integer of more than 4,300 digits (Python's limit)
        raise Rejected(
            400, "bad_request", "the JSON body has a number too long to read; send a shorter one"
        ) from None
    deep = body.count(b"[") + body.count(b"{") > MAX_DEPTH
    suspect = _SUSPECT_ESCAPE.search(body) is not None
    if deep or suspect:
        _walk(value, deep, suspect)


def check_url(scope: Scope) -> None:
    path: str = scope.get("path", "")
    query: bytes = scope.get("query_string", b"")
    if "\x00" in path or b"%00" in query or b"\x00" in query:
        raise Rejected(400, "bad_request", "the URL contains a NUL character (%00); remove it")


def _content_type(scope: Scope) -> bytes:
    for name, value in scope["headers"]:
        if name == b"content-type":
            return bytes(value).split(b";", 1)[0].strip().lower()
    return b""


def _is_json(content_type: bytes) -> bool:
    return content_type == b"application/json" or (
        content_type.startswith(b"application/") and content_type.endswith(b"+json")
    )


class InputGate(HttpMiddleware):
    """Pure ASGI: URL checks for every request; JSON and form bodies are read (the
    body limit, outside this, has bounded them), checked, and replayed to the app."""

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            check_url(scope)
        except Rejected as exc:
            await _reject(send, exc)
            return
        content_type = _content_type(scope)
        form = content_type == b"application/x-www-form-urlencoded"
        if scope["method"] not in _BODY_METHODS or not (form or _is_json(content_type)):
            await self.app(scope, receive, send)
            return
        body = await read_body(receive)
        try:
            if form:
                if b"%00" in body or b"\x00" in body:
                    raise Rejected(
                        422, "invalid_request", "a form field contains a NUL character; remove it"
                    )
            else:
                check_json(body)
        except Rejected as exc:
            await _reject(send, exc)
            return
        await self.app(scope, replay(body, receive), send)


async def _reject(send: Send, exc: Rejected) -> None:
    body = json.dumps({"error": {"code": exc.code, "message": exc.message}}).encode()
    await send_json(send, exc.status, body)
