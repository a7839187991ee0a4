"""Concern metrics and alerts over JSON: one router per prefix (/v1/monitor, /v1/alerts),
each guarded by the app for admins, who alone read concerns and alerts and run a check."""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from tandem.api.errors import responses
from tandem.clock import parse_when
from tandem.incidents import Alert
from tandem.monitor.alerts import CheckResult
from tandem.web.state import Mon

_errors = responses(404, 422)


class WindowOut(BaseModel):
    since: datetime | None
    until: datetime
    span: str = Field(description="The configured span ('1h', 'all'), or 'custom'.")


class ConcernOut(BaseModel):
    name: str
    value: float | None = Field(description="null when there was nothing to measure.")
    ok: bool
    expected: dict[str, float] = Field(description="max / min / equals.")
    parts: dict[str, Any] = Field(description="The counts the value is made of.")
    window: WindowOut
    description: str


class ConcernsOut(BaseModel):
    concerns: list[ConcernOut]


class AlertOut(BaseModel):
    id: str
    rule: str
    signal: str
    state: Literal["firing", "resolved"]
    opened_at: datetime
    resolved_at: datetime | None
    value: float | None = Field(description="The signal's value when the alert opened.")
    evidence: dict[str, Any] = Field(description="value, expected, window, details.")
    resolution: dict[str, Any] | None = Field(description="The evidence when it resolved.")
    fired_delivery: str | None = Field(description="How sending the firing went.")
    resolved_delivery: str | None

    @classmethod
    def of(cls, alert: Alert) -> AlertOut:
        return cls(**asdict(alert))


class AlertsOut(BaseModel):
    alerts: list[AlertOut]


class RuleOut(BaseModel):
    name: str
    signal: str
    params: dict[str, Any]
    window: str
    hold_for: str = Field(description="How long the condition must hold before firing.")
    expected: dict[str, float]
    description: str
    firing: bool
    last_check: dict[str, Any] | None


class TransitionOut(BaseModel):
    state: Literal["firing", "resolved"]
    alert: AlertOut
    delivery: str | None


class CheckOut(BaseModel):
    checked: list[dict[str, Any]]
    transitions: list[TransitionOut]


concerns_router = APIRouter(prefix="/v1/monitor", tags=["monitoring"], responses=_errors)
alerts_router = APIRouter(prefix="/v1/alerts", tags=["alerts"], responses=_errors)


@concerns_router.get("/concerns", response_model=ConcernsOut)
def concerns(
    mon: Mon,
    since: Annotated[
        str | None, Query(max_length=40, description="Window start, ISO 8601 (UTC if no zone).")
    ] = None,
    until: Annotated[
        str | None, Query(max_length=40, description="Window end, ISO 8601 (default now).")
    ] = None,
) -> ConcernsOut:
    """Every concern metric: over its configured window, or all over [since, until)."""
    start, end = parse_when(since, "since"), parse_when(until, "until")
    values = mon.concern_values(start, end)
    return ConcernsOut.model_validate({"concerns": [v.as_dict() for v in values]})


@alerts_router.get("", response_model=AlertsOut)
def list_alerts(
    mon: Mon,
    state: Literal["firing", "resolved"] | None = None,
    rule: Annotated[str | None, Query(max_length=100)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> AlertsOut:
    """Alerts, firing first, then newest first."""
    alerts = mon.alerts(state, rule, limit)
    return AlertsOut(alerts=[AlertOut.of(a) for a in alerts])


@alerts_router.get("/rules", response_model=list[RuleOut])
def list_rules(mon: Mon) -> list[RuleOut]:
    """The configured rules, whether each fires, and its latest check."""
    checks = mon.checks()
    firing = {a.rule for a in mon.firing()}
    return [
        RuleOut(
            name=r.name,
            signal=r.signal,
            params=r.params,
            window=r.window or "",
            hold_for=r.for_,
            expected=r.expected(),
            description=r.description,
            firing=r.name in firing,
            last_check=_check(checks[r.name]) if r.name in checks else None,
        )
        for r in mon.rules
    ]


def _check(check: Any) -> dict[str, Any]:
    data: dict[str, Any] = asdict(check)
    for key in ("checked_at", "failing_since"):
        data[key] = data[key].isoformat() if data[key] else None
    return data


def _result(result: CheckResult) -> CheckOut:
    return CheckOut(
        checked=[_check(c) for c in result.checks],
        transitions=[
            TransitionOut(state=t.state, alert=AlertOut.of(t.alert), delivery=t.delivery)
            for t in result.transitions
        ],
    )


@alerts_router.post("/check", response_model=CheckOut)
def check_now(mon: Mon) -> CheckOut:
    """Evaluate every rule now: store what starts or stops firing, send it to the webhook."""
    return _result(mon.check())
