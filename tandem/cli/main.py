"""`tandem`: serve, train and govern models. Errors print one line, never a traceback."""

import atexit
import gc
import json
import sys
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

# Heavy imports go in the command bodies: see tandem/cli/__init__.py.
from tandem.cli.alerts import alerts_app, concerns
from tandem.cli.drift import drift, quality, reference
from tandem.cli.env import Env, command_env, store_env, versions_only
from tandem.cli.keys import announce_keys, keys_app
from tandem.cli.labels import labels_app
from tandem.cli.predictions import predictions_app
from tandem.cli.report import report
from tandem.errors import InvalidInput, TandemError

app = typer.Typer(
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    help="Tandem: ML predictions with people in the loop.",
)
models_app = typer.Typer(help="Model versions: list, cards, shadow, compare, promote, rollback.")
db_app = typer.Typer(no_args_is_help=True, help="The store's schema.")
# Commands from other modules are registered here, in one place and one style: a
# command group with add_typer, a single command with app.command().
app.add_typer(models_app, name="models")
app.add_typer(db_app, name="db")
app.add_typer(alerts_app, name="alerts")
app.add_typer(keys_app, name="keys")
app.add_typer(labels_app, name="labels")
app.add_typer(predictions_app, name="predictions")
app.command()(report)
app.command()(concerns)
app.command()(drift)
app.command()(quality)
models_app.command()(reference)
console = Console(stderr=True)
# At exit the interpreter's last collection walks every object still alive, nearly all
# of them the modules, classes and functions the imports made: ~15 ms of a short command
# such as `tandem keys list`. Frozen first, they are skipped; by then the command has
# closed its store and written its output.
atexit.register(gc.freeze)
# Piped output (scripts, tests) gets wide lines instead of 80-column wrapping.
out = Console(width=None if sys.stdout.isatty() else 200)


DataDir = Annotated[
    Path | None, typer.Option(help="Data folder (default: the model family's own).")
]


def _train(env: Env, name: str, data: Path | None) -> None:
    from tandem.cli.training import progress_bar
    from tandem.models.catalog import get_family
    from tandem.registry import versions as registry

    family = get_family(env.families, name)
    with progress_bar(console, f"training {name}") as report:
        trained = family.train(data, report)
    mv = registry.register(
        env.store, env.artifacts, name, trained, family.card_defaults(), production=True
    )
    console.print(trained.report)
    console.print(f"registered {name} version [bold]{mv.version}[/] as production")


@app.command()
def train(
    model: Annotated[str, typer.Argument(help="Model to train (see `tandem models`).")],
    data: DataDir = None,
) -> None:
    """Train a model on its data and register the result as the production version."""
    with command_env() as env:
        _train(env, model, data)


@app.command()
def retrain(
    model: Annotated[str, typer.Argument(help="Model to retrain.")],
    data: DataDir = None,
) -> None:
    """Train a candidate on the original data plus every label people gave; register it
    as a candidate (promotion is a separate, approved step)."""
    from tandem.cli.training import progress_bar
    from tandem.models.catalog import get_family
    from tandem.registry.retrain import retrain as retrain_family

    with command_env() as env:
        family = get_family(env.families, model)
        with progress_bar(console, f"retraining {model}") as report:
            mv, trained = retrain_family(env.store, env.artifacts, family, data, report)
        console.print(trained.report)
        current = env.store.production_version(model)
        if current is not None and current.version != mv.version:
            prod, cand = current.metrics.get("model", {}), mv.metrics.get("model", {})
            table = Table("test split", f"production {current.version}", f"candidate {mv.version}")
            for key in ("roc_auc", "f1_macro", "accuracy"):
                if key in cand:
                    table.add_row(key, str(prod.get(key)), str(cand.get(key)))
            console.print(table)
        console.print(
            f"registered {model} version [bold]{mv.version}[/] as {mv.status} "
            f"({mv.metrics.get('n_extra', 0)} labels from people)"
        )
        record = mv.metrics.get("training_labels") or {}
        if record.get("count"):
            console.print(
                f"trained on labels given {record['earliest']} to {record['latest']} "
                f"(its cut-off); label set sha256 {record['hash']}",
                soft_wrap=True,
            )


