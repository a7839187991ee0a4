"""`tandem report`: the stakeholder report as a file, for people who read email, not dashboards."""

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from tandem.cli.env import command_env
from tandem.errors import InvalidInput

console = Console(stderr=True)


def report(
    out: Annotated[
        Path | None, typer.Option("--out", help="Write to FILE: .html or .pdf (by its suffix).")
    ] = None,
    since: Annotated[str | None, typer.Option(help="From this date/time (UTC).")] = None,
    until: Annotated[str | None, typer.Option(help="Until this date (inclusive) or time.")] = None,
    model: Annotated[str | None, typer.Option(help="Only this model.")] = None,
) -> None:
    """Volume, speed, reviewers' work and bug reports over a window (default: 30 days)."""
    if out is not None and out.suffix.lower() not in (".html", ".pdf"):
        raise InvalidInput(f"--out {out}: the file name must end in .html or .pdf")
    from tandem.report.format import headline_lines
    from tandem.report.reports import Reports

    with command_env() as env:
        summary = Reports(env.store, env.predictor, editor=env.store).report(since, until, model)
    if out is None:
        typer.echo("\n".join(headline_lines(summary)))
        return
    if out.suffix.lower() == ".pdf":
        from tandem.report.pdf import render_pdf

        out.write_bytes(render_pdf(summary))
    else:
        from tandem.pages.report import render_html

        out.write_text(render_html(summary, export=True), encoding="utf-8")
    console.print(f"wrote {out}")
