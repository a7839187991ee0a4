"""The intake ledger's front door: every POST /v1/predict that reaches the app leaves
exactly one intake row, so "received = answered + failed" can be checked later.

An answered request's row is written by the prediction service in the same batch as
its prediction. Any other outcome (unknown model, invalid input, FastAPI's validation
errors, malformed JSON, a body over the limit, the model or the store unavailable, an
unexpected error) is recorded here, as a `failed` row with the status and error code
the client was sent, before that response leaves.

Only requests that carry a valid API key are recorded. One refused for a missing or
bad key (a 401, or an earlier refusal of a keyless body) writes nothing: it is counted
in memory (`tandem_unauthenticated_total` on /metrics), so keyless traffic neither
grows the store nor moves the error rate the alerts watch.

Failure rows are best-effort: when the store itself is down, the row that would
record the failure cannot be written either; the client still gets its error, and
the gap shows up only in the server log. A request whose client disconnects before
the app sees it never reached the app and leaves no row."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import datetime

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from tandem.clock import utcnow
from tandem.domain import Intake
from tandem.ids import new_id
from tandem.predict.service import PredictionService
from tandem.web.access import has_valid_key, unauthenticated
from tandem.web.asgi import HttpMiddleware

log = logging.getLogger("tandem")

SCOPE_KEY = "tandem.intake"
MAX_MESSAGE = 500  # characters of the error message kept in the ledger


@dataclass(slots=True)
class Ticket:
    """Travels with one request in its ASGI scope."""

    received_at: datetime
    model: str | None = None
    recorded: bool = False  # the service wrote this request's row with its prediction


def ticket(scope: Scope) -> Ticket | None:
    found: Ticket | None = scope.get(SCOPE_KEY)
    return found


def note_model(scope: Scope, model: object) -> None:
    """Remember which model a request named, for its failure row."""
    t = ticket(scope)
    if t is not None and isinstance(model, str):
        t.model = model[:100]


class IntakeLedger(HttpMiddleware):
    """Pure ASGI middleware, outermost, on one path; everything else passes through."""

    def __init__(
        self, app: ASGIApp, predictions: PredictionService, path: str = "/v1/predict"
    ) -> None:
        super().__init__(app, path)
        self.predictions = predictions

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        t = Ticket(utcnow())
        scope[SCOPE_KEY] = t
        start: Message | None = None
        body: list[bytes] = []
        responded = False

        async def send_recorded(message: Message) -> None:
            nonlocal start, responded
            if t.recorded:  # answered: the row is already stored with the prediction
                await send(message)
                return
            # Failed: hold the (small, JSON) error response until its row is stored.
            if message["type"] == "http.response.start":
                start = message
                return
            if message["type"] == "http.response.body" and start is not None:
                body.append(message.get("body", b""))
                if message.get("more_body", False):
                    return
                responded = True
                if await _keyed(scope, start["status"]):
                    await self._record(t, start["status"], b"".join(body))
                await send(start)
                await send({**message, "body": b"".join(body)})
                return
            await send(message)

        try:
            await self.app(scope, receive, send_recorded)
        except Exception:
            if not t.recorded and not responded and await _keyed(scope, 500):
                await self._record(t, 500, b"")
            raise

    async def _record(self, t: Ticket, status: int, body: bytes) -> None:
        code, message = _error_of(body)
        if status == 500 and code is None:
            code, message = "internal", "unhandled error"
        row = Intake(new_id(), t.received_at, t.model, "failed", status, None, code, message)
        try:
            await self.predictions.record_failure(row)
        except Exception as exc:
            log.warning("could not record a failed prediction request (%s): %s", status, exc)
        t.recorded = True


async def _keyed(scope: Scope, status: int) -> bool:
    """Whether a refused request came with a valid key; one without is counted, not stored."""
    if scope.get("state", {}).get("principal") is not None:
        return True  # its route's access check passed
    if status == 401:
        return False  # the access check refused it, and counted it
    try:
        valid = await has_valid_key(scope)
    except Exception:  # the store is down: try to record, as for any other failure
        return True
    if not valid:
        unauthenticated(scope["app"]).add()
    return valid


def _error_of(body: bytes) -> tuple[str | None, str | None]:
    """(code, message) of a `{"error": {...}}` body, or Nones for anything else."""
    try:
        error = json.loads(body)["error"]
        code, message = error.get("code"), error.get("message")
    except (ValueError, KeyError, TypeError, AttributeError):
        return None, None
    code = code[:64] if isinstance(code, str) else None
    message = message[:MAX_MESSAGE] if isinstance(message, str) else None
    return code, message
