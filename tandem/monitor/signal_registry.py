"""The signal registry: what a signal is, what it may read, and the table alert rules
look signals up in. Its own module so that every module defining signals depends on
it and nothing here depends on them (tandem.monitor.signals gathers them all)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, ConfigDict

from tandem.monitor.nothing_lost import IntakeSource
from tandem.monitor.windows import Window
from tandem.store.monitoring_store import MonitoringStore


@dataclass(frozen=True, slots=True)
class Reading:
    """A signal's value (None: nothing to measure in the window) and why."""

    value: float | None
    evidence: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class SignalContext:
    """What a signal may read. `concern(name, window)` measures a concern metric."""

    store: MonitoringStore
    now: datetime
    intake: IntakeSource | None
    concern: Callable[[str, Window], Reading]


P = TypeVar("P", bound=BaseModel)


@dataclass(frozen=True, slots=True)
class Signal(Generic[P]):
    name: str
    params: type[P]
    measure: Callable[[SignalContext, P, Window], Reading]
    description: str
    default_window: str = "15m"

    def read(self, ctx: SignalContext, params: dict[str, Any], window: Window) -> Reading:
        return self.measure(ctx, self.params.model_validate(params), window)


SIGNALS: dict[str, Signal[Any]] = {}


def register_signal(
    name: str, params: type[P], description: str, default_window: str = "15m"
) -> Callable[[Callable[[SignalContext, P, Window], Reading]], Callable[..., Reading]]:
    """Add a signal alert rules can name (a decorator; the last registration wins)."""

    def add(fn: Callable[[SignalContext, P, Window], Reading]) -> Callable[..., Reading]:
        SIGNALS[name] = Signal(name, params, fn, description, default_window)
        return fn

    return add


class Params(BaseModel):
    """A signal's params: unknown keys are a mistake in the config, not ignored."""

    model_config = ConfigDict(extra="forbid")
