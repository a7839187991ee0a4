"""Errors are mapped to responses here, in one place: the JSON API answers
`{"error": {"code", "message"}}`; a page answers a Tandem error with a page."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from fastapi.routing import APIRoute
from starlette.exceptions import HTTPException as StarletteHTTPException

from tandem.errors import TandemError
from tandem.web.intake import note_model

log = logging.getLogger("tandem")
PageRenderer = Callable[[Request, TandemError], Response]

_HTTP_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "invalid_request",
}


def error_response(status: int, code: str, message: str, **extra: object) -> JSONResponse:
    return JSONResponse({"error": {"code": code, "message": message}, **extra}, status_code=status)


def _where(loc: tuple[object, ...]) -> str:
    parts = [str(p) for p in loc if p != "body"]
    return ".".join(parts) or "body"


async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
    if isinstance(exc.body, dict):  # the intake ledger's row names the model asked for
        note_model(request.scope, exc.body.get("model"))
    errors = exc.errors()
    messages = []
    is_json = "json" in request.headers.get("content-type", "")
    for err in errors[:5]:
        if tuple(err["loc"]) == ("body",) and not is_json and request.method == "POST":
            messages.append("send the body as JSON with 'Content-Type: application/json'")
        elif err.get("type") == "json_invalid":
            messages.append(f"the body is not valid JSON ({err.get('ctx', {}).get('error')})")
        else:
            messages.append(f"{_where(tuple(err['loc']))}: {err['msg']}")
    detail = [{k: v for k, v in e.items() if k in ("type", "loc", "msg")} for e in errors]
    return error_response(422, "invalid_request", "; ".join(messages), detail=detail)


async def _http(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
    message = str(exc.detail)
    if exc.status_code == 400 and "parsing the body" in message:
        message = "the body could not be read as JSON text; send UTF-8 encoded JSON"
    code = _HTTP_CODES.get(exc.status_code, f"http_{exc.status_code}")
    return error_response(exc.status_code, code, message)


def is_page(request: Request) -> bool:
    """Pages are the routes kept out of the OpenAPI schema; the API is what it describes."""
    route = request.scope.get("route")
    return isinstance(route, APIRoute) and not route.include_in_schema


def api_error(exc: TandemError) -> JSONResponse:
    """The JSON API's answer to a Tandem error (logged when it is the service's fault)."""
    if exc.status >= 500:
        log.error("%s: %s", exc.code, exc.message)
    response = error_response(exc.status, exc.code, exc.message)
    if exc.status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="tandem"'
    return response


def _tandem(page: PageRenderer | None) -> Callable[[Request, Exception], Awaitable[Response]]:
    async def handle(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, TandemError)
        if page is not None and is_page(request):
            if exc.status >= 500:
                log.error("%s: %s", exc.code, exc.message)
            return page(request, exc)
        return api_error(exc)

    return handle


async def _unexpected(_request: Request, exc: Exception) -> JSONResponse:
    log.exception("unhandled error", exc_info=exc)
    return error_response(500, "internal", "internal error; it has been logged")


def install(app: FastAPI, page: PageRenderer | None = None) -> None:
    """`page` renders a Tandem error raised by a page route (see `is_page`)."""
    app.add_exception_handler(RequestValidationError, _validation)  # type: ignore[arg-type]
    app.add_exception_handler(StarletteHTTPException, _http)  # type: ignore[arg-type]
    app.add_exception_handler(TandemError, _tandem(page))
    app.add_exception_handler(Exception, _unexpected)
