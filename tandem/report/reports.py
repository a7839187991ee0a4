"""The stakeholder report as the pages ask for it, over the report's store reads."""

from __future__ import annotations

from tandem.clock import report_window
from tandem.monitor.quality import PredictorFor
from tandem.report.summary import Report, build
from tandem.store.report_store import ReportReads


class Reports:
    def __init__(self, store: ReportReads, load: PredictorFor | None = None) -> None:
        """`load` gives a version's predictor, so the rule baseline can answer."""
        self._store = store
        self._load = load

    def report(self, since: str | None, until: str | None, model: str | None) -> Report:
        """The report over [since, until) as typed in a query (default: the last
        weeks, see `report_window`), for one model or all."""
        start, end = report_window(since, until)
        return build(self._store, start, end, model or None, predictor_for=self._load)
