"""`tandem --help`, `tandem keys list` and `tandem models` start without loading the
model, monitoring and serving stacks: each command imports those in its own body.

Checked by what a real `tandem` process has imported when it exits, not by timing
(benchmarks/cli.py times it)."""

from __future__ import annotations

import inspect
import json
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import typer
import typer.main

from tandem.cli.main import app
from tandem.location import store_url
from tandem.settings import Settings
from tests.conftest import env_for

STACKS = ("sklearn", "scipy", "matplotlib", "pandas", "fastapi", "uvicorn", "jinja2")
STORE = ("sqlalchemy",)
# The settings stack: a command that needs only the store reads its URL without it
# (tandem.location), and gives typer every --help value, so typer needs no pydantic.
SETTINGS = ("pydantic_settings", "pydantic")
# What a command that only reads the store leaves unloaded when the store is current:
# numpy (the drift reads) and Alembic (migrations).
STORE_ONLY = ("numpy", "alembic")
# What a command that reads one part of the store leaves unloaded: the whole store's SQL
# and every table, and the JSON encoder of the store's writes.
WHOLE_STORE = ("tandem.store.sql", "tandem.store.tables", "pydantic_core")

PROBE = """
import atexit, json, sys
watched = json.loads(sys.argv[1])
def report():
    print("LOADED", json.dumps(sorted(m for m in watched if m in sys.modules)), file=sys.stderr)
atexit.register(report)
sys.argv = ["tandem", *sys.argv[2:]]
from tandem.cli.main import run
run()
"""


def loaded(settings: Settings, watched: tuple[str, ...], *args: str) -> list[str]:
    """Which of `watched` a `tandem ARGS` process imported (the console script's entry)."""
    done = subprocess.run(
        [sys.executable, "-c", PROBE, json.dumps(watched), *args],
        env=env_for(settings),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    line = next(x for x in done.stderr.splitlines() if x.startswith("LOADED "))
    return list(json.loads(line.removeprefix("LOADED ")))


def test_importing_the_cli_loads_no_stack_no_store(settings: Settings) -> None:
    code = "import json, sys, tandem.cli.main; print(json.dumps(sorted(sys.modules)))"
    done = subprocess.run(
        [sys.executable, "-c", code], env=env_for(settings), capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    modules = set(json.loads(done.stdout))
    assert "tandem.cli.main" in modules
    assert sorted(m for m in (*STACKS, *STORE, *SETTINGS, *STORE_ONLY) if m in modules) == []


def test_help_loads_no_stack_no_store(settings: Settings) -> None:
    assert loaded(settings, (*STACKS, *STORE, *SETTINGS, *STORE_ONLY), "--help") == []


@pytest.mark.parametrize("args", [("keys", "list"), ("models",), ("models", "list")])
def test_store_commands_load_the_store_alone(trained_home: Settings, args: tuple[str]) -> None:
    # trained_home's store is current and holds a model version to list.
    watched = (*STACKS, *STORE_ONLY, *SETTINGS, *STORE, *WHOLE_STORE)
    assert loaded(trained_home, watched, *args) == sorted(STORE)


def test_the_probe_sees_what_a_command_imports_in_its_body(trained_home: Settings) -> None:
    """Not vacuous: `tandem drift` imports numpy, scipy, the settings and the whole store
    when it runs."""
    watched = ("numpy", "scipy", *SETTINGS, "tandem.store.sql", "tandem.store.tables")
    assert loaded(trained_home, watched, "drift", "--model", "ml-editor") == sorted(watched)


def test_typer_finds_every_command_annotation_evaluated() -> None:
    """A command module without `from __future__ import annotations`: Typer reads each
    command's annotations at every start, and compiling them from strings is ~15 ms."""

    def callbacks(command: Any) -> Iterator[Callable[..., object]]:
        if command.callback is not None:
            yield command.callback
        for sub in getattr(command, "commands", {}).values():
            yield from callbacks(sub)

    found = {
        f"{fn.__module__}.{fn.__qualname__}": [
            name for name, hint in inspect.get_annotations(fn).items() if isinstance(hint, str)
        ]
        for fn in callbacks(typer.main.get_command(app))
    }
    assert len(found) > 20 and "tandem.cli.keys.list_keys" in found
    assert {name: strings for name, strings in found.items() if strings} == {}


@pytest.mark.parametrize(
    "env",
    [
        {},
        {"TANDEM_HOME": "somewhere/else"},
        {"TANDEM_HOME": ""},
        {"tandem_home": "lower/case"},
        {"TANDEM_DATABASE_URL": "postgresql+psycopg://u@db/tandem"},
        {"TANDEM_DATABASE_URL": "", "TANDEM_HOME": "h"},
        {"Tandem_Database_Url": "sqlite:////tmp/x.db", "TANDEM_HOME": "h"},
    ],
)
def test_the_store_url_is_the_one_settings_resolve(
    monkeypatch: pytest.MonkeyPatch, env: dict[str, str]
) -> None:
    """What `tandem keys list` and `tandem models` open is what every other command opens."""
    for name in [k for k in os.environ if k.upper().startswith("TANDEM_")]:
        monkeypatch.delenv(name)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert store_url() == Settings().resolved_database_url
