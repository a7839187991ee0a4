"""The stakeholder report as the pages ask for it, over the report's store reads."""

from __future__ import annotations

from tandem.clock import report_window
from tandem.monitor.quality import PredictorFor
from tandem.report.summary import Report, ReportSources, build
from tandem.store.editor_store import EditorStore
from tandem.store.report_store import ReportReads


class Reports:
    def __init__(
        self,
        store: ReportReads,
        load: PredictorFor | None = None,
        editor: EditorStore | None = None,
    ) -> None:
        """`load` gives a version's predictor, so the rule baseline can answer;
        `editor` reads writers' drafts (the usefulness of suggestions)."""
        self._sources = ReportSources(store, load, editor)

    def report(self, since: str | None, until: str | None, model: str | None) -> Report:
        """The report over [since, until) as typed in a query (default: the last
        weeks, see `report_window`), for one model or all."""
        start, end = report_window(since, until)
        return build(self._sources, start, end, model or None)
