"""Who may call each route, declared on the route and checked before it runs.

Every route names its access with exactly one of the markers below, as a dependency of
the route, of its router, or of the `include_router` call that mounts it:

    PUBLIC                       no key (health, login, the API docs)
    CLIENT / REVIEWER / ADMIN    a JSON route: 401 without a valid key, 403 below the role
    PAGE_REVIEWER / PAGE_ADMIN   an HTML page: 303 to /login without a key, a 403 page below

`Client`, `Reviewer`, `Admin`, `PageReviewer`, `PageAdmin` are the same markers as
parameter types, for routes that need the caller's identity (the key's name is the
reviewer on a decision, the approver on a promotion).

Deny by default: `check_routes` runs when the app is built and again at start-up, and
refuses to serve an app with a route that declares no access or two different ones."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Annotated, Any, NoReturn

from fastapi import Depends, FastAPI, Request
from starlette.concurrency import run_in_threadpool

from tandem.auth.roles import Principal, Role
from tandem.auth.verify import Authenticator
from tandem.errors import Forbidden, Unauthorized

COOKIE = "tandem_key"
"""Set by /login: a page session's token (tandem.auth.sessions), never the key;
HttpOnly and SameSite=Strict. The name predates sessions: a cookie from before them
holds a raw key, which opens no session, so its browser is sent to log in again."""
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
HOW_TO_GET_A_KEY = (
    "send 'Authorization: Bearer <key>'; an admin creates keys with "
    "`tandem keys create --role ROLE --name NAME`"
)

SCHEME = "apiKey"
"""The OpenAPI security scheme name (bearer); see `describe_access`."""


def _a(role: Role) -> str:
    return f"{'an' if role == Role.admin else 'a'} {role}"


class Unauthenticated:
    """Requests refused for a missing or bad key, counted in this process's memory.

    They write nothing to the store: a flood of keyless requests must neither grow it
    nor move the error rate the alerts watch. /metrics shows the count as
    `tandem_unauthenticated_total`."""

    def __init__(self) -> None:
        self.count = 0

    def add(self) -> None:
        self.count += 1  # on the event loop only: no lock needed


def unauthenticated(app: Any) -> Unauthenticated:
    """The app's count of refused keyless requests (see `install`)."""
    tally: Unauthenticated = app.state.unauthenticated
    return tally


class LoginRequired(Exception):
    """A page was asked for without a valid key: answered with a redirect to /login."""

    def __init__(self, next_path: str, why: str) -> None:
        super().__init__(why)
        self.next_path = next_path
        self.why = why


class PageForbidden(Exception):
    """A page the caller's role may not open: answered with a 403 page."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class Access:
    """The base of the markers; `role` None means public."""

    role: Role | None = None
    page = False

    def __repr__(self) -> str:
        return f"{'page ' if self.page else ''}{self.role or 'public'}"


class Public(Access):
    async def __call__(self) -> None:
        return None


class Require(Access):
    def __init__(self, role: Role, page: bool = False) -> None:
        self.role = role
        self.page = page

    async def __call__(self, request: Request) -> Principal:
        assert self.role is not None
        found = credentials(request)
        if found is None:
            self._unauthorized(request, None)
        # A cookie on a cross-site write never gets here (tandem/web/origin.py).
        principal = await _principal(verifier(request), *found)
        if principal is None:
            self._unauthorized(request, _INVALID[found[1]])
        if not principal.can(self.role):
            self._forbidden(
                f"this needs {_a(self.role)} key; the key '{principal.name}' is "
                f"{_a(principal.role)} key: use {_a(self.role)} key or ask an admin for one"
            )
        request.state.principal = principal
        return principal

    def _forbidden(self, message: str) -> NoReturn:
        raise PageForbidden(message) if self.page else Forbidden(message)

    def _unauthorized(self, request: Request, why: str | None) -> NoReturn:
        unauthenticated(request.app).add()
        if self.page:
            path = request.url.path if request.method in SAFE_METHODS else "/review"
            raise LoginRequired(path, "invalid" if why else "missing")
        if why is None and "authorization" in request.headers:
            why = "the Authorization header is not 'Bearer <key>'"
        raise Unauthorized(f"{why or 'this needs an API key'}: {HOW_TO_GET_A_KEY}")


class ClientOrPublicEditor(Access):
    """A client key, as CLIENT; but with TANDEM_EDITOR_ACCESS=public a request without
    any credentials passes as None (anonymous), and the route lets it do only what the
    writer's page does (score a draft of a model that offers an editor, rate a
    suggestion)."""

    role = Role.client

    def __init__(self, page: bool = False) -> None:
        self.page = page
        self._client = Require(Role.client, page=page)

    async def __call__(self, request: Request) -> Principal | None:
        if credentials(request) is None and editor_is_public(request):
            return None
        return await self._client(request)


def editor_is_public(request: Request) -> bool:
    return bool(request.app.state.services.settings.editor_access == "public")


def anonymous_refused(what: str) -> NoReturn:
    """A keyless request the public writer's page does not make."""
    raise Unauthorized(f"{what} needs an API key: {HOW_TO_GET_A_KEY}")


