"""Write the settings and CLI references from the code, so they cannot drift.

    python scripts/reference.py           # rewrite docs/reference/{settings,cli}.md
    python scripts/reference.py --check   # exit 1 when a committed page is stale

tests/test_docs.py runs the check, so a setting or command added without
regenerating the pages fails the suite.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import typer.main
from pydantic_core import PydanticUndefined

from tandem.cli.main import app
from tandem.settings import Settings

DOCS = Path(__file__).resolve().parent.parent / "docs" / "reference"


def _cell(text: object) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def settings_page() -> str:
    lines = [
        "# Settings",
        "",
        "Every setting is an environment variable read once at start-up (pydantic-settings).",
        "This page is generated from `tandem/settings.py` by `python scripts/reference.py`.",
        "",
        "| variable | default | meaning |",
        "|---|---|---|",
    ]
    for name, field in Settings.model_fields.items():
        default = field.default
        shown = "—" if default is None or default is PydanticUndefined else f"`{default}`"
        lines.append(f"| `TANDEM_{name.upper()}` | {shown} | {_cell(field.description or '')} |")
    return "\n".join(lines) + "\n"


def _options(command: Any) -> list[str]:
    rows = []
    for param in command.params:
        if param.param_type_name == "argument":
            note = _cell(getattr(param, "help", None) or "")
            rows.append(f"| `{(param.name or '').upper()}` | argument | {note} |")
            continue
        if param.param_type_name != "option" or param.hidden or param.name == "help":
            continue
        names = ", ".join(f"`{o}`" for o in [*param.opts, *param.secondary_opts])
        default = "" if param.default in (None, False, ()) else f"`{param.default}`"
        rows.append(f"| {names} | {default} | {_cell(param.help or '')} |")
    if not rows:
        return []
    return ["| option | default | meaning |", "|---|---|---|", *rows, ""]


def _walk(command: Any, path: str) -> list[str]:
    """One section per command, groups' own help included; typer's command classes are
    its own, so groups are told apart by having sub-commands, not by class."""
    subcommands = getattr(command, "commands", None)
    lines = []
    if path != "tandem":
        help_text = (command.help or "").strip().split("\n\n")[0]
        lines += [f"## `{path}`", "", help_text, "", *_options(command)]
    for name in sorted(subcommands or {}):
        lines += _walk(subcommands[name], f"{path} {name}")
    return lines


def cli_page() -> str:
    root = typer.main.get_command(app)
    head = [
        "# Command line",
        "",
        "Generated from the Typer app by `python scripts/reference.py`; `tandem COMMAND --help`",
        "prints the same.",
        "",
    ]
    return "\n".join(head + _walk(root, "tandem")).rstrip() + "\n"


PAGES = {"settings.md": settings_page, "cli.md": cli_page}


def main(argv: list[str]) -> int:
    stale = []
    for name, render in PAGES.items():
        path = DOCS / name
        text = render()
        if "--check" in argv:
            if not path.exists() or path.read_text() != text:
                stale.append(str(path))
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
    if stale:
        print("stale: " + ", ".join(stale) + "; run: python scripts/reference.py", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
