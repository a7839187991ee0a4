"""The prediction log in SQL: single reads here, batched writes through the
group-commit writer (sql_batch, writer) on a connection of its own."""

from __future__ import annotations

from collections.abc import Awaitable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.engine import Engine, RowMapping

from tandem.domain import Prediction, suggestion_dict
from tandem.store import tables as t
from tandem.store.engine import in_memory
from tandem.store.prediction_log import LogEntry, PredictionFilter, PredictionLog
from tandem.store.sql_base import SqlBase, in_window, of_model, row_by_id, utc
from tandem.store.sql_batch import SqlBatchLog, write_entries
from tandem.store.writer import GroupCommitWriter

if TYPE_CHECKING:
    from tandem.store.writer_process import ProcessWriter


def prediction_of(row: RowMapping) -> Prediction:
    data = dict(row)
    data.pop("feature_layout", None)  # storage detail for drift (sql_drift)
    data.pop("feature_values", None)
    data["created_at"] = utc(data["created_at"])
    # Rows from before suggestions were objects hold plain text: read as objects.
    data["suggestions"] = [suggestion_dict(s) for s in data["suggestions"] or []]
    return Prediction(**data)


class PredictionSql(SqlBase, PredictionLog):
    def __init__(self, engine: Engine) -> None:
        super().__init__(engine)
        self._writer: GroupCommitWriter | ProcessWriter = GroupCommitWriter(
            lambda: SqlBatchLog(engine)
        )

    # -- writes ------------------------------------------------------------------
    def write(self, entry: LogEntry) -> Awaitable[None]:
        return self._writer.write(entry)

    def add_predictions(self, entries: Sequence[LogEntry]) -> None:
        with self._tx() as conn:
            write_entries(conn, entries)

    def start(self, process: bool = False, linger_s: float | None = None) -> None:
        if (
            process
            and isinstance(self._writer, GroupCommitWriter)
            and not in_memory(self.engine.url)
        ):
            from tandem.store.writer_process import ProcessWriter  # only a server needs it

            self._writer.close()  # nothing was written through it yet: a server's start-up
            self._writer = ProcessWriter(self.engine.url.render_as_string(hide_password=False))
        if linger_s is not None:
            self._writer.linger_s = linger_s
        self._writer.start()

    def close(self) -> None:
        self._writer.close()
        self.engine.dispose()

    # -- reads -------------------------------------------------------------------
    def get_prediction(self, prediction_id: str) -> Prediction:
        with self._tx() as conn:
            return prediction_of(row_by_id(conn, t.predictions, prediction_id, "prediction"))

    def list_predictions(self, where: PredictionFilter) -> list[Prediction]:
        p = t.predictions
        query = sa.select(p).order_by(p.c.created_at, p.c.id).limit(where.limit)
        conditions = {
            p.c.model: where.model,
            p.c.route: where.route,
            p.c.label: where.label,
            p.c.model_version: where.version,
            p.c.holdout: where.holdout,
        }
        for column, value in conditions.items():
            if value is not None:
                query = query.where(column == value)
        query = query.where(*in_window(p.c.created_at, where.since, where.until))
        with self._tx() as conn:
            rows = conn.execute(query).mappings().all()
        return [prediction_of(row) for row in rows]

    def count_predictions(self, model: str | None = None) -> int:
        query = sa.select(sa.func.count()).select_from(t.predictions)
        if model is not None:
            query = query.where(t.predictions.c.model == model)
        with self._tx() as conn:
            return int(conn.execute(query).scalar_one())

    def list_prediction_ids(
        self, since: datetime | None = None, until: datetime | None = None, model: str | None = None
    ) -> list[str]:
        p = t.predictions
        query = sa.select(p.c.id).where(
            *in_window(p.c.created_at, since, until), *of_model(p.c.model, model)
        )
        return [pid for (pid,) in self._all(query)]

    def intake_counts(
        self, since: datetime | None = None, until: datetime | None = None, model: str | None = None
    ) -> dict[str, int]:
        i, p = t.intake, t.predictions
        answered = i.c.outcome == "answered"
        query = sa.select(
            sa.func.count(),
            sa.func.sum(sa.case((answered, 1), else_=0)),
            sa.func.sum(sa.case((i.c.outcome == "failed", 1), else_=0)),
            sa.func.sum(sa.case((sa.and_(answered, p.c.id.is_(None)), 1), else_=0)),
        ).select_from(i.outerjoin(p, p.c.id == i.c.prediction_id))
        query = query.where(*in_window(i.c.received_at, since, until), *of_model(i.c.model, model))
        [row] = self._all(query)
        received, ok, failed, unlogged = (int(v or 0) for v in row)
        return {
            "received": received,
            "answered": ok,
            "failed": failed,
            "answered_unlogged": unlogged,
        }