_INVALID = {
    "header": "the API key is unknown or revoked; ask an admin for a new one",
    "cookie": "the login session has ended (logged out, expired, or its key revoked); "
    "log in again at /login",
}


def credentials(request: Request) -> tuple[str, str] | None:
    """(key or session token, where it came from): an `Authorization: Bearer` header
    (a key), else the login cookie (a session's token).

    Another scheme in the header (say Basic auth added by a proxy) is left alone, so
    the cookie still works behind such a proxy."""
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return token.strip(), "header"
    cookie = request.cookies.get(COOKIE)
    return (cookie, "cookie") if cookie else None


def verifier(request: Request) -> Authenticator:
    auth: Authenticator = request.app.state.auth
    return auth


def _verify(auth: Authenticator, raw: str, where: str) -> Principal | None:
    """May read the store: call it from a plain `def` or on the thread pool."""
    return auth.verify_session(raw) if where == "cookie" else auth.verify(raw)


async def _principal(auth: Authenticator, raw: str, where: str) -> Principal | None:
    # A cached key or session costs a dict lookup here; only a miss reads the store, and
    # it does so on the thread pool: every route has this check, /v1/predict included.
    cached = auth.cached_session(raw) if where == "cookie" else auth.cached(raw)
    return cached or await run_in_threadpool(_verify, auth, raw, where)


def authenticate(request: Request) -> Principal | None:
    """The caller's principal when a valid key or login session came with the request,
    without requiring one (pages that show who is logged in)."""
    found = credentials(request)
    return _verify(verifier(request), *found) if found else None


async def has_valid_key(scope: Any) -> bool:
    """Whether a request refused before its route's access check ran (a body too
    large, malformed JSON) carried a valid key or login session. May read the store,
    on the thread pool."""
    found = credentials(Request(scope))
    if found is None:
        return False
    auth: Authenticator = scope["app"].state.auth
    return await _principal(auth, *found) is not None


def current_principal(request: Request) -> Principal | None:
    """The verified principal of this request, if a role check ran (for templates)."""
    principal: Principal | None = getattr(request.state, "principal", None)
    return principal


PUBLIC = Depends(Public())
CLIENT = Depends(Require(Role.client))
REVIEWER = Depends(Require(Role.reviewer))
ADMIN = Depends(Require(Role.admin))
PAGE_REVIEWER = Depends(Require(Role.reviewer, page=True))
PAGE_ADMIN = Depends(Require(Role.admin, page=True))
PAGE_CLIENT = Depends(Require(Role.client, page=True))
CLIENT_OR_EDITOR = Depends(ClientOrPublicEditor())
EDITOR_PAGE = Depends(ClientOrPublicEditor(page=True))

Client = Annotated[Principal, CLIENT]
Reviewer = Annotated[Principal, REVIEWER]
Admin = Annotated[Principal, ADMIN]
PageReviewer = Annotated[Principal, PAGE_REVIEWER]
PageAdmin = Annotated[Principal, PAGE_ADMIN]
ClientOrEditor = Annotated[Principal | None, CLIENT_OR_EDITOR]


