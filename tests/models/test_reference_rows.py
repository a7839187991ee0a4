"""Reference rows from a file: CSV, JSON or NPY, with an optional column of true labels."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from tandem.errors import InvalidInput
from tandem.models.reference_sample import read_labelled_rows, read_rows

NAMES = ["x", "y"]


def _file(tmp_path: Path, name: str, text: str) -> Path:
    (tmp_path / name).write_text(text)
    return tmp_path / name


def test_a_csv_label_column_gives_the_labels_in_any_position(tmp_path: Path) -> None:
    path = _file(tmp_path, "r.csv", "y,label,x\n2,cat,1\n4,,3\n6, dog ,5\n")
    rows = read_labelled_rows(path, NAMES)
    assert rows.values.tolist() == [[1, 2], [3, 4], [5, 6]]
    assert rows.labels == ("cat", "", "dog")
    assert read_rows(path, NAMES).tolist() == [[1, 2], [3, 4], [5, 6]]


def test_without_a_label_column_there_are_no_labels(tmp_path: Path) -> None:
    assert read_labelled_rows(_file(tmp_path, "r.csv", "x,y\n1,2\n"), NAMES).labels is None
    assert read_labelled_rows(_file(tmp_path, "h.csv", "1,2\n3,4\n"), NAMES).labels is None
    np.save(tmp_path / "r.npy", np.ones((3, 2)))
    assert read_labelled_rows(tmp_path / "r.npy", NAMES).labels is None


def test_a_feature_called_label_is_a_feature(tmp_path: Path) -> None:
    rows = read_labelled_rows(_file(tmp_path, "r.csv", "label,x\n1,2\n"), ["x", "label"])
    assert rows.values.tolist() == [[2, 1]] and rows.labels is None


def test_json_rows(tmp_path: Path) -> None:
    doc = [{"x": 1, "y": 2.5, "label": "cat"}, {"y": None, "x": 3}]
    rows = read_labelled_rows(_file(tmp_path, "r.json", json.dumps(doc)), NAMES)
    assert rows.values[0].tolist() == [1, 2.5] and rows.values[1, 0] == 3
    assert np.isnan(rows.values[1, 1]) and rows.labels == ("cat", "")
    plain = read_labelled_rows(_file(tmp_path, "p.json", '[{"x": 1, "y": 2}]'), NAMES)
    assert plain.labels is None


@pytest.mark.parametrize(
    ("name", "text", "says"),
    [
        ("r.json", '{"x": 1}', "expected a list of rows"),
        ("r.json", '[{"x": 1}]', "row 1: missing ['y'], unknown []"),
        ("r.json", '[{"x": 1, "y": 2, "z": 3}]', "unknown ['z']"),
        ("r.json", '[{"x": "1", "y": 2}]', "x is '1', not a number"),
        ("r.json", '[{"x": true, "y": 2}]', "x is True, not a number"),
        ("r.json", "[{", "cannot read reference rows"),
        ("r.csv", "x,colour\n1,red\n", "missing ['y'], unknown ['colour']"),
        ("r.csv", "x,y,label\n1,2\n", "row 1 has 2 cells, expected 3"),
    ],
)
def test_bad_rows_say_what_is_wrong(tmp_path: Path, name: str, text: str, says: str) -> None:
    with pytest.raises(InvalidInput, match=r"cannot read reference rows") as raised:
        read_labelled_rows(_file(tmp_path, name, text), NAMES)
    assert says in raised.value.message
