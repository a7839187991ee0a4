"""`tandem predictions export`: logged predictions (or a version's drift reference) out to
Parquet with one column per feature, for DuckDB, Spark or a notebook."""

from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

predictions_app = typer.Typer(no_args_is_help=True, help="Logged predictions: export them.")
console = Console(stderr=True)


@predictions_app.command("export")
def export(
    model: Annotated[str, typer.Option(help="Model name.")],
    out: Annotated[Path, typer.Option("--out", help="The Parquet file to write.")],
    since: Annotated[datetime | None, typer.Option(help="From this time (UTC).")] = None,
    until: Annotated[datetime | None, typer.Option(help="Before this time (UTC).")] = None,
    version: Annotated[str | None, typer.Option(help="Version (default: production).")] = None,
    reference: Annotated[
        bool,
        typer.Option("--reference", help="Write the version's drift reference instead."),
    ] = False,
    format: Annotated[str, typer.Option("--format", help="parquet (the only one).")] = "parquet",
) -> None:
    """One row per logged prediction of the window: time, model, version, label,
    confidence, route and one column per feature; drift over it in DuckDB gives
    Tandem's numbers (docs/drift.md)."""
    from tandem.cli.env import store_env
    from tandem.clock import as_utc
    from tandem.domain import PredictionFilter
    from tandem.errors import InvalidInput
    from tandem.monitor.export import export_predictions, export_reference

    if format != "parquet":
        raise InvalidInput(f"--format {format!r}; use parquet")
    with store_env() as env:
        if reference:
            found, rows = export_reference(env.store, model, out, version)
            what = "reference rows"
        else:
            start = None if since is None else as_utc(since)
            end = None if until is None else as_utc(until)
            where = PredictionFilter(model, start, end, version=version)
            found, rows = export_predictions(env.store, where, out)
            what = "predictions"
    console.print(
        f"wrote {rows:,} {what} of {model} {found} to {out}", highlight=False, soft_wrap=True
    )
