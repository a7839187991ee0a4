"""Opening a store migrates it only when it is behind: a current store is recognised by
comparing its recorded revision with the migration scripts' heads, read without Alembic.
On SQLite, and on PostgreSQL when TANDEM_TEST_DATABASE_URL is set."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.script import ScriptDirectory

from tandem.settings import Settings
from tandem.store import make_engine, open_store
from tandem.store.migrate import alembic_config, head_revisions, stored_revisions, upgrade


def test_the_heads_read_from_the_scripts_are_alembics() -> None:
    scripts = ScriptDirectory.from_config(alembic_config("sqlite://"))
    assert head_revisions() == frozenset(scripts.get_heads())


@pytest.mark.empty_store
def test_a_store_behind_the_head_is_migrated_when_opened(settings: Settings) -> None:
    engine = make_engine(settings.resolved_database_url)
    upgrade(engine, "0007")
    assert stored_revisions(engine) == {"0007"}
    assert "feature_blocks" not in sa.inspect(engine).get_table_names()

    open_store(settings.resolved_database_url).close()
    assert stored_revisions(engine) == head_revisions()
    assert "feature_blocks" in sa.inspect(engine).get_table_names()
    engine.dispose()


@pytest.mark.empty_store
def test_an_empty_store_has_no_revision_until_opened(settings: Settings) -> None:
    engine = make_engine(settings.resolved_database_url)
    assert stored_revisions(engine) is None
    open_store(settings.resolved_database_url).close()
    assert stored_revisions(engine) == head_revisions()
    engine.dispose()


def _script(folder: Path, name: str, body: str) -> None:
    (folder / f"{name}.py").write_text(
        f'"""{name}"""\n\n{body}\n\n\ndef upgrade() -> None:\n    pass\n'
    )


def test_heads_follow_branches_and_merges(tmp_path: Path) -> None:
    _script(tmp_path, "a", 'revision = "a"\ndown_revision = None')
    _script(
        tmp_path,
        "b",
        'revision: str = "b"  # typed, as newer templates write it\ndown_revision = "a"',
    )
    _script(tmp_path, "c", "revision = 'c'\ndown_revision = 'a'")
    assert head_revisions(tmp_path) == {"b", "c"}
    _script(tmp_path, "d", 'revision = "d"\ndown_revision = ("b", "c")')
    assert head_revisions(tmp_path) == {"d"}


def test_a_script_read_otherwise_leaves_the_decision_to_alembic(tmp_path: Path) -> None:
    """None, so opening the store runs `upgrade`: never a wrong "current"."""
    _script(tmp_path, "a", 'revision = "a"\ndown_revision = None')
    _script(tmp_path, "b", 'revision = "b"\ndown_revision = (\n    "a",\n)')
    assert head_revisions(tmp_path) is None
    (tmp_path / "b.py").write_text('REV = "b"\nrevision = REV\ndown_revision = "a"\n')
    assert head_revisions(tmp_path) is None
