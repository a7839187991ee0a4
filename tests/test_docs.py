"""What users rely on is documented, the docs site builds, and the core knows no
example by name."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
import typer

from tandem.cli.main import app
from tandem.settings import Settings
from tests.conftest import ROOT

DOCS = "\n".join(page.read_text() for page in sorted((ROOT / "docs").rglob("*.md")))


@pytest.mark.parametrize("field", sorted(Settings.model_fields))
def test_every_setting_is_in_the_docs(field: str) -> None:
    assert f"`TANDEM_{field.upper()}`" in DOCS


def _commands(group: typer.Typer, prefix: str = "tandem") -> list[str]:
    found = [f"{prefix} {c.name or c.callback.__name__}" for c in group.registered_commands]  # type: ignore[union-attr]
    for sub in group.registered_groups:
        found += _commands(sub.typer_instance, f"{prefix} {sub.name}")  # type: ignore[arg-type]
    return found


@pytest.mark.parametrize("command", _commands(app))
def test_every_command_is_in_the_docs(command: str) -> None:
    assert f"`{command}" in DOCS, command


def test_reference_pages_match_the_code() -> None:
    result = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "reference.py"), "--check"],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def _mkdocs() -> str | None:
    beside = Path(sys.executable).parent / "mkdocs"
    return str(beside) if beside.exists() else shutil.which("mkdocs")


def test_docs_site_builds_strictly(tmp_path: Path) -> None:
    mkdocs = _mkdocs()
    if mkdocs is None:
        pytest.skip("mkdocs is not installed (pip install -e '.[test]' installs it)")
    result = subprocess.run(
        [mkdocs, "build", "--strict", "--site-dir", str(tmp_path / "site")],
        cwd=ROOT,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert (tmp_path / "site" / "index.html").exists()


def test_readme_links_resolve() -> None:
    readme = (ROOT / "README.md").read_text()
    targets = re.findall(r"\]\(((?:docs/)[^)#\s]+)", readme)
    assert targets, "the README links into the docs"
    assert [t for t in targets if not (ROOT / t).exists()] == []


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
