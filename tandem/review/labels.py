"""Labels out and in: the export of every labelled prediction with its final label and
provenance (paged, or streamed as CSV, JSON Lines or Parquet), and the import of labels
made elsewhere, checked against each model's labels."""

from __future__ import annotations

import base64
import csv
import io
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

from tandem.clock import as_utc, utcnow
from tandem.domain import Label, Prediction, disagreements, final_label
from tandem.encoding import dumps
from tandem.errors import InvalidInput, NotFound
from tandem.ids import new_id
from tandem.review.service import known_labels
from tandem.store.review_queue import LabelledPageQuery, ReviewQueue

ExportFormat = Literal["csv", "jsonl", "parquet"]
FORMATS: tuple[ExportFormat, ...] = ("csv", "jsonl", "parquet")
MEDIA_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "jsonl": "application/x-ndjson",
    "parquet": "application/vnd.apache.parquet",
}
COLUMNS = (
    "prediction_id",
    "created_at",
    "model",
    "model_version",
    "input",
    "features",
    "predicted_label",
    "confidence",
    "final_label",
    "label_source",
    "label_author",
    "label_role",
    "labelled_at",
    "disagreements",
    "holdout",
)
"""One row per labelled prediction. `disagreements` counts the labels kept beside the
final one that name another label (feedback that contradicts a reviewer, say)."""
PAGE = 500


def row(prediction: Prediction, labels: list[Label]) -> dict[str, Any]:
    final = final_label(labels)
    assert final is not None, "a labelled prediction has a label"
    return {
        "prediction_id": prediction.id,
        "created_at": prediction.created_at.isoformat(),
        "model": prediction.model,
        "model_version": prediction.model_version,
        "input": prediction.input,
        "features": prediction.features,
        "predicted_label": prediction.label,
        "confidence": prediction.confidence,
        "final_label": final.label,
        "label_source": final.source,
        "label_author": final.author,
        "label_role": final.role,
        "labelled_at": final.created_at.isoformat(),
        "disagreements": len(disagreements(labels)),
        "holdout": prediction.holdout,
    }


def _cursor(prediction: Prediction) -> str:
    text = f"{prediction.created_at.isoformat()}|{prediction.id}"
    return base64.urlsafe_b64encode(text.encode()).decode()


def _after(cursor: str | None) -> tuple[datetime, str] | None:
    if not cursor:
        return None
    try:
        at, _, pid = base64.urlsafe_b64decode(cursor.encode()).decode().partition("|")
        return as_utc(datetime.fromisoformat(at)), pid
    except ValueError:
        raise InvalidInput(
            f"cursor {cursor!r} is not one this API gave; pass the `next` of the previous page"
        ) from None


def page(
    store: ReviewQueue,
    model: str | None,
    since: datetime | None,
    cursor: str | None,
    limit: int,
) -> tuple[list[dict[str, Any]], str | None]:
    """(rows, the cursor of the next page or None after the last)."""
    found = store.labelled_page(LabelledPageQuery(model, since, _after(cursor), limit))
    rows = [row(p, labels) for p, labels in found]
    return rows, (_cursor(found[-1][0]) if len(found) == limit else None)


def rows(store: ReviewQueue, model: str | None, since: datetime | None) -> Iterator[dict[str, Any]]:
    """Every export row, a page at a time: memory holds one page, never the whole set."""
    after = None
    while True:
        found = store.labelled_page(LabelledPageQuery(model, since, after, PAGE))
        for p, labels in found:
            yield row(p, labels)
        if len(found) < PAGE:
            return
        after = found[-1][0].created_at, found[-1][0].id


# -- formats -------------------------------------------------------------------


def _flat(r: dict[str, Any]) -> dict[str, Any]:
    """A row for a table format: input and features as JSON text."""
    return {**r, "input": dumps(r["input"]), "features": dumps(r["features"])}


def _pages(items: Iterable[dict[str, Any]], size: int = PAGE) -> Iterator[list[dict[str, Any]]]:
    batch: list[dict[str, Any]] = []
    for item in items:
        batch.append(item)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def encode(items: Iterable[dict[str, Any]], fmt: ExportFormat) -> Iterator[bytes]:
    """The export in `fmt`, as chunks of bytes written one page at a time."""
    if fmt == "jsonl":
        for batch in _pages(items):
            yield "".join(dumps(r) + "\n" for r in batch).encode()
    elif fmt == "csv":
        yield from _csv(items)
    elif fmt == "parquet":
        yield from _parquet(items)
    else:
        raise InvalidInput(f"unknown format {fmt!r}; use one of: {', '.join(FORMATS)}")