def _say_what_is_served(env: Env) -> None:
    served = [n for n in env.families if env.store.production_version(n) is not None]
    if served:
        console.print(f"serving: {', '.join(sorted(served))}")
        return
    untrained = [n for n in sorted(env.families) if n not in served]
    console.print("no model in production yet; add one while the server runs with")
    for name in untrained:
        console.print(f"  tandem train {name}")
    console.print("  tandem models add NAME --sklearn MODEL.joblib --schema SCHEMA.json")


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.", min=1, max=65535)] = 8000,
    workers: Annotated[int, typer.Option(help="Worker processes.", min=1, max=64)] = 1,
    demo_keys: Annotated[
        bool, typer.Option(help="On a home with no keys, create and print one per role.")
    ] = False,
) -> None:
    """Serve the API and the web UI with the models the registry holds (it trains none:
    add one with `tandem train NAME` or `tandem models add NAME`)."""
    import uvicorn

    from tandem.files import private_dir
    from tandem.monitor.monitoring_config import load_config
    from tandem.web.server import protocol

    with command_env() as env:
        load_config(env.settings.concerns_file)  # a bad monitoring file: one line, not a trace
        private_dir(env.settings.home)
        _say_what_is_served(env)
        announce_keys(env.store, env.settings.home, demo_keys, console)
        limits = env.settings
    console.print(f"Tandem on http://{host}:{port}  (review queue: /review, API docs: /docs)")
    uvicorn.run(
        "tandem.app:app_from_env",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        loop="uvloop",  # with --workers, asyncio's loop adds ~44 ms per request
        # httptools, plus a header timeout and size limit (idle or slow clients).
        http=protocol(limits.header_timeout_s, limits.max_header_bytes),
        timeout_keep_alive=limits.keep_alive_timeout_s,
        limit_concurrency=limits.max_connections,  # then a 503 that says so
        access_log=False,  # an access line per request costs 12-24 % of throughput
        log_level="warning",
        # With --workers, uvicorn restarts a worker that has not answered its health
        # check in time. A worker's start-up imports the model stack and loads every
        # served version, which on a busy host takes longer than uvicorn's 5 s default;
        # restarting it then only starts the same slow start-up again.
        timeout_worker_healthcheck=60,
    )


@models_app.callback(invoke_without_command=True)
def models_default(ctx: typer.Context) -> None:
    """Every registered version of every model (the default)."""
    if ctx.invoked_subcommand is None:
        models_list()


@models_app.command("list")
def models_list() -> None:
    """Every registered version of every model."""
    with versions_only() as store:
        table = Table("model", "version", "status", "created", "data hash", "test metrics")
        for v in store.list_model_versions():
            m = v.metrics.get("model", {})
            shown = ", ".join(f"{k} {m[k]}" for k in ("roc_auc", "accuracy") if m.get(k))
            status = v.status + (" + shadow" if v.shadow else "")
            table.add_row(
                v.name, v.version, status, f"{v.created_at:%Y-%m-%d %H:%M}", v.data_hash[:12], shown
            )
        out.print(table)


def _say(text: str) -> None:
    """One line, however narrow the terminal: a command in it can be copied whole."""
    console.print(text, highlight=False, soft_wrap=True)


