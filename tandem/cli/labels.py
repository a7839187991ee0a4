"""`tandem labels`: every labelled prediction out to a file (for a notebook or another
tool), and labels made elsewhere in, checked against each model's labels."""

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

labels_app = typer.Typer(no_args_is_help=True, help="Labels: export them, import them.")
console = Console(stderr=True)


@labels_app.command("export")
def export(
    out: Annotated[Path, typer.Option("--out", help="The file to write ('-': stdout).")],
    model: Annotated[str | None, typer.Option(help="Only this model's predictions.")] = None,
    since: Annotated[
        str | None, typer.Option(help="Only predictions labelled at or after this ISO time.")
    ] = None,
    format: Annotated[str, typer.Option("--format", help="csv, jsonl or parquet.")] = "csv",
) -> None:
    """One row per labelled prediction: input, features, the model's label and
    confidence, the final label with its source, author and role, the holdout flag."""
    from tandem.cli.env import store_env
    from tandem.clock import parse_when
    from tandem.errors import InvalidInput
    from tandem.review.labels import FORMATS, encode, parquet_module, rows

    if format not in FORMATS:
        raise InvalidInput(f"--format {format!r}; use one of: {', '.join(FORMATS)}")
    if format == "parquet":
        parquet_module()
    when = parse_when(since, "--since")
    count = 0
    with store_env() as env:

        def counted() -> Iterator[dict[str, Any]]:
            nonlocal count
            for r in rows(env.store, model, when):
                count += 1
                yield r

        if str(out) == "-":
            for chunk in encode(counted(), format):
                sys.stdout.buffer.write(chunk)
            sys.stdout.buffer.flush()
        else:
            part = out.with_name(out.name + ".part")
            with part.open("wb") as f:
                for chunk in encode(counted(), format):
                    f.write(chunk)
            part.replace(out)
    if str(out) != "-":
        console.print(f"wrote {count} labelled predictions to {out}", highlight=False)


@labels_app.command("import")
def import_(
    file: Annotated[
        Path, typer.Argument(help="CSV or JSONL: prediction_id, label, optional author.")
    ],
    author: Annotated[
        str | None, typer.Option(help="Who made the labels (for rows without an author).")
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Check every row, write nothing.")
    ] = False,
) -> None:
    """Add labels made elsewhere, keyed by prediction id (source 'import'). Every row is
    checked first (the prediction exists, the label is one its model offers); one bad
    row refuses the whole file."""
    from tandem.cli.env import store_env
    from tandem.review.labels import import_labels, read_rows

    items = read_rows(file)
    with store_env() as env:
        result = import_labels(env.store, items, author, dry_run)
    verb = "would import" if dry_run else "imported"
    console.print(f"{verb} {len(result.labels)} labels from {file}", highlight=False)