def _csv(items: Iterable[dict[str, Any]]) -> Iterator[bytes]:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    for batch in _pages(items):
        writer.writerows(_flat(r) for r in batch)
        yield buf.getvalue().encode()
        buf.seek(0)
        buf.truncate()
    if buf.tell():
        yield buf.getvalue().encode()


def parquet_module() -> Any:
    """pyarrow.parquet, or an error that says how to install it (an optional extra)."""
    try:
        import pyarrow.parquet as pq
    except ImportError:
        raise InvalidInput(
            "the parquet format needs pyarrow: pip install 'tandem[parquet]'; "
            "or use format csv or jsonl"
        ) from None
    return pq


class _Chunks(io.RawIOBase):
    """A write-only file whose bytes are taken out as they come, so a Parquet file is
    streamed one row group at a time."""

    def __init__(self) -> None:
        self._parts: list[bytes] = []
        self._written = 0

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        chunk = bytes(data)
        self._parts.append(chunk)
        self._written += len(chunk)
        return len(chunk)

    def tell(self) -> int:
        return self._written

    def take(self) -> bytes:
        out = b"".join(self._parts)
        self._parts = []
        return out


def _parquet(items: Iterable[dict[str, Any]]) -> Iterator[bytes]:
    pq = parquet_module()
    import pyarrow as pa

    when = pa.timestamp("us", tz="UTC")
    typed = {
        "created_at": when,
        "labelled_at": when,
        "confidence": pa.float64(),
        "disagreements": pa.int64(),
        "holdout": pa.bool_(),
    }
    schema = pa.schema([(c, typed.get(c, pa.string())) for c in COLUMNS])  # the rest: text
    sink = _Chunks()
    with pq.ParquetWriter(sink, schema) as writer:
        for batch in _pages(items):
            flat = [_flat(r) for r in batch]
            for r in flat:
                r["created_at"] = datetime.fromisoformat(r["created_at"])
                r["labelled_at"] = datetime.fromisoformat(r["labelled_at"])
            writer.write_table(pa.Table.from_pylist(flat, schema=schema))
            yield sink.take()
    yield sink.take()


# -- import --------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ImportResult:
    labels: list[Label]
    dry_run: bool


def read_rows(path: Path) -> list[dict[str, Any]]:
    """Rows of a CSV (with a header) or JSON Lines file, by its suffix."""
    if not path.is_file():
        raise InvalidInput(f"no file {str(path)!r}")
    text = path.read_text(encoding="utf-8")
    if path.suffix.lower() in (".jsonl", ".ndjson", ".json"):
        out = []
        for number, line in enumerate(text.splitlines(), 1):
            if not line.strip():
                continue
            try:
                item = json.loads(line)
            except ValueError as e:
                raise InvalidInput(f"{path.name} line {number}: not JSON ({e})") from None
            if not isinstance(item, dict):
                raise InvalidInput(f"{path.name} line {number}: not a JSON object")
            out.append(item)
        return out
    if path.suffix.lower() == ".csv":
        return list(csv.DictReader(io.StringIO(text)))
    raise InvalidInput(f"{path.name}: give a .csv or .jsonl file")


def import_labels(
    store: ReviewQueue,
    items: list[dict[str, Any]],
    author: str | None,
    dry_run: bool = False,
) -> ImportResult:
    """Labels made elsewhere, keyed by prediction id (a `label` column; the final label
    of an export is accepted too). Every row is checked before any is written: an
    unknown prediction or a label its model does not offer refuses the whole file."""
    now, batch = utcnow(), new_id()
    labels: list[Label] = []
    predictions: dict[str, Prediction] = {}
    for number, item in enumerate(items, 1):
        pid = str(item.get("prediction_id") or "").strip()
        value = str(item.get("label") or item.get("final_label") or "").strip()
        who = str(item.get("author") or author or "").strip()
        if not pid or not value:
            raise InvalidInput(f"row {number}: needs prediction_id and label")
        if not who:
            raise InvalidInput(f"row {number}: no author; give --author or an author column")
        if pid not in predictions:
            try:
                predictions[pid] = store.get_prediction(pid)
            except NotFound:
                raise NotFound(f"row {number}: no prediction with id {pid!r}") from None
        offered = known_labels(predictions[pid])
        if value not in offered:
            raise InvalidInput(
                f"row {number}: label {value!r} is not one of the labels of model "
                f"{predictions[pid].model!r}: {', '.join(offered)}"
            )
        labels.append(Label(new_id(), pid, value, "import", batch, who, now, "admin"))
    if not dry_run:
        store.add_labels(labels)
    return ImportResult(labels, dry_run)
