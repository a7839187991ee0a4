from __future__ import annotations

import statistics
from pathlib import Path

import pytest

from tandem.errors import InvalidInput
from tandem_examples.ml_editor.data import _tags, find_dumps, load_dataset, read_questions


def test_reads_only_questions_of_a_real_dump(data_dir: Path) -> None:
    questions = read_questions(data_dir / "stackexchange" / "ai" / "Posts.xml")
    assert len(questions) == 264  # data README: 264 questions, answers skipped
    assert all(q.site == "ai" and q.title for q in questions)


def test_label_rule_is_strictly_above_site_median(data_dir: Path) -> None:
    questions, data_hash = load_dataset(data_dir)
    assert len(questions) == 2558 and len(data_hash) == 64
    for site in {q.site for q in questions}:
        of_site = [q for q in questions if q.site == site]
        median = statistics.median(q.score for q in of_site)
        assert all((q.label == "good") == (q.score > median) for q in of_site)
    share = sum(q.label == "good" for q in questions) / len(questions)
    assert share == pytest.approx(0.46, abs=0.01)


@pytest.mark.parametrize(
    ("raw", "tags"),
    [("<a><b-c>", ("a", "b-c")), ("|a|b-c|", ("a", "b-c")), ("", ())],
)
def test_both_tag_spellings(raw: str, tags: tuple[str, ...]) -> None:
    assert _tags(raw) == tags


def test_missing_folder_says_what_to_set(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput, match="TANDEM_DATA_DIR"):
        find_dumps(tmp_path / "nope")


def test_folder_without_dumps_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput, match="no Posts.xml"):
        find_dumps(tmp_path)


def test_not_xml_is_a_clear_error(tmp_path: Path) -> None:
    bad = tmp_path / "site" / "Posts.xml"
    bad.parent.mkdir()
    bad.write_text("this is not xml")
    with pytest.raises(InvalidInput, match="not a Stack Exchange Posts.xml"):
        read_questions(bad)
