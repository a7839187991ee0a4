"""Training from the command line: a progress bar around a family's train()."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

if TYPE_CHECKING:
    from tandem.models.interface import Progress as ProgressFn


@contextmanager
def progress_bar(console: Console, title: str) -> Iterator[ProgressFn]:
    """A Rich bar that a family's train() reports into as (stage, fraction)."""
    with Progress(
        TextColumn("[bold]{task.description:<22}"),
        BarColumn(),
        TextColumn("{task.percentage:>3.0f}%"),
        TimeElapsedColumn(),
        console=console,
        transient=True,  # an error leaves only its own line behind
    ) as bar:
        task = bar.add_task(title, total=1.0)
        report: Callable[[str, float], None] = lambda stage, fraction: bar.update(  # noqa: E731
            task, description=stage, completed=fraction
        )
        yield report