@dataclass(frozen=True)
class RouteInfo:
    """One route as served: its full path, its methods, and the access it declares."""

    path: str
    methods: frozenset[str]
    access: Access | None
    problem: str | None = None

    def __str__(self) -> str:
        return f"{','.join(sorted(self.methods)) or '*'} {self.path}"


def _markers(dependant: object) -> list[Access]:
    found = []
    for sub in getattr(dependant, "dependencies", []):
        if isinstance(sub.call, Access):
            found.append(sub.call)
        found += _markers(sub)
    return found


def _contexts(app: FastAPI) -> Iterable[Any]:
    """Every route with its router's and include_router's dependencies applied.

    FastAPI >= 0.16x keeps included routers lazily (`iter_route_contexts` flattens
    them); older versions copy every route into `app.routes`."""
    try:
        from fastapi.routing import iter_route_contexts
    except ImportError:  # pragma: no cover - older FastAPI
        return list(app.routes)
    return list(iter_route_contexts(app.routes))


def iter_routes(app: FastAPI) -> Iterator[RouteInfo]:
    """Every route of `app` with the access it declares (None: none; a problem
    when it declares two different ones, since which holds would depend on order)."""
    docs = _docs_paths(app)
    for ctx in _contexts(app):
        path = str(getattr(ctx, "path", "") or "")
        methods = frozenset(getattr(ctx, "methods", None) or ())
        dependant = getattr(ctx, "dependant", None)
        if dependant is not None:
            markers = {(m.role, m.page): m for m in _markers(dependant)}
            if len(markers) > 1:
                found = ", ".join(sorted(map(repr, markers.values())))
                yield RouteInfo(path, methods, None, f"declares several accesses ({found})")
                continue
            yield RouteInfo(path, methods, next(iter(markers.values()), None))
        elif path in docs:
            yield RouteInfo(path, methods, Public())
        else:
            yield RouteInfo(path, methods, None)


def _docs_paths(app: FastAPI) -> set[str]:
    urls = (app.openapi_url, app.docs_url, app.redoc_url, app.swagger_ui_oauth2_redirect_url)
    return {u for u in urls if u}


def check_routes(app: FastAPI) -> None:
    """Refuse to build or start an app in which some route does not say who may call it."""
    problems = [
        f"{r} {r.problem or 'declares no access'}" for r in iter_routes(app) if r.access is None
    ]
    if problems:
        raise RuntimeError(
            "every route must declare who may call it, with exactly one of PUBLIC, CLIENT, "
            "REVIEWER, ADMIN, PAGE_REVIEWER, PAGE_ADMIN from tandem.web.access (on the "
            "route, its router, or app.include_router(..., dependencies=[...])): "
            + "; ".join(problems)
        )


def describe_access(app: FastAPI, schema: dict[str, Any]) -> dict[str, Any]:
    """Write each operation's role into the OpenAPI schema: bearer security (so /docs
    offers "Authorize") and `x-tandem-role`. Done here rather than with a security
    dependency, which would add a dependency to solve on every request."""
    schema.setdefault("components", {}).setdefault("securitySchemes", {})[SCHEME] = {
        "type": "http",
        "scheme": "bearer",
        "description": "An API key from `tandem keys create --role ROLE --name NAME`.",
    }
    for route in iter_routes(app):
        operations = schema.get("paths", {}).get(route.path, {})
        for method in route.methods:
            operation = operations.get(method.lower())
            if operation is None or route.access is None or route.access.role is None:
                continue
            operation["security"] = [{SCHEME: []}]
            operation["x-tandem-role"] = str(route.access.role)
            needs = f"Needs {_a(route.access.role)} key (or higher)."
            operation["description"] = f"{needs}\n\n{operation.get('description', '')}".strip()
    return schema


def install(app: FastAPI, authenticator: Authenticator) -> None:
    app.state.auth = authenticator
    app.state.unauthenticated = Unauthenticated()
    plain_openapi = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = describe_access(app, plain_openapi())
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
