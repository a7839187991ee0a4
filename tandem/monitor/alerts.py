"""Alert rules: read each rule's signal, store when a rule starts or stops firing
(with the evidence), and tell the webhook.

The store is the arbiter: an alert row per firing period, at most one open per rule
(a unique key), so several workers checking at once store each transition once, and
only the worker that stored it sends it on.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from tandem.ids import new_id
from tandem.incidents import Alert, AlertState, RuleCheck
from tandem.monitor.monitoring_config import RuleSpec
from tandem.monitor.signals import SIGNALS, Reading, SignalContext
from tandem.monitor.windows import Window, seconds
from tandem.store.monitoring_store import MonitoringStore

log = logging.getLogger("tandem")

Deliver = Callable[[dict[str, Any]], str]
"""Sends one transition's payload; returns what happened ("sent: HTTP 200", ...)."""


@dataclass(frozen=True, slots=True)
class Transition:
    state: AlertState
    alert: Alert
    delivery: str | None = None


@dataclass(frozen=True, slots=True)
class CheckResult:
    checks: list[RuleCheck]
    transitions: list[Transition]


def payload(transition: Transition) -> dict[str, Any]:
    """What the webhook receives for one transition."""
    a = transition.alert
    evidence = a.evidence
    verb = "is firing" if transition.state == "firing" else "resolved"
    value = a.value if transition.state == "firing" else (a.resolution or {}).get("value")
    return {
        "event": f"alert.{transition.state}",
        "alert_id": a.id,
        "rule": a.rule,
        "signal": a.signal,
        "state": transition.state,
        "summary": f"{a.rule} {verb}: value {value}, expected {evidence.get('expected')}",
        "opened_at": a.opened_at.isoformat(),
        "resolved_at": a.resolved_at.isoformat() if a.resolved_at else None,
        "value": value,
        "evidence": evidence,
        "resolution": a.resolution,
        "link": f"/alerts#alert-{a.id}",
    }


def _read(rule: RuleSpec, ctx: SignalContext) -> tuple[Window, Reading | None, str | None]:
    window = Window.ending(ctx.now, rule.window or SIGNALS[rule.signal].default_window)
    try:
        return window, SIGNALS[rule.signal].read(ctx, rule.params, window), None
    except Exception as exc:  # a broken signal must not stop the other rules
        log.exception("alert rule %s could not read signal %s", rule.name, rule.signal)
        return window, None, f"{type(exc).__name__}: {exc}"


def check_rules(
    store: MonitoringStore, rules: list[RuleSpec], ctx: SignalContext, deliver: Deliver | None
) -> CheckResult:
    """Evaluate every rule once at `ctx.now`; store checks and transitions; deliver them."""
    now = ctx.now
    open_rules = {a.rule for a in store.list_alerts(state="firing", limit=10_000)}
    previous = {c.rule: c for c in store.list_checks()}
    checks, transitions = [], []
    for rule in rules:
        window, reading, error = _read(rule, ctx)
        before = previous.get(rule.name)
        if reading is None:  # unknown: neither fire nor resolve, keep the last state
            ok = before.ok if before else True
            failing_since = before.failing_since if before else None
            value, details = None, {}
        else:
            ok, value, details = rule.accepts(reading.value), reading.value, reading.evidence
            if ok:
                failing_since = None
            else:
                failing_since = before.failing_since if before and not before.ok else None
                failing_since = failing_since or now
        evidence = {
            "value": value,
            "expected": rule.expected(),
            "window": window.as_dict(),
            "for_s": seconds(rule.for_) or 0.0,
            "failing_since": failing_since.isoformat() if failing_since else None,
            "details": details,
            "description": rule.description,
        }
        check = RuleCheck(rule.name, rule.signal, now, value, ok, failing_since, evidence, error)
        store.save_check(check)
        checks.append(check)
        if reading is None:
            continue
        held = failing_since is not None and (now - failing_since).total_seconds() >= (
            seconds(rule.for_) or 0.0
        )
        if held and rule.name not in open_rules:
            alert = Alert(new_id(), rule.name, rule.signal, "firing", now, value, evidence)
            if store.open_alert(alert):
                transitions.append(Transition("firing", alert))
        elif ok and rule.name in open_rules:
            resolved = store.resolve_alert(rule.name, now, evidence)
            if resolved is not None:
                transitions.append(Transition("resolved", resolved))
    known = {r.name for r in rules}
    for rule_name in sorted(open_rules - known):
        gone = store.resolve_alert(rule_name, now, {"why": "the rule is no longer configured"})
        if gone is not None:
            transitions.append(Transition("resolved", gone))
    delivered = []
    for t in transitions:
        outcome = "not sent: no webhook configured" if deliver is None else deliver(payload(t))
        store.record_delivery(t.alert.id, t.state, outcome)
        delivered.append(replace(t, delivery=outcome))
    return CheckResult(checks, delivered)
