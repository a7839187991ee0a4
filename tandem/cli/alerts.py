"""`tandem concerns` and `tandem alerts`: the monitoring numbers from a shell (cron,
a crash test, an on-call laptop), against the same store the server uses."""

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.table import Table

from tandem.errors import InvalidInput

if TYPE_CHECKING:
    from tandem.monitor.monitoring import Monitoring

alerts_app = typer.Typer(no_args_is_help=True, help="Alert rules: check them now, list alerts.")
console = Console(stderr=True)
out = Console(width=None if sys.stdout.isatty() else 200)


@contextmanager
def _monitoring() -> "Iterator[Monitoring]":
    from tandem.monitor.monitoring import Monitoring
    from tandem.monitor.monitoring_config import load_config
    from tandem.settings import load_settings
    from tandem.store import open_store

    settings = load_settings()
    config = load_config(settings.concerns_file)  # a bad file: one line, before the store opens
    store = open_store(settings.resolved_database_url)
    try:
        yield Monitoring.from_settings(store, settings, config)
    finally:
        store.close()


def concerns(
    since: Annotated[datetime | None, typer.Option(help="Window start (UTC).")] = None,
    until: Annotated[datetime | None, typer.Option(help="Window end (UTC; default now).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON, as the API does.")] = False,
) -> None:
    """Every concern metric (the built-in nothing_lost first) and whether it is ok."""
    from tandem.clock import maybe_utc
    from tandem.report.format import num

    with _monitoring() as mon:
        values = mon.concern_values(maybe_utc(since), maybe_utc(until))
    if as_json:
        print(json.dumps({"concerns": [v.as_dict() for v in values]}, indent=2))
        return
    table = Table("concern", "value", "expected", "ok", "window", "parts")
    for v in values:
        w = v.window.as_dict()
        table.add_row(
            v.name,
            num(v.value),
            ", ".join(f"{k} {num(x)}" for k, x in v.expected.items()) or "–",
            "ok" if v.ok else "[red]OFF[/]",
            f"{(w['since'] or 'beginning')[:19]} → {w['until'][:19]}",
            json.dumps(v.parts),
        )
    out.print(table)


@alerts_app.command("check")
def check() -> None:
    """Evaluate every alert rule now; store what starts or stops firing and send it to
    the webhook (as the server does every TANDEM_ALERT_INTERVAL_S)."""
    from tandem.report.format import num

    with _monitoring() as mon:
        result = mon.check()
        firing = {a.rule for a in mon.firing()}
    table = Table("rule", "signal", "value", "ok", "state", "error")
    for c in result.checks:
        state = "[red]firing[/]" if c.rule in firing else "ok"
        table.add_row(c.rule, c.signal, num(c.value), str(c.ok), state, c.error or "")
    out.print(table)
    for t in result.transitions:
        console.print(f"{t.alert.rule}: {t.state} (webhook: {t.delivery})", highlight=False)
    console.print(f"{len(result.transitions)} change(s) stored; {len(firing)} rule(s) firing")


@alerts_app.command("list")
def list_alerts(
    state: Annotated[str | None, typer.Option(help="firing or resolved.")] = None,
    limit: Annotated[int, typer.Option(min=1, max=10_000)] = 50,
) -> None:
    """Stored alerts, firing first, then newest."""
    from tandem.report.format import num

    if state not in (None, "firing", "resolved"):
        raise InvalidInput(f"--state {state!r}: use firing or resolved")
    with _monitoring() as mon:
        alerts = mon.store.list_alerts(state, None, limit)  # type: ignore[arg-type]
    table = Table("rule", "state", "opened (UTC)", "resolved (UTC)", "value", "webhook")
    for a in alerts:
        table.add_row(
            a.rule,
            a.state,
            f"{a.opened_at:%Y-%m-%d %H:%M:%S}",
            f"{a.resolved_at:%Y-%m-%d %H:%M:%S}" if a.resolved_at else "",
            num(a.value),
            a.fired_delivery or "",
        )
    out.print(table)
