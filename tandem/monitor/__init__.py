"""Monitoring: how far live traffic has moved from the data a model was trained on."""

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
