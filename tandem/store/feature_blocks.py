"""Logged features stored as column blocks: what drift reads.

Drift over a window needs every logged prediction's features as one matrix. Read one
row per prediction, that costs more than the statistics: on a 2-core machine, a
million 20-feature rows take 1.6-2.0 s to fetch through sqlite3 even from a narrow
table with nothing else in it (the cursor builds a tuple per row), and 5.6 s from the
wide predictions table. So features are also stored in blocks: one row holds many
predictions' features as a float64 matrix, beside each prediction's time, confidence,
predicted label and route. The group-commit writer stores one block per model, version
and set of feature names in each batch, in the same transaction as the predictions,
and `merge` (run by compaction) joins an hour's small blocks into blocks of up to
`TARGET_ROWS`, so a million predictions are a few dozen rows to fetch however slowly
they arrived.

This module is the format alone (no SQL): building blocks from predictions, encoding
them as a row's columns, decoding, merging and cutting them to a window.
"""

from __future__ import annotations

import itertools
import json
from array import array
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import numpy.typing as npt

from tandem.ids import new_id

TARGET_ROWS = 65_536
"""Rows a merged block holds at most: ~10 MB of values at 20 features."""

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_US = timedelta(microseconds=1)

Floats = npt.NDArray[np.float64]
Ints = npt.NDArray[np.int64]
Objects = npt.NDArray[np.object_]


def microseconds(at: datetime) -> int:
    """`at` as whole microseconds since 1970 UTC, exactly (no float rounding): the
    stores keep timestamps to the microsecond, so a window cut here matches SQL's."""
    if at.tzinfo is None:
        at = at.replace(tzinfo=UTC)
    return (at - EPOCH) // _US


def _number(value: Any) -> float:
    if isinstance(value, int | float):  # a bool too: a flag is 0 or 1
        return float(value)
    return float("nan")  # as drift reads any feature that is not a number: missing


def _matrix(rows: list[list[Any]], width: int) -> Floats:
    """Feature rows as a float64 matrix; array('d') converts a batch of numbers in C
    (~10x the per-value check), and refuses anything else, which then goes slowly."""
    flat = list(itertools.chain.from_iterable(rows))
    try:
        packed = array("d", flat)
    except TypeError:
        packed = array("d", map(_number, flat))
    return np.frombuffer(packed, dtype=np.float64).reshape(len(rows), width)


@dataclass(frozen=True, slots=True)
class Block:
    """Some predictions of one model version with the same feature names (sorted)."""

    model: str
    version: str
    names: tuple[str, ...]
    times: Ints  # microseconds since 1970 UTC
    values: Floats  # rows x names
    confidences: Floats
    labels: Objects  # str
    routes: Objects  # str

    @property
    def rows(self) -> int:
        return int(self.times.shape[0])

    def take(self, rows: npt.NDArray[Any]) -> Block:
        """The rows selected by an index or boolean mask, in that order."""
        return Block(
            self.model,
            self.version,
            self.names,
            self.times[rows],
            self.values[rows],
            self.confidences[rows],
            self.labels[rows],
            self.routes[rows],
        )

    def columns(self, names: Sequence[str]) -> Floats:
        """Values as rows x `names`; NaN for a name this block's rows do not have."""
        if tuple(names) == self.names:
            return self.values
        index = {n: j for j, n in enumerate(self.names)}
        out = np.full((self.rows, len(names)), np.nan)
        for j, name in enumerate(names):
            if name in index:
                out[:, j] = self.values[:, index[name]]
        return out


@dataclass(frozen=True, slots=True)
class Chunk:
    """Some of a window's logged predictions, as the blocks they were read from: drift
    counts a window a chunk at a time, so memory holds a chunk, not the window."""

    names: tuple[str, ...]
    blocks: tuple[Block, ...]

    @property
    def rows(self) -> int:
        return sum(b.rows for b in self.blocks)

    def column(self, name: str) -> Floats:
        """One feature's values, contiguous; NaN for rows whose block lacks it."""
        parts = []
        for b in self.blocks:
            try:
                parts.append(b.values[:, b.names.index(name)])
            except ValueError:
                parts.append(np.full(b.rows, np.nan))
        return np.concatenate(parts) if parts else np.empty(0)

    @property
    def confidences(self) -> Floats:
        return np.concatenate([b.confidences for b in self.blocks])

    @property
    def labels(self) -> Objects:
        return np.concatenate([b.labels for b in self.blocks])

    @property
    def routes(self) -> Objects:
        return np.concatenate([b.routes for b in self.blocks])


def blocks_of(predictions: Iterable[Any]) -> list[Block]:
    """One block per (model, version, feature names) among `predictions` (objects with
    the Prediction fields), rows in the order given."""
    groups: dict[tuple[str, str, tuple[str, ...]], list[Any]] = {}
    for p in predictions:
        key = (p.model, p.model_version, tuple(sorted(p.features)))
        groups.setdefault(key, []).append(p)
    out = []
    for (model, version, names), members in groups.items():
        features = [[p.features[n] for n in names] for p in members]
        out.append(
            Block(
                model,
                version,
                names,
                np.fromiter((microseconds(p.created_at) for p in members), np.int64, len(members)),
                _matrix(features, len(names)),
                np.fromiter((p.confidence for p in members), np.float64, len(members)),
                np.asarray([p.label for p in members], dtype=object),
                np.asarray([p.route for p in members], dtype=object),
            )
        )
    return out