@models_app.command("add")
def add(
    model: Annotated[
        str,
        typer.Argument(
            help="Name to serve it under, e.g. iris: 1 to 64 characters of a-z, 0-9, "
            "'.', '_' and '-', starting with a letter or digit."
        ),
    ],
    sklearn: Annotated[
        Path,
        typer.Option(
            help="A classifier or pipeline saved with joblib. Loading a joblib file runs "
            "code from it: add only files you made yourself or fully trust."
        ),
    ],
    schema: Annotated[Path, typer.Option(help='JSON: {"features": {"name": "number", ...}}')],
    reference: Annotated[
        Path | None,
        typer.Option(
            help="Feature rows for drift, e.g. the training data: a CSV whose header names "
            "the features (plus, optionally, a 'label' column of true labels), a JSON list "
            "of such objects, or a .npy in the model's feature order."
        ),
    ] = None,
    fallback: Annotated[
        str | None,
        typer.Option(
            help="What answers when the model fails or is too slow: 'majority' (the "
            "reference's most common label), 'constant:LABEL', 'uniform', or a second "
            "joblib model with the same features (a pickle too: trust it as the model). "
            "Default: majority of the reference's labels, else of the model's answers on "
            "it, else uniform."
        ),
    ] = None,
) -> None:
    """Serve a saved scikit-learn model: the first version goes to production, later
    ones are candidates to compare and promote.

    A joblib file is a pickle: loading it runs whatever code it holds, with your
    rights. Trust only your own files."""
    from tandem.models.sklearn_adapter import SklearnFamily, package
    from tandem.registry import versions as registry
    from tandem.registry.names import check_model_name

    check_model_name(model)  # before any file is read
    with command_env() as env:
        if model in env.families and not isinstance(env.families[model], SklearnFamily):
            raise InvalidInput(f"{model!r} is an installed model family; choose another name")
        trained = package(sklearn, schema, reference, fallback)
        first = env.store.production_version(model) is None
        described = trained.metrics["fallback"]
        mv = registry.register(
            env.store, env.artifacts, model, trained, {"fallback": described}, production=first
        )
        _say(
            f"registered {model} version [bold]{mv.version}[/] as {mv.status} "
            f"({trained.metrics['estimator']}, labels: "
            f"{escape(', '.join(json.loads(trained.content)['labels']))})"
        )
        _say(f"fallback: {escape(described)}")
        if trained.reference is None:
            _say(
                f"no drift reference: add one with `tandem models reference {model} "
                f"{mv.version} ROWS` (ROWS: e.g. its training data) to monitor drift"
            )
        else:
            r = trained.reference
            _say(
                f"drift reference: {r.rows} of {r.total_rows} rows, {len(r.feature_names)} features"
            )


@models_app.command("card")
def card(model: str, version: str) -> None:
    """Print a version's model card as Markdown."""
    from tandem.registry.cards import render_markdown

    with store_env() as env:
        print(render_markdown(env.store.get_model_version(model, version)))


@models_app.command("promote")
def promote(
    model: str,
    version: str,
    approver: Annotated[str, typer.Option(help="Who approves this promotion.")] = "",
    comment: Annotated[str, typer.Option(help="Why this version should serve.")] = "",
) -> None:
    """Serve VERSION in production: needs --approver and --comment; stored for audit."""
    from tandem.registry import versions as registry
    from tandem.registry.compare import compare

    with command_env() as env:

        def evidence() -> dict[str, Any]:
            current = env.store.production_version(model)
            if current is None or current.version == version:
                return {}
            result = compare(
                env.store,
                model,
                env.predictor(model, current.version),
                env.predictor(model, version),
            )
            result.pop("disagreements")
            return {"comparison": result}

        event = registry.promote(env.store, model, version, approver, comment, evidence)
        console.print(
            f"{model} {version} is in production (was {event.previous_version}); "
            f"approved by {event.actor}"
        )


@models_app.command("rollback")
def rollback(
    model: str,
    actor: Annotated[str, typer.Option(help="Who rolls back.")] = "cli",
    comment: Annotated[str, typer.Option(help="Why.")] = "",
) -> None:
    """Serve again the previous production version."""
    from tandem.registry import versions as registry

    with store_env() as env:
        event = registry.rollback(env.store, model, actor, comment or None)
        console.print(f"{model} rolled back from {event.previous_version} to {event.version}")


@models_app.command("shadow")
def shadow(
    model: str,
    version: Annotated[str | None, typer.Argument(help="Candidate to shadow.")] = None,
    off: Annotated[bool, typer.Option("--off", help="Stop shadowing.")] = False,
    actor: Annotated[str, typer.Option(help="Who changes it.")] = "cli",
) -> None:
    """Let a candidate score live traffic next to production, never answering users."""
    if not off and not version:
        raise InvalidInput("name the VERSION to shadow, or pass --off")
    from tandem.registry import versions as registry

    with store_env() as env:
        registry.set_shadow(env.store, model, None if off else version, actor)
        console.print(f"{model}: shadow {'off' if off else version}")


