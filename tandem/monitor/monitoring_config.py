"""The monitoring file (TOML): concern metrics stakeholders define without code, and
alert rules over signals. Validated with Pydantic, so a mistake is reported with the
entry and field it is in, when the service starts rather than when a rule first runs.

The vocabulary is closed: a concern names a source, a measure, a numeric column and
equality filters from `tandem.store.aggregates.SOURCES`; nothing in the file reaches
the database as text.
"""

from __future__ import annotations

import math
import re
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from tandem.errors import InvalidInput
from tandem.monitor.signals import SIGNALS
from tandem.monitor.windows import parse_span
from tandem.store.aggregates import SOURCES


def _name(value: str) -> str:
    if not re.fullmatch(r"[a-z][a-z0-9_]{0,63}", value):
        raise ValueError(
            f"{value!r} is not a usable name: start with a lowercase letter, then use "
            "lowercase letters, digits and _ (at most 64); it becomes a Prometheus label"
        )
    return value


Name = Annotated[str, AfterValidator(_name)]


def _one_of(kind: str, value: str, known: Mapping[str, object]) -> str:
    """`value` when it names one of `known`; else an error listing them."""
    if value not in known:
        raise ValueError(f"unknown {kind} {value!r}; choose one of {', '.join(known)}")
    return value


Measure = Literal[
    "count", "share", "sum", "mean", "min", "max", "p50", "p90", "p95", "p99", "oldest_age_s"
]
Scalar = StrictBool | int | float | str
Filters = dict[str, Scalar | list[Scalar]]
QUANTILES = {"p50": 0.5, "p90": 0.9, "p95": 0.95, "p99": 0.99}
NOTHING_LOST = "nothing_lost"


class Expectation(BaseModel):
    """What a healthy value looks like: at most `max`, at least `min`, exactly `equals`."""

    max: float | None = None
    min: float | None = None
    equals: float | None = None

    def expected(self) -> dict[str, float]:
        bounds = {"max": self.max, "min": self.min, "equals": self.equals}
        return {k: v for k, v in bounds.items() if v is not None}

    def accepts(self, value: float | None) -> bool:
        """No value (nothing in the window to measure) is no evidence of a problem."""
        if value is None:
            return True
        if self.max is not None and value > self.max:
            return False
        if self.min is not None and value < self.min:
            return False
        return self.equals is None or math.isclose(value, self.equals, abs_tol=1e-9)


class _Entry(Expectation):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    @field_validator("window", "for_", mode="before", check_fields=False)
    @classmethod
    def _spans(cls, value: Any) -> Any:
        return None if value is None else parse_span(value)


class ConcernSpec(_Entry):
    """A number over the store, e.g. the share of predictions the fallback answered."""

    name: Name
    description: str = ""
    source: str
    measure: Measure
    column: str | None = None
    where: Filters = Field(default_factory=dict)
    among: Filters = Field(default_factory=dict)
    window: str = "1h"
    alert: bool = True
    for_: str = Field(default="0s", alias="for")

    @field_validator("source")
    @classmethod
    def _known_source(cls, value: str) -> str:
        return _one_of("source", value, SOURCES)

    @model_validator(mode="after")
    def _fits_the_source(self) -> ConcernSpec:
        src = SOURCES[self.source]
        for key, filters in (("where", self.where), ("among", self.among)):
            for column, value in filters.items():
                if column not in src.filters:
                    raise ValueError(
                        f"{key}: {self.source} cannot be filtered by {column!r}; "
                        f"use {', '.join(src.filters)}"
                    )
                values = value if isinstance(value, list) else [value]
                if column in src.flags and not all(isinstance(v, bool) for v in values):
                    raise ValueError(f"{key}.{column} is true or false, not {value!r}")
        if self.among and self.measure != "share":
            raise ValueError("among: only a 'share' has a denominator to filter")
        numeric = self.measure not in ("count", "share", "oldest_age_s")
        if numeric and self.column not in src.numeric:
            choices = ", ".join(src.numeric) or f"none in {self.source}"
            raise ValueError(f"column: measure {self.measure!r} needs a numeric column ({choices})")
        if not numeric and self.column is not None:
            raise ValueError(f"column: measure {self.measure!r} takes no column")
        return self


class NothingLostSpec(_Entry):
    """Settings of the built-in concern (its expectation is fixed: equals 0)."""

    description: str = (
        "Every predict request is answered or failed, and every review item created is "
        "decided or pending: the number of requests and review items unaccounted for."
    )
    window: str = "all"
    settle: str = Field(
        default="10s", description="Requests younger than this are still being answered."
    )
    alert: bool = True
    for_: str = Field(default="0s", alias="for")

    @field_validator("settle", mode="before")
    @classmethod
    def _settle(cls, value: Any) -> str:
        return parse_span(value)

    @model_validator(mode="after")
    def _fixed_expectation(self) -> NothingLostSpec:
        if self.expected():
            raise ValueError("nothing_lost always expects 0; it takes no max, min or equals")
        return self


class RuleSpec(_Entry):
    """An alert rule: fires when its signal's value leaves the expectation for `for`."""

    name: Name
    description: str = ""
    signal: str
    params: dict[str, Any] = Field(default_factory=dict)
    window: str | None = None
    for_: str = Field(default="0s", alias="for")

    @field_validator("signal")
    @classmethod
    def _known_signal(cls, value: str) -> str:
        return _one_of("signal", value, SIGNALS)

    @field_validator("params")
    @classmethod
    def _params_fit_the_signal(cls, value: dict[str, Any], info: ValidationInfo) -> Any:
        signal = SIGNALS.get(info.data.get("signal", ""))
        if signal is not None:
            try:
                signal.params.model_validate(value)
            except ValidationError as exc:
                raise ValueError(_errors(exc, value)) from None
        return value


class MonitoringConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    nothing_lost: NothingLostSpec = Field(default_factory=NothingLostSpec)
    concerns: list[ConcernSpec] = Field(default_factory=list)
    alerts: list[RuleSpec] = Field(default_factory=list)

    @model_validator(mode="after")
    def _names_resolve(self) -> MonitoringConfig:
        seen = {NOTHING_LOST}
        named = [("concerns", i, c.name) for i, c in enumerate(self.concerns)]
        named += [("alerts", i, r.name) for i, r in enumerate(self.alerts)]
        for kind, i, name in named:
            if name in seen:
                raise ValueError(
                    f"{kind}[{i}].name: {name!r} is already taken"
                    + (" by the built-in concern" if name == NOTHING_LOST else "")
                    + " (concern and alert names share one namespace)"
                )
            seen.add(name)
        concerns = {c.name: c for c in self.concerns}
        for i, rule in enumerate(self.alerts):
            if rule.signal != "concern":
                if not rule.expected():
                    raise ValueError(f"alerts[{i}] ({rule.name}): give max, min or equals")
                continue
            target = str(rule.params.get("name"))
            if target != NOTHING_LOST and target not in concerns:
                raise ValueError(f"alerts[{i}].params.name: no concern named {target!r}")
            if not rule.expected() and target in concerns and not concerns[target].expected():
                raise ValueError(
                    f"alerts[{i}] ({rule.name}): neither the rule nor concern {target!r} "
                    "gives max, min or equals"
                )
        return self

    def concern(self, name: str) -> ConcernSpec | NothingLostSpec:
        if name == NOTHING_LOST:
            return self.nothing_lost
        for c in self.concerns:
            if c.name == name:
                return c
        raise InvalidInput(f"no concern named {name!r}")

    def expectation(self, name: str) -> Expectation:
        if name == NOTHING_LOST:
            return Expectation(equals=0)
        return self.concern(name)

    def rules(self) -> list[RuleSpec]:
        """Every rule to evaluate: nothing_lost's, one per alerting concern that has an
        expectation, then the explicit ones, each with its window resolved."""
        derived = []
        if self.nothing_lost.alert:
            derived.append(
                {
                    "name": NOTHING_LOST,
                    "description": self.nothing_lost.description,
                    "window": self.nothing_lost.window,
                    "for": self.nothing_lost.for_,
                    "equals": 0,
                }
            )
        for c in self.concerns:
            if c.alert and c.expected():
                derived.append(
                    {
                        "name": c.name,
                        "description": c.description,
                        "window": c.window,
                        "for": c.for_,
                        **c.expected(),
                    }
                )
        rules = [
            RuleSpec.model_validate({**d, "signal": "concern", "params": {"name": d["name"]}})
            for d in derived
        ]
        explicit = []
        for rule in self.alerts:
            update: dict[str, Any] = {}
            if rule.window is None:
                is_concern = rule.signal == "concern"
                own = self.concern(rule.params["name"]).window if is_concern else None
                update["window"] = own or SIGNALS[rule.signal].default_window
            if not rule.expected():
                update.update(self.expectation(rule.params["name"]).expected())
            explicit.append(rule.model_copy(update=update))
        return rules + explicit


BUILT_IN = {
    "concerns": [
        {
            "name": "fallback_rate",
            "description": "Share of answers the rule fallback gave instead of the model.",
            "source": "predictions",
            "measure": "share",
            "where": {"route": "fallback"},
            "window": "1h",
            "max": 0.05,
        },
        {
            "name": "review_backlog_age_s",
            "description": "How long the oldest item has waited in the review queue (s).",
            "source": "review_items",
            "measure": "oldest_age_s",
            "where": {"status": "pending"},
            "window": "all",
            "max": 86400,
        },
    ]
}


def _errors(exc: ValidationError, data: Any) -> str:
    """Pydantic's errors as `concerns[1] (fallback_rate).where: message`, at most five."""
    out = []
    for err in exc.errors()[:5]:
        where, node = "", data
        for part in err["loc"]:
            if isinstance(part, int):
                where += f"[{part}]"
                node = node[part] if isinstance(node, list) and part < len(node) else None
                if isinstance(node, dict) and isinstance(node.get("name"), str):
                    where += f" ({node['name']})"
            else:
                where += f".{part}" if where else str(part)
                node = node.get(part) if isinstance(node, dict) else None
        message = str(err["msg"]).removeprefix("Value error, ")
        out.append(f"{where}: {message}" if where else message)
    return "; ".join(out)


def parse_config(data: dict[str, Any], origin: str = "monitoring config") -> MonitoringConfig:
    try:
        return MonitoringConfig.model_validate(data)
    except ValidationError as exc:
        raise InvalidInput(f"{origin}: {_errors(exc, data)}") from None


def load_config(path: Path | None) -> MonitoringConfig:
    """The file at `path` (TANDEM_CONCERNS_FILE), or the built-in concerns when None."""
    if path is None:
        return parse_config(BUILT_IN, "built-in monitoring config")
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise InvalidInput(f"cannot read the monitoring config {path}: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise InvalidInput(f"the monitoring config {path} is not UTF-8 text") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise InvalidInput(f"the monitoring config {path} is not valid TOML: {exc}") from None
    return parse_config(data, str(path))
