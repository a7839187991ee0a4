"""Settings read from the environment (`TANDEM_*`; the names are public and stay).

Read once by the CLI or the app factory and passed down; nothing reads the
environment at import time, so tests can build apps with their own settings.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from tandem.location import DEFAULT_HOME, ENV_PREFIX, resolve_database_url

Share = Annotated[float, Field(ge=0.0, le=1.0)]
"""A confidence or a share of traffic: from 0 to 1."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, extra="ignore")

    home: Path = Field(default=DEFAULT_HOME, description="Folder for all local state.")
    database_url: str | None = Field(
        default=None, description="SQLAlchemy URL of the store; default SQLite in home."
    )
    log_writer: Literal["process", "thread"] | None = Field(
        default=None,
        description="Where the prediction log's writer runs: 'process' (a child process per "
        "server process; the default under `tandem serve`) or 'thread' (the default in an "
        "app built with create_app, and always for an in-memory SQLite store).",
    )
    log_linger_ms: float | None = Field(
        default=None,
        ge=0,
        le=100,
        description="How long, under load, a batch of the prediction log waits for eight "
        "entries before it is written (a lone request never waits): fuller batches cost "
        "less CPU a request, each costs up to this much latency. Default 2 ms for the "
        "writer process, 1 ms for the thread; 0 writes each batch as soon as the last "
        "is committed.",
    )
    review_threshold: Share | None = Field(
        default=None,
        description="Confidence below which a prediction goes to review; default per model.",
    )
    latency_budget_ms: float | None = Field(
        default=None, gt=0, description="Model latency budget; default per model (50 ms)."
    )
    holdout_rate: Share = Field(
        default=0.02, description="Share of traffic sent to review as holdout."
    )
    second_opinion_rate: Share = Field(
        default=0.05,
        description="Share of reviewed items sent to a second reviewer, who does not see the "
        "first answer (chosen by a hash of the prediction id); disagreements go to an "
        "adjudication queue for admins.",
    )
    model_workers: int = Field(
        default=4,
        ge=1,
        le=64,
        description="Model calls run at once per server process: worker processes (plus "
        "one kept for fallbacks, all started as calls need them) for models isolated in "
        "processes, threads for the others.",
    )
    model_isolation: Literal["process", "thread"] | None = Field(
        default=None,
        description="Where model code runs, for every model: 'process' (worker processes: "
        "a runaway regex, a native loop holding the GIL or a crash in a model cannot stall "
        "other requests; a runaway worker is killed and replaced) or 'thread' (the server's "
        "own threads or event loop: cheaper per call, but the model must be trusted to "
        "finish). Default: each model's own choice, 'process' unless its author declared "
        "'thread' (the digits example and models added from scikit-learn files do).",
    )
    editor_access: Literal["public", "key"] = Field(
        default="key",
        description="Who may use the writer's page (/editor) and the calls it makes: "
        "'key' (a client key, logged in at /login) or 'public' (anyone: a request without "
        "a key may score a draft of a model that offers an editor and rate its "
        "suggestions; requests with a key are checked as always).",
    )
    max_body_bytes: int = Field(
        default=256 * 1024, gt=0, description="Largest request body accepted, in bytes."
    )
    max_connections: int = Field(
        default=2048,
        ge=1,
        description="Open connections a server process holds; a request beyond them gets a "
        "503 saying so (`tandem serve`).",
    )
    header_timeout_s: float = Field(
        default=10.0,
        gt=0,
        le=300,
        description="Seconds a client has to send a request's headers (from its first byte, "
        "or from connecting); then the connection is closed (`tandem serve`).",
    )
    keep_alive_timeout_s: int = Field(
        default=5,
        ge=1,
        le=300,
        description="Seconds an idle connection stays open between requests (`tandem serve`).",
    )
    max_header_bytes: int = Field(
        default=64 * 1024,
        ge=4096,
        le=1024 * 1024,
        description="Largest request line plus headers accepted, in bytes; more gets a 431 "
        "(`tandem serve`).",
    )
    concerns_file: Path | None = Field(
        default=None,
        description="TOML file of concern metrics and alert rules; default: built-in ones.",
    )
    alert_interval_s: float = Field(
        default=60.0, ge=0, description="Seconds between alert checks in the server; 0: off."
    )
    alert_webhook_url: str | None = Field(
        default=None,
        description="URL that receives each alert transition as a JSON POST; logs and "
        "alert records show only its scheme and host.",
    )
    alert_webhook_timeout_s: float = Field(
        default=3.0, gt=0, le=60, description="Seconds to wait for the alert webhook."
    )

    @field_validator("alert_webhook_url")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if value and not value.startswith(("http://", "https://")):
            raise ValueError("the alert webhook must be an http:// or https:// URL")
        return value or None

    auth_cache_seconds: float = Field(
        default=5.0,
        ge=0,
        le=300,
        description="How long a process trusts a verified API key or login session before "
        "reading the store again: the longest a revoked key or session keeps working.",
    )

    drift_psi_threshold: float = Field(
        default=0.2, gt=0, description="A feature drifts when its PSI is above this."
    )
    drift_psi_bins: int = Field(
        default=10, ge=2, le=100, description="Reference-quantile bins for numeric PSI."
    )
    drift_ks_pvalue: float = Field(
        default=0.01, gt=0, lt=1, description="A feature drifts when its KS p-value is below."
    )
    drift_chi2_pvalue: float = Field(
        default=0.01, gt=0, lt=1, description="A feature drifts when its chi-square p is below."
    )
    drift_min_rows: int = Field(
        default=30, ge=1, description="Fewer live rows than this: drift is not computed."
    )
    drift_max_rows: int = Field(
        default=1_000_000, ge=1, description="Newest live rows compared when a window has more."
    )
    drift_window_hours: float = Field(
        default=168.0, gt=0, description="Window drift looks back over when no since is given."
    )

    compact_interval_s: float = Field(
        default=60.0,
        ge=0,
        description=(
            "Seconds between merges of the small feature blocks each write batch leaves "
            "(what keeps drift over a long window fast); 0: off."
        ),
    )

    claim_ttl_s: float = Field(
        default=600.0,
        gt=0,
        le=7 * 24 * 3600,
        description="How long a reviewer's claim on a review item holds, in seconds.",
    )

    @property
    def resolved_database_url(self) -> str:
        return resolve_database_url(self.home, self.database_url)

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
            f"TANDEM_{'_'.join(str(p) for p in err['loc']).upper()}={_shown(err)}: {err['msg']}"
            for err in exc.errors()
        ]
        raise InvalidInput("invalid setting " + "; ".join(problems)) from None


def _shown(err: Any) -> str:
    """A bad value as the error shows it; never a webhook URL, which may hold a token."""
    return "<hidden>" if "alert_webhook_url" in err["loc"] else repr(err.get("input"))