@models_app.command("compare")
def compare_cmd(model: str, version: str) -> None:
    """Production vs VERSION: agreement, accuracy on labels neither was trained on, latency."""
    from tandem.registry.compare import compare

    with command_env() as env:
        current = env.store.production_version(model)
        if current is None:
            raise InvalidInput(f"model {model!r} has no production version")
        result = compare(
            env.store, model, env.predictor(model, current.version), env.predictor(model, version)
        )
        disagreements = result.pop("disagreements")
        out.print_json(json.dumps(result))
        console.print(f"{len(disagreements)} disagreements shown on /models/{model}/{version}")


@app.command()
def replay(
    version: Annotated[str, typer.Option(help="Version to re-score with.")],
    model: Annotated[str, typer.Option(help="Model name.")],
    since: Annotated[datetime | None, typer.Option(help="From this time (UTC).")] = None,
    until: Annotated[datetime | None, typer.Option(help="Before this time (UTC).")] = None,
    route: Annotated[str | None, typer.Option(help="model, review or fallback.")] = None,
    label: Annotated[str | None, typer.Option(help="Only predictions with this label.")] = None,
    limit: Annotated[int, typer.Option(min=1)] = 1000,
) -> None:
    """Re-score logged predictions with VERSION and compare with what was answered."""
    from tandem.registry.replay import replay as replay_one
    from tandem.registry.replay import summarize
    from tandem.store.base import PredictionFilter

    with command_env() as env:
        predictor = env.predictor(model, version)
        where = PredictionFilter(
            model=model, since=since, until=until, route=route, label=label, limit=limit
        )
        results = [replay_one(p, predictor) for p in env.store.list_predictions(where)]
        table = Table("prediction", "logged", "replayed", "same", "max Δp")
        for r in results[:50]:
            o, n = r["original"], r["replayed"]
            table.add_row(
                r["prediction_id"],
                f"{o['label']} {o['confidence']:.3f} ({o['version']})",
                f"{n['label']} {n['confidence']:.3f}",
                "yes" if r["same_label"] else "NO",
                f"{r['max_probability_change']:.4f}",
            )
        out.print(table)
        out.print_json(json.dumps(summarize(results)))


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Apply the schema migrations to the store (also done at start-up)."""
    from tandem.settings import load_settings
    from tandem.store import open_store

    settings = load_settings()
    open_store(settings.resolved_database_url, migrate=True).close()
    console.print("store schema is up to date")


@db_app.command("compact")
def db_compact() -> None:
    """Merge the small feature blocks each write batch leaves (the server does this
    every TANDEM_COMPACT_INTERVAL_S); drift over a long window then reads a few rows."""
    from tandem.settings import load_settings
    from tandem.store import open_store

    settings = load_settings()
    store = open_store(settings.resolved_database_url, migrate=True)
    try:
        done = store.compact_feature_blocks()
    finally:
        store.close()
    out.print(done.describe())


def _help_unasked(command: Any) -> dict[str, Any]:
    """A default map giving every command's --help its value when not passed (False).

    Typer validates an option it has no value for through pydantic, loaded for that
    alone (~40 ms of every command's start); with the value given, it loads nothing."""
    defaults: dict[str, Any] = {"help": False}
    for name, sub in getattr(command, "commands", {}).items():
        defaults[name] = _help_unasked(sub)
    return defaults


def run() -> None:
    """Console-script entry: Tandem's own errors become one line and exit code 2."""
    try:
        command = typer.main.get_command(app)
        command(default_map=_help_unasked(command))
    except TandemError as exc:
        # Escaped: a message quoting a user's text or a rule ("[a-z]") is not markup.
        console.print(f"[red]error:[/] {escape(exc.message)}", highlight=False, soft_wrap=True)
        sys.exit(2)
    except OSError as exc:
        console.print(f"[red]error:[/] {escape(str(exc))}", highlight=False, soft_wrap=True)
        sys.exit(2)


if __name__ == "__main__":
    run()
