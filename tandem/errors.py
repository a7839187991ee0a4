"""Domain errors with stable codes; mapped to HTTP in one place (tandem/web/errors.py)."""

from __future__ import annotations

from typing import Any


class TandemError(Exception):
    """Base error: `code` is stable for scripts, `message` says what to fix. A subclass
    names its code and HTTP status in its header (`class X(TandemError, code=..., status=...)`);
    one it leaves out is inherited."""

    code = "tandem_error"
    status = 400

    def __init_subclass__(
        cls, code: str | None = None, status: int | None = None, **kwargs: Any
    ) -> None:
        super().__init_subclass__(**kwargs)
        if code is not None:
            cls.code = code
        if status is not None:
            cls.status = status

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class NotFound(TandemError, code="not_found", status=404): ...


class UnknownModel(NotFound, code="unknown_model"): ...


class Conflict(TandemError, code="conflict", status=409): ...


class InvalidInput(TandemError, code="invalid_input", status=422): ...


class ModelUnavailable(TandemError, code="model_unavailable", status=503): ...


class ArtifactCorrupt(TandemError, code="artifact_corrupt", status=500):
    """An artifact's bytes no longer match the hash it was registered under."""


class StoreError(TandemError, code="store_error", status=503): ...


class Unauthorized(TandemError, code="unauthorized", status=401):
    """No key, or one that is unknown or revoked (answered with `WWW-Authenticate`)."""


class Forbidden(TandemError, code="forbidden", status=403):
    """A valid key whose role may not do this."""


class StoreUnavailable(StoreError):
    """The store cannot be reached or stays locked: nothing could be written."""
