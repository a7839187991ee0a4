"""Settings read from the environment (names pinned in CONVENTIONS.md).

Read once by the CLI or the app factory and passed down; nothing reads the
environment at import time, so tests can build apps with their own settings.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="TANDEM_", extra="ignore")

    home: Path = Field(default=Path(".tandem"), description="Folder for all local state.")
    database_url: str | None = Field(
        default=None, description="SQLAlchemy URL of the store; default SQLite in home."
    )
    data_dir: Path = Field(
        default=Path("../shared/data"), description="Folder holding the examples' data."
    )
    review_threshold: float | None = Field(
        default=None,
        ge=0.0,
        le=1.0,
        description="Confidence below which a prediction goes to review; default per model.",
    )
    latency_budget_ms: float | None = Field(
        default=None, gt=0, description="Model latency budget; default per model (50 ms)."
    )
    holdout_rate: float = Field(
        default=0.02, ge=0.0, le=1.0, description="Share of traffic sent to review as holdout."
    )
    model_workers: int = Field(
        default=4, ge=1, le=64, description="Threads that run model code, per process."
    )
    max_body_bytes: int = Field(
        default=256 * 1024, gt=0, description="Largest request body accepted, in bytes."
    )
    claim_ttl_s: float = Field(
        default=600.0,
        gt=0,
        le=7 * 24 * 3600,
        description="How long a reviewer's claim on a review item holds, in seconds.",
    )

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.home / 'tandem.db').resolve()}"

    @property
    def artifacts_dir(self) -> Path:
        return self.home / "artifacts"


def load_settings() -> Settings:
    """Settings from the environment, with a bad value named by its variable."""
    from pydantic import ValidationError

    from tandem.errors import InvalidInput

    try:
        return Settings()
    except ValidationError as exc:
        problems = [
            f"TANDEM_{'_'.join(str(p) for p in err['loc']).upper()}={err.get('input')!r}: "
            f"{err['msg']}"
            for err in exc.errors()
        ]
        raise InvalidInput("invalid setting " + "; ".join(problems)) from None
