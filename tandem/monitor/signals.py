"""Signals: the numbers alert rules watch, in a registry a new signal joins in a few
lines (drift and live quality plug in without the alert code knowing them). This module
gathers every signal, the service's own first, then the models'; the registry itself is
in signal_registry, which the modules defining signals import (never this one).

A signal is a function (context, params, window) -> Reading with a Pydantic model
for its params, so a rule's params are checked when the config loads, not when the
rule first runs:

    class DriftParams(BaseModel):
        model_config = ConfigDict(extra="forbid")
        model: str

    @register_signal("drift", DriftParams, "Largest PSI over a model's features.")
    def drift(ctx: SignalContext, p: DriftParams, window: Window) -> Reading:
        report = drift_for(ctx.store, p.model, window.since, window.until)
        return Reading(max_psi(report), {"drifted": drifted_features(report)})

Every rule's latest reading is kept in the store and shown on /metrics as
`tandem_signal_value{rule, signal}`, so a registered signal reaches Prometheus too.
"""

from __future__ import annotations

# Each registers its signals on import, in this order (the order a config error lists them).
from tandem.monitor import builtin_signals, model_signals
from tandem.monitor.signal_registry import (
    SIGNALS,
    Params,
    Reading,
    Signal,
    SignalContext,
    register_signal,
)

__all__ = [
    "SIGNALS",
    "builtin_signals",
    "Params",
    "Reading",
    "Signal",
    "SignalContext",
    "model_signals",
    "register_signal",
]
