"""Domain errors with stable codes; mapped to HTTP in one place (tandem/web/errors.py)."""

from __future__ import annotations


class TandemError(Exception):
    """Base error: `code` is stable for scripts, `message` says what to fix."""

    code = "tandem_error"
    status = 400

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class NotFound(TandemError):
    code = "not_found"
    status = 404


class UnknownModel(NotFound):
    code = "unknown_model"


class Conflict(TandemError):
    code = "conflict"
    status = 409


class InvalidInput(TandemError):
    code = "invalid_input"
    status = 422


class ModelUnavailable(TandemError):
    code = "model_unavailable"
    status = 503


class ArtifactCorrupt(TandemError):
    """An artifact's bytes no longer match the hash it was registered under."""

    code = "artifact_corrupt"
    status = 500


class StoreError(TandemError):
    code = "store_error"
    status = 503


class Unauthorized(TandemError):
    """No key, or one that is unknown or revoked (answered with `WWW-Authenticate`)."""

    code = "unauthorized"
    status = 401


class Forbidden(TandemError):
    """A valid key whose role may not do this."""

    code = "forbidden"
    status = 403


class StoreUnavailable(StoreError):
    """The store cannot be reached or stays locked: nothing could be written."""
