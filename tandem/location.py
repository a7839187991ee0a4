"""Where Tandem keeps its state, read from the environment without pydantic.

`Settings` takes its variable prefix, its home default and its database URL rule from
here; commands that need only the store (`tandem keys list`, `tandem models`) read the
same two settings through `store_url`, without loading the settings stack."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

ENV_PREFIX = "TANDEM_"
DEFAULT_HOME = Path(".tandem")


def resolve_database_url(home: Path, database_url: str | None) -> str:
    """The store's SQLAlchemy URL: the one given, else a SQLite file in the home."""
    if database_url:
        return database_url
    return f"sqlite:///{(home / 'tandem.db').resolve()}"


def env_setting(name: str, environ: Mapping[str, str] | None = None) -> str | None:
    """A setting's raw value as `Settings` reads it: TANDEM_NAME in any letter case
    (the last spelling in the environment wins), None when unset."""
    wanted = (ENV_PREFIX + name).lower()
    found = {k.lower(): v for k, v in (os.environ if environ is None else environ).items()}
    return found.get(wanted)


def store_url(environ: Mapping[str, str] | None = None) -> str:
    """The store's URL from TANDEM_DATABASE_URL and TANDEM_HOME, as
    `Settings().resolved_database_url` gives it."""
    home = env_setting("home", environ)
    return resolve_database_url(
        DEFAULT_HOME if home is None else Path(home), env_setting("database_url", environ)
    )
