"""SQLAlchemy implementation of the store, for SQLite and PostgreSQL alike: one
class made of one module per domain, on one engine.

Core statements rather than the ORM: the prediction insert is on every request's
critical path, and Core skips the unit-of-work bookkeeping (~110 µs per logged
prediction)."""

from __future__ import annotations

from tandem.store.base import Store
from tandem.store.sql_artifacts import ArtifactSql
from tandem.store.sql_editor import EditorSql
from tandem.store.sql_jobs import JobLockSql
from tandem.store.sql_keys import KeySql
from tandem.store.sql_log import PredictionSql
from tandem.store.sql_monitor import MonitorSql
from tandem.store.sql_registry import RegistrySql
from tandem.store.sql_report import ReportSql
from tandem.store.sql_review import ReviewSql
from tandem.store.sql_triage import TriageSql


class SqlStore(
    PredictionSql,
    ReviewSql,
    TriageSql,
    RegistrySql,
    ReportSql,
    MonitorSql,
    KeySql,
    ArtifactSql,
    JobLockSql,
    EditorSql,
    Store,
):
    """The prediction log and its writer (PredictionSql), the review queue, feedback
    and labels (ReviewSql), bug triage and post-mortems (TriageSql), model versions
    and drift references (RegistrySql), the report's queries (ReportSql), monitoring
    (MonitorSql), API keys (KeySql), model artifacts' bytes (ArtifactSql) and the
    background jobs' locks (JobLockSql), writers' drafts and suggestion feedback
    (EditorSql)."""
