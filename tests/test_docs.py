"""What users rely on is documented, and the core knows no example by name."""

from __future__ import annotations

import json
import re
import tomllib

import pytest
import typer

from tandem.cli.main import app
from tandem.settings import Settings
from tests.conftest import ROOT

README = (ROOT / "README.md").read_text()


@pytest.mark.parametrize("field", sorted(Settings.model_fields))
def test_every_setting_is_in_the_readme(field: str) -> None:
    assert f"`TANDEM_{field.upper()}`" in README


def _commands(group: typer.Typer, prefix: str = "tandem") -> list[str]:
    found = [f"{prefix} {c.name or c.callback.__name__}" for c in group.registered_commands]  # type: ignore[union-attr]
    for sub in group.registered_groups:
        found += _commands(sub.typer_instance, f"{prefix} {sub.name}")  # type: ignore[arg-type]
    return found


@pytest.mark.parametrize("command", _commands(app))
def test_every_command_is_in_the_readme(command: str) -> None:
    assert f"`{command}" in README, command


def test_core_has_no_special_case_for_an_example() -> None:
    offenders = [
        f"{path.relative_to(ROOT)}:{n}"
        for path in (ROOT / "tandem").rglob("*")
        if path.suffix in {".py", ".html"}
        for n, line in enumerate(path.read_text().splitlines(), 1)
        if re.search(r"ml.editor|tandem_examples|[\"']digits[\"']|stack exchange", line, re.I)
    ]
    assert offenders == []


def test_core_distribution_ships_no_example() -> None:
    """The examples are their own distribution (examples/pyproject.toml): the core's
    declares no model family and packages only `tandem`."""
    core = tomllib.loads((ROOT / "pyproject.toml").read_text())
    entry_points = core["project"].get("entry-points", {})
    assert "tandem.models" not in entry_points
    assert "tandem_examples" not in json.dumps(core["project"])
    assert core["tool"]["setuptools"]["packages"]["find"]["include"] == ["tandem*"]
    assert not (ROOT / "tandem_examples").exists()
    examples = tomllib.loads((ROOT / "examples" / "pyproject.toml").read_text())
    assert examples["project"]["name"] == "tandem-examples"
    assert set(examples["project"]["entry-points"]["tandem.models"]) == {"ml-editor", "digits"}
