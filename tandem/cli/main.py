"""`tandem`: serve, train and inspect. Errors print one line, never a traceback."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from tandem.cli.training import train_and_register
from tandem.errors import TandemError
from tandem.models.artifacts import ArtifactStore
from tandem.models.catalog import discover_families
from tandem.settings import Settings, load_settings
from tandem.store import open_store

app = typer.Typer(
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    help="Tandem: ML predictions with people in the loop.",
)
models_app = typer.Typer(no_args_is_help=True, help="Model versions in the store.")
app.add_typer(models_app, name="models")
console = Console(stderr=True)


def _settings() -> Settings:
    return load_settings()


@app.command()
def train(
    model: Annotated[str, typer.Argument(help="Model to train, e.g. ml-editor.")],
    data: Annotated[
        Path | None, typer.Option(help="Data folder (default TANDEM_DATA_DIR).")
    ] = None,
) -> None:
    """Train a model on its data and register the result as the production version."""
    settings = _settings()
    store = open_store(settings.resolved_database_url)
    try:
        train_and_register(
            console,
            store,
            ArtifactStore(settings.artifacts_dir),
            discover_families(),
            model,
            data or settings.data_dir,
        )
    finally:
        store.close()


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.", min=1, max=65535)] = 8000,
    workers: Annotated[int, typer.Option(help="Worker processes.", min=1, max=64)] = 1,
) -> None:
    """Serve the API and the web UI; first trains any model that has no production version."""
    import uvicorn

    settings = _settings()
    settings.home.mkdir(parents=True, exist_ok=True)
    store = open_store(settings.resolved_database_url)
    try:
        families = discover_families()
        for name in families:
            if store.production_version(name) is None:
                console.print(f"no production version of {name} yet: training one")
                train_and_register(
                    console,
                    store,
                    ArtifactStore(settings.artifacts_dir),
                    families,
                    name,
                    settings.data_dir,
                )
    finally:
        store.close()
    console.print(f"Tandem on http://{host}:{port}  (review queue: /review, API docs: /docs)")
    uvicorn.run(
        "tandem.serving.app:app_from_env",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        loop="uvloop",  # with --workers, asyncio's loop adds ~44 ms per request (NOTES.md)
        http="httptools",
        access_log=False,  # an access line per request costs 12-24 % of throughput
        log_level="warning",
    )


@models_app.command("list")
def models_list() -> None:
    """Every registered version of every model."""
    settings = _settings()
    store = open_store(settings.resolved_database_url)
    try:
        table = Table("model", "version", "status", "created", "data hash", "ROC-AUC")
        for v in store.list_model_versions():
            auc = v.metrics.get("model", {}).get("roc_auc", "")
            table.add_row(
                v.name,
                v.version,
                v.status,
                f"{v.created_at:%Y-%m-%d %H:%M}",
                v.data_hash[:12],
                str(auc),
            )
        Console().print(table)
    finally:
        store.close()


def run() -> None:
    """Console-script entry: Tandem's own errors become one line and exit code 2."""
    try:
        app()
    except TandemError as exc:
        console.print(f"[red]error:[/] {exc.message}", highlight=False, soft_wrap=True)
        sys.exit(2)
    except OSError as exc:
        console.print(f"[red]error:[/] {exc}", highlight=False, soft_wrap=True)
        sys.exit(2)


if __name__ == "__main__":
    run()
