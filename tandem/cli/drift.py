"""`tandem drift`, `tandem quality` and `tandem models reference`: monitoring from a shell."""

import json
import sys
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.table import Table

from tandem.cli.env import command_env

if TYPE_CHECKING:
    from tandem.monitor.model_drift import ModelDrift
    from tandem.monitor.quality import QualityReport
    from tandem.monitor.results import FeatureDrift

console = Console(stderr=True)
out = Console(width=None if sys.stdout.isatty() else 200)
Since = Annotated[datetime | None, typer.Option(help="From this time (UTC).")]
Until = Annotated[datetime | None, typer.Option(help="Before this time (UTC; default now).")]
AsJson = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]


def drift(
    model: Annotated[str, typer.Option(help="Model name.")],
    since: Since = None,
    until: Until = None,
    version: Annotated[str | None, typer.Option(help="Version (default: production).")] = None,
    psi_threshold: Annotated[float | None, typer.Option(help="Override PSI threshold.")] = None,
    as_json: AsJson = False,
) -> None:
    """Live feature, label and confidence distributions against the training reference."""
    from tandem.monitor.model_drift import drift_config, drift_for
    from tandem.monitor.serialize import drift_json

    with command_env() as env:
        s = env.settings
        result = drift_for(
            env.store,
            model,
            since,
            until,
            drift_config(s, psi_threshold=psi_threshold),
            version,
            min_rows=s.drift_min_rows,
            max_rows=s.drift_max_rows,
            default_window=timedelta(hours=s.drift_window_hours),
        )
    if as_json:
        out.print_json(json.dumps(drift_json(result)))
        return
    _print_drift(result)


def _print_drift(d: "ModelDrift") -> None:
    out.print(
        f"[bold]{d.model}[/] {d.version} · {d.since:%Y-%m-%d %H:%M} to {d.until:%Y-%m-%d %H:%M} UTC"
        f" · {d.live_rows} live rows vs {d.reference_rows} reference rows ({d.reference_source})"
    )
    if not d.enough_data:
        out.print(f"[yellow]not enough data:[/] {d.message}")
        return
    table = Table("feature", "kind", "drifted", "PSI", "KS D", "p-value", "live n", "notes")
    rows = d.ranked() + [f for f in (d.predictions, d.confidence) if f is not None]
    for f in rows:
        table.add_row(*_row(f))
    out.print(table)
    verdict = "[red]DRIFT[/]" if d.drifted else "[green]no drift[/]"
    c = d.config
    out.print(
        f"{verdict}: {d.message} (thresholds: PSI > {c.psi_threshold:g}, "
        f"KS p < {c.ks_pvalue_threshold:g}, chi-square p < {c.chi2_pvalue_threshold:g})"
    )


def _row(f: "FeatureDrift") -> list[str]:
    pvalue = f.ks_pvalue if f.kind == "numeric" else f.chi2_pvalue
    return [
        f.name,
        f.kind,
        "[red]yes[/] (" + ", ".join(f.triggered) + ")" if f.drifted else "no",
        f"{f.psi:.3f}",
        f"{f.ks_statistic:.3f}" if f.ks_statistic is not None else "",
        f"{pvalue:.2g}" if pvalue is not None else "",
        str(f.live_size),
        "; ".join(f.notes),
    ]


def quality(
    model: Annotated[str, typer.Option(help="Model name.")],
    by: Annotated[str, typer.Option(help="day or week.")] = "day",
    since: Since = None,
    until: Until = None,
    as_json: AsJson = False,
) -> None:
    """Live accuracy and F1 per day or week on labelled items, vs the rule baseline and
    vs agreement between two people."""
    from tandem.monitor.quality import quality_over_time
    from tandem.monitor.serialize import quality_json

    with command_env() as env:
        report = quality_over_time(env.store, model, by, since, until, env.predictor)
    if as_json:
        out.print_json(json.dumps(quality_json(report)))
        return
    _print_quality(report)


def _print_quality(q: "QualityReport") -> None:
    from tandem.report.format import num

    table = Table(
        q.by, "items", "model acc", "model F1", "baseline acc", "baseline F1", "agreement (n)"
    )
    for p in (*q.periods, q.overall):
        table.add_row(
            p.label,
            str(p.items),
            num(p.model.accuracy, 3),
            num(p.model.f1_macro, 3),
            num(p.baseline.accuracy, 3),
            num(p.baseline.f1_macro, 3),
            f"{num(p.agreement, 3)} ({p.agreement_items})",
            end_section=p is q.periods[-1] if q.periods else False,
        )
    out.print(table)
    for note in q.notes:
        out.print(f"note: {note}")


def reference(
    model: Annotated[str, typer.Argument(help="Model name.")],
    version: Annotated[str, typer.Argument(help="Version to attach the reference to.")],
    rows: Annotated[
        Path,
        typer.Argument(
            help="CSV (header naming the features; a 'label' column is ignored), JSON "
            "(a list of objects) or .npy (the model's feature order)."
        ),
    ],
) -> None:
    """Store (or replace) a version's drift reference: feature rows such as its training
    data, scored by the version itself."""
    from tandem.models.reference_sample import csv_header, predictor_names, read_rows, row_by_row
    from tandem.models.reference_sample import sample_reference as sample
    from tandem.monitor.reference import save_reference

    with command_env() as env:
        predictor = env.predictor(model, version)
        # The model's own column order when it declares one (rows are read into it by
        # their header); otherwise the header's names are the features.
        declared = list(getattr(predictor, "feature_names", ()))
        names = declared or csv_header(rows) or predictor_names(predictor)
        matrix = read_rows(rows, names)
        batch = getattr(predictor, "predict_proba_rows", None)
        scored = sample(
            names,
            matrix,
            predictor.labels,
            batch if callable(batch) else row_by_row(predictor, names),
            source=f"file {rows.name}",
        )
        stored = save_reference(env.store, model, version, scored)
    console.print(
        f"stored the drift reference of {model} {version}: {stored.rows} of "
        f"{stored.total_rows} rows, {len(stored.feature_names)} features"
    )
