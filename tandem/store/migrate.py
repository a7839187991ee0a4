"""Schema migrations through Alembic, driven from code so `tandem` needs no alembic.ini."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from sqlalchemy.engine import Engine

MIGRATIONS = Path(__file__).parent / "migrations"


def alembic_config(url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


MIGRATION_LOCK = 7_342_201_553  # any constant: names Tandem's lock among advisory locks


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Bring the store's schema to `revision` (idempotent).

    Several processes may start at once against one PostgreSQL (`tandem serve
    --workers N`, or N hosts): a transaction-scoped advisory lock makes them migrate
    one after another, so the later ones find the schema current and do nothing."""
    cfg = alembic_config(engine.url.render_as_string(hide_password=False))
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK})
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, revision)
