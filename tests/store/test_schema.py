"""tables.py and the migrations describe one schema.

The store's code reads and writes through the tables in tandem/store/tables.py, but a
database only ever gets the schema the Alembic migrations build. A database upgraded to
head must therefore have exactly what tables.py declares: tables, columns, types,
nullability, server defaults, indexes, unique constraints and foreign keys (compared by
Alembic's autogenerate, the same diff that drafts a migration), plus primary keys and
check constraints (which autogenerate does not compare, so they are compared here from
the inspector). On SQLite by default, on PostgreSQL when TANDEM_TEST_DATABASE_URL is set.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy.engine import Engine

from tandem.settings import Settings
from tandem.store import make_engine
from tandem.store import tables as t
from tandem.store.migrate import upgrade

HOW_TO_FIX = """\
Fix it one of two ways:
  - the database is behind: add a migration under tandem/store/migrations/versions/
    (next number, down_revision = the current head) that makes the database match
    tables.py; to draft one, upgrade a scratch SQLite file to head and run
      python -c "from alembic import command; from tandem.store.migrate import alembic_config; \\
        command.revision(alembic_config('sqlite:///scratch.db'), 'what changed', \\
        autogenerate=True, rev_id='NNNN')"
    then check it by hand (SQLite needs batch_alter_table; existing rows need values);
  - tables.py is wrong: change it to match what the migrations build."""


@pytest.fixture
def migrated(settings: Settings) -> Iterator[Engine]:
    """An empty database brought to head by the migrations, as `open_store` does."""
    engine = make_engine(settings.resolved_database_url)
    upgrade(engine)
    yield engine
    engine.dispose()


def test_the_migrations_build_the_schema_tables_py_declares(migrated: Engine) -> None:
    differences = schema_differences(migrated, t.metadata)
    assert not differences, report(migrated, differences)


def test_a_schema_that_drifted_from_the_migrations_is_reported(migrated: Engine) -> None:
    """The comparison is not vacuous: each kind of drift in a copy of tables.py shows up."""
    drifted = sa.MetaData(naming_convention=t.metadata.naming_convention)
    for table in t.metadata.sorted_tables:
        table.to_metadata(drifted)
    # extend_existing adds the columns given here, replacing those of the same name.
    sa.Table(
        "predictions",
        drifted,
        sa.Column("score", sa.Float, nullable=True),
        sa.Column("label", sa.String(200), nullable=False),
        sa.Column("fallback_reason", sa.String(200), nullable=False),
        extend_existing=True,
    )
    sa.Table(
        "model_versions",
        drifted,
        sa.Column("card", sa.JSON, nullable=False, server_default="[]"),
        extend_existing=True,
    )
    sa.Table(
        "alert_checks",
        drifted,
        sa.Column("signal", sa.String(64), primary_key=True),
        extend_existing=True,
    )
    feedback = drifted.tables["feedback"]
    feedback.indexes.discard(next(iter(feedback.indexes)))
    drifted.tables["api_keys"].append_constraint(sa.UniqueConstraint("name"))
    drifted.tables["intake"].append_constraint(
        sa.ForeignKeyConstraint(["prediction_id"], ["predictions.id"])
    )
    drifted.tables["api_keys"].append_constraint(sa.CheckConstraint("prefix <> ''", name="prefix"))
    sa.Table("notes", drifted, sa.Column("id", sa.String(32), primary_key=True))

    differences = schema_differences(migrated, drifted)

    message = report(migrated, differences)
    expected = [
        "column predictions.score",
        "type of predictions.label: VARCHAR(100) in the database, VARCHAR(200) in tables.py",
        "nullability of predictions.fallback_reason: NULL in the database, NOT NULL",
        "server default of model_versions.card",
        "primary key of alert_checks: (rule) in the database, (rule, signal) in tables.py",
        "index ix_feedback_prediction_id on feedback(prediction_id)",
        "unique constraint uq_api_keys_name on api_keys(name)",
        "foreign key fk_intake_prediction_id_predictions on intake(prediction_id)",
        "check constraint ck_api_keys_prefix on api_keys",
        "table notes",
    ]
    for fragment in expected:
        assert fragment in message, f"{fragment!r} not reported in:\n{message}"
    assert len(differences) == len(expected), message
    assert "tandem/store/migrations/versions/" in message


# -- the comparison


def schema_differences(engine: Engine, target: sa.MetaData) -> list[str]:
    """Each way the database behind `engine` differs from `target`, one line each."""
    with engine.connect() as conn:
        context = MigrationContext.configure(
            conn,
            opts={"compare_type": True, "compare_server_default": _server_defaults_differ},
        )
        found = [_describe(d) for d in _flatten(compare_metadata(context, target))]
        found += _key_differences(sa.inspect(conn), target)
    return found


def report(engine: Engine, differences: list[str]) -> str:
    lines = "\n".join(f"  - {d}" for d in differences)
    return (
        f"tables.py and the schema the migrations build on {engine.dialect.name} differ "
        f"({len(differences)}):\n{lines}\n{HOW_TO_FIX}"
    )


def _server_defaults_differ(
    context: MigrationContext,
    inspected_column: Any,
    metadata_column: sa.Column[Any],
    inspected_default: str | None,
    metadata_default: Any,
    rendered_metadata_default: str | None,
) -> bool | None:
    """Alembic compares PostgreSQL defaults by asking the server `default = default`,
    which JSON has no operator for; compare those as text, leave the rest to Alembic."""
    if context.dialect.name != "postgresql" or not isinstance(metadata_column.type, sa.JSON):
        return None
    if inspected_default is None or rendered_metadata_default is None:
        return (inspected_default is None) != (rendered_metadata_default is None)
    return _bare(inspected_default) != _bare(rendered_metadata_default)


def _bare(default: str) -> str:
    """'{}'::json -> {}"""
    return re.sub(r"::[\w ]+$", "", default.strip()).strip("'")


def _flatten(diffs: list[Any]) -> Iterator[tuple[Any, ...]]:
    # Alembic groups the changes to one column in a list of its own.
    for d in diffs:
        if isinstance(d, list):
            yield from d
        else:
            yield d


def _describe(diff: tuple[Any, ...]) -> str:
    kind = diff[0]
    only_in = "only in tables.py" if kind.startswith("add") else "only in the database"
    if kind in ("add_table", "remove_table"):
        return f"table {diff[1].name} is {only_in}"
    if kind in ("add_column", "remove_column"):
        _, _, table, column = diff
        return f"column {table}.{column.name} ({column.type}) is {only_in}"
    if kind in ("add_index", "remove_index"):
        index = diff[1]
        unique = "unique " if index.unique else ""
        return f"{unique}index {index.name} on {_on(index.table, index.columns)} is {only_in}"
    if kind in ("add_constraint", "remove_constraint"):
        c = diff[1]
        return f"unique constraint {c.name} on {_on(c.table, c.columns)} is {only_in}"
    if kind in ("add_fk", "remove_fk"):
        fk = diff[1]
        target = f"{fk.referred_table.name}({', '.join(e.column.name for e in fk.elements)})"
        return f"foreign key {fk.name} on {_on(fk.table, fk.columns)} -> {target} is {only_in}"
    if kind.startswith("modify_"):
        _, _, table, column, _info, in_db, in_tables = diff
        what = {"modify_type": "type", "modify_nullable": "nullability"}.get(
            kind, kind.removeprefix("modify_").replace("_", " ")
        )
        if kind == "modify_nullable":
            in_db, in_tables = (("NULL" if n else "NOT NULL") for n in (in_db, in_tables))
        if kind == "modify_default":
            what = "server default"
            in_db, in_tables = (_default_text(d) for d in (in_db, in_tables))
        return f"{what} of {table}.{column}: {in_db} in the database, {in_tables} in tables.py"
    return repr(diff)


def _on(table: sa.Table, columns: Any) -> str:
    return f"{table.name}({', '.join(c.name for c in columns)})"


def _default_text(default: Any) -> str:
    if default is None:
        return "none"
    arg = getattr(default, "arg", default)
    return repr(arg) if isinstance(arg, str) else str(arg)


def _key_differences(inspector: sa.Inspector, target: sa.MetaData) -> list[str]:
    """Primary keys and check constraint names, which autogenerate leaves out."""
    found = []
    existing = set(inspector.get_table_names())
    for table in target.sorted_tables:
        if table.name not in existing:
            continue  # reported as a missing table already
        in_db = tuple(inspector.get_pk_constraint(table.name)["constrained_columns"])
        declared = tuple(c.name for c in table.primary_key.columns)
        if sorted(in_db) != sorted(declared):
            found.append(
                f"primary key of {table.name}: ({', '.join(in_db)}) in the database, "
                f"({', '.join(declared)}) in tables.py"
            )
        checks_in_db = {str(c["name"]) for c in inspector.get_check_constraints(table.name)}
        checks = {
            str(c.name) for c in table.constraints if isinstance(c, sa.CheckConstraint) and c.name
        }
        for name in sorted(checks - checks_in_db):
            found.append(f"check constraint {name} on {table.name} is only in tables.py")
        for name in sorted(checks_in_db - checks):
            found.append(f"check constraint {name} on {table.name} is only in the database")
    return found
