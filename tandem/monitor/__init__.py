"""Monitoring: how far live traffic has moved from the data a model was trained on.

The names below load on first use, so importing a submodule (monitoring_config, say)
does not load scipy through tandem.monitor.drift."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tandem.monitor.drift import categorical_drift, drift_report, numeric_drift
    from tandem.monitor.results import (
        Check,
        DriftConfig,
        DriftReport,
        FeatureDrift,
        Histogram,
        Kind,
        Test,
    )

_DRIFT = ("categorical_drift", "drift_report", "numeric_drift")
_RESULTS = ("Check", "DriftConfig", "DriftReport", "FeatureDrift", "Histogram", "Kind", "Test")


def __getattr__(name: str) -> Any:
    if name in _DRIFT or name in _RESULTS:
        import importlib

        module = "tandem.monitor.drift" if name in _DRIFT else "tandem.monitor.results"
        return getattr(importlib.import_module(module), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "Check",
    "DriftConfig",
    "DriftReport",
    "FeatureDrift",
    "Histogram",
    "Kind",
    "Test",
    "categorical_drift",
    "drift_report",
    "numeric_drift",
]
