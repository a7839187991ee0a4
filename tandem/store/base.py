"""The whole store: every narrow interface in one type, for the one place that
opens it (the app factory, the CLI) and hands each service its part. Services
depend on the narrow interfaces, never on this or on SQL."""

from __future__ import annotations

from tandem.store.artifact_blobs import ArtifactBlobs
from tandem.store.editor_store import EditorStore
from tandem.store.job_locks import JobLocks
from tandem.store.key_store import KeyStore
from tandem.store.monitoring_store import LoggedFeatures, MonitoringStore
from tandem.store.prediction_log import LogEntry, PredictionFilter, PredictionLog
from tandem.store.registry_store import RegistryStore
from tandem.store.report_store import PredictionFacts, ReportReads, ReviewFacts
from tandem.store.review_queue import ReviewQueue
from tandem.store.triage_store import TriageStore


class Store(
    PredictionLog,
    ReviewQueue,
    TriageStore,
    RegistryStore,
    ReportReads,
    MonitoringStore,
    KeyStore,
    ArtifactBlobs,
    JobLocks,
    EditorStore,
):
    """What `tandem.store.open_store` returns."""


__all__ = [
    "ArtifactBlobs",
    "EditorStore",
    "JobLocks",
    "KeyStore",
    "LogEntry",
    "LoggedFeatures",
    "MonitoringStore",
    "PredictionFacts",
    "PredictionFilter",
    "PredictionLog",
    "RegistryStore",
    "ReportReads",
    "ReviewFacts",
    "ReviewQueue",
    "Store",
    "TriageStore",
]