@dataclass(frozen=True, slots=True)
class StoredBlock:
    """A block as one row of the `feature_blocks` table (fields named as its columns)."""

    id: str
    model: str
    version: str
    first_at: datetime
    last_at: datetime
    row_count: int
    feature_names: list[str]
    vocabulary: dict[str, list[str]]  # the distinct labels and routes the codes index
    times: bytes  # int64 little-endian
    feature_values: bytes  # float64 little-endian, row-major
    confidences: bytes  # float64 little-endian
    label_codes: bytes  # int32 little-endian, into vocabulary["labels"]
    route_codes: bytes  # uint8, into vocabulary["routes"]


def _codes(values: Objects, dtype: str) -> tuple[list[str], bytes]:
    """Dictionary coding: the distinct values in first-seen order, and each one's index."""
    vocabulary: dict[str, int] = {}
    codes = [vocabulary.setdefault(str(v), len(vocabulary)) for v in values.tolist()]
    return list(vocabulary), np.asarray(codes, dtype=dtype).tobytes()


def encode(block: Block) -> StoredBlock:
    labels, label_codes = _codes(block.labels, "<i4")
    routes, route_codes = _codes(block.routes, "u1")
    first, last = int(block.times.min()), int(block.times.max())
    return StoredBlock(
        id=new_id(),
        model=block.model,
        version=block.version,
        first_at=EPOCH + first * _US,
        last_at=EPOCH + last * _US,
        row_count=block.rows,
        feature_names=list(block.names),
        vocabulary={"labels": labels, "routes": routes},
        times=block.times.astype("<i8").tobytes(),
        feature_values=np.ascontiguousarray(block.values, dtype="<f8").tobytes(),
        confidences=block.confidences.astype("<f8").tobytes(),
        label_codes=label_codes,
        route_codes=route_codes,
    )


def decode(row: Mapping[Any, Any]) -> Block:
    """A block from a `feature_blocks` row (as a mapping of its columns)."""
    get = row.__getitem__
    names = tuple(_json(get("feature_names")))
    vocabulary = _json(get("vocabulary"))
    n = int(get("row_count"))
    labels = np.asarray(vocabulary["labels"], dtype=object)
    routes = np.asarray(vocabulary["routes"], dtype=object)
    return Block(
        model=get("model"),
        version=get("version"),
        names=names,
        times=np.frombuffer(get("times"), dtype="<i8", count=n).astype(np.int64, copy=False),
        values=np.frombuffer(get("feature_values"), dtype="<f8").reshape(n, len(names)),
        confidences=np.frombuffer(get("confidences"), dtype="<f8", count=n),
        labels=labels[np.frombuffer(get("label_codes"), dtype="<i4", count=n)],
        routes=routes[np.frombuffer(get("route_codes"), dtype="u1", count=n)],
    )


def _json(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str | bytes) else value


def concat(blocks: Sequence[Block], names: Sequence[str]) -> Block:
    """Blocks of one model version as one, columns as `names` (NaN where missing)."""
    if not blocks:
        raise ValueError("nothing to join")
    first = blocks[0]
    return Block(
        first.model,
        first.version,
        tuple(names),
        np.concatenate([b.times for b in blocks]),
        np.concatenate([b.columns(names) for b in blocks])
        if len(blocks) > 1
        else first.columns(names),
        np.concatenate([b.confidences for b in blocks]),
        np.concatenate([b.labels for b in blocks]),
        np.concatenate([b.routes for b in blocks]),
    )


def merge(blocks: Sequence[Block], target: int = TARGET_ROWS) -> list[Block]:
    """Blocks with the same model, version and names as blocks of at most `target`
    rows, oldest first: what compaction writes in their place."""
    keys = {(b.model, b.version, b.names) for b in blocks}
    if len(keys) != 1:
        raise ValueError(f"merge takes blocks of one model, version and names, not {keys}")
    whole = concat(blocks, blocks[0].names)
    whole = whole.take(np.argsort(whole.times, kind="stable"))
    return [
        whole.take(np.arange(s, min(s + target, whole.rows))) for s in range(0, whole.rows, target)
    ]


@dataclass(frozen=True, slots=True)
class Compaction:
    """What one compaction pass did."""

    merged_blocks: int  # small blocks read and deleted
    written_blocks: int  # blocks written in their place
    rows: int  # predictions moved (none gained or lost)
    raced: int  # merges left to another process that got there first

    def describe(self) -> str:
        if not self.merged_blocks:
            return "nothing to compact"
        return (
            f"merged {self.merged_blocks:,} feature blocks into {self.written_blocks:,} "
            f"({self.rows:,} predictions)"
        )


def hour_of(at: datetime) -> datetime:
    """The hour a block belongs to when merging: its first row's."""
    return at.replace(minute=0, second=0, microsecond=0)
