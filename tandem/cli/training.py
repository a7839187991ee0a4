"""Training from the command line: a progress bar around a family's train()."""

from __future__ import annotations

from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from tandem.domain import ModelVersion
from tandem.models.artifacts import ArtifactStore
from tandem.models.catalog import get_family, register
from tandem.models.interface import ModelFamily
from tandem.store.base import Store


def train_and_register(
    console: Console,
    store: Store,
    artifacts: ArtifactStore,
    families: dict[str, ModelFamily],
    name: str,
    data_dir: Path,
) -> ModelVersion:
    family = get_family(families, name)
    with Progress(
        TextColumn("[bold]{task.description:<22}"),
        BarColumn(),
        TextColumn("{task.percentage:>3.0f}%"),
        TimeElapsedColumn(),
        console=console,
        transient=True,  # an error leaves only its own line behind
    ) as bar:
        task = bar.add_task(f"training {name}", total=1.0)

        def progress(stage: str, fraction: float) -> None:
            bar.update(task, description=stage, completed=fraction)

        trained = family.train(data_dir, progress)
        bar.update(task, description="done", completed=1.0)
    version = register(store, artifacts, name, trained, status="production")
    console.print(trained.report)
    console.print(f"registered {name} version [bold]{version.version}[/] as production")
    return version
