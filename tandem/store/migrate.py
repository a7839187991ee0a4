"""Schema migrations through Alembic, driven from code so `tandem` needs no alembic.ini."""

from __future__ import annotations

import ast
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS = Path(__file__).parent / "migrations"


def alembic_config(url: str) -> Config:
    from alembic.config import Config

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
    from alembic import command

    cfg = alembic_config(engine.url.render_as_string(hide_password=False))
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK})
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, revision)


def upgrade_if_behind(engine: Engine) -> None:
    """`upgrade(engine)` unless the store already stands at the head revision.

    Loading Alembic and every migration script costs a command ~0.1 s; comparing the
    revision the store records with the scripts' own costs one query. Anything else (no
    schema yet, an older one, one from a newer Tandem, a query that fails, a script
    this cannot read) goes through `upgrade`, which migrates or reports it as before."""
    heads = head_revisions()
    if heads is None or stored_revisions(engine) != heads:
        upgrade(engine)


_ASSIGNMENT = re.compile(r"^(revision|down_revision)\s*(?::[^=]*)?=(.*)$", re.MULTILINE)


def head_revisions(versions: Path = MIGRATIONS / "versions") -> frozenset[str] | None:
    """The heads of the migration graph, from each script's one-line `revision` and
    `down_revision` assignments (as Alembic writes them), without importing the scripts.
    None when a script does not read that way. Alembic agrees: tests/store/test_migrate.py."""
    revisions: set[str] = set()
    parents: set[str] = set()
    for path in versions.glob("[!_]*.py"):
        found: dict[str, list[Any]] = {"revision": [], "down_revision": []}
        for name, value in _ASSIGNMENT.findall(path.read_text(encoding="utf-8")):
            try:
                found[name].append(ast.literal_eval(value.strip()))
            except (ValueError, SyntaxError):
                return None
        match found:
            case {"revision": [str() as revision], "down_revision": [down]}:
                revisions.add(revision)
                parents.update(() if down is None else (down,) if isinstance(down, str) else down)
            case _:
                return None
    return frozenset(revisions - parents)


def stored_revisions(engine: Engine) -> frozenset[str] | None:
    """The revisions the store's alembic_version table records; None without one.
    A store that cannot be reached raises, as `upgrade` would."""
    with engine.connect() as conn:
        try:
            rows = conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalars()
            return frozenset(rows)
        except sa.exc.DBAPIError:
            return None
