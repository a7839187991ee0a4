"""The ML Editor's suggestions, feature by feature: one is given only for a feature
outside what good questions typically have, and only when it pulls the score down."""

from __future__ import annotations

from pathlib import Path

import pytest

from tandem.domain import Suggestion
from tandem.models.interface import TrainedArtifact
from tandem_examples.ml_editor import features as fx
from tandem_examples.ml_editor import suggestions as sg
from tandem_examples.ml_editor.data import load_dataset
from tandem_examples.ml_editor.family import family
from tandem_examples.ml_editor.schema import Question

TYPICAL_MIDDLE = {name: (low + high) / 2 for name, (low, high) in sg.TYPICAL.items()}
DOWN = dict.fromkeys(fx.FEATURE_NAMES, -0.5)  # every feature pulls the score down

CASES = [
    (name, direction, sid)
    for name, (below, above) in sg.ADVICE.items()
    for direction, (sid, _text) in (("increase", below), ("decrease", above))
    if sid
]


def _outside(feature: str, direction: str) -> float:
    """A value just past the feature's typical range, on the side the advice fixes."""
    low, high = sg.TYPICAL[feature]
    return low - 1 if direction == "increase" else high + 1


def test_a_question_in_every_typical_range_gets_no_suggestion() -> None:
    assert sg.suggest(TYPICAL_MIDDLE, DOWN) == []


@pytest.mark.parametrize(("feature", "direction", "sid"), CASES)
def test_each_feature_outside_its_range_gets_its_own_suggestion(
    feature: str, direction: str, sid: str
) -> None:
    value = _outside(feature, direction)
    [s] = sg.suggest({**TYPICAL_MIDDLE, feature: value}, DOWN)
    assert (s.id, s.feature, s.value, s.advice) == (sid, feature, value, direction)
    low, high = sg.TYPICAL[feature]
    assert s.typical == {"low": low, "high": high}
    assert s.text == dict(CASES_TEXT)[sid]


CASES_TEXT = [(sid, text) for below, above in sg.ADVICE.values() for sid, text in (below, above)]


@pytest.mark.parametrize(("feature", "direction", "sid"), CASES)
def test_no_suggestion_for_a_feature_that_does_not_pull_the_score_down(
    feature: str, direction: str, sid: str
) -> None:
    up = {**DOWN, feature: 0.2}
    assert sg.suggest({**TYPICAL_MIDDLE, feature: _outside(feature, direction)}, up) == []


@pytest.mark.parametrize("feature", sorted(sg.TYPICAL))
def test_a_value_on_the_edge_of_the_range_is_in_it(feature: str) -> None:
    low, high = sg.TYPICAL[feature]
    assert sg.suggest({**TYPICAL_MIDDLE, feature: low}, DOWN) == []
    assert sg.suggest({**TYPICAL_MIDDLE, feature: high}, DOWN) == []


def test_at_most_four_and_the_strongest_pull_first() -> None:
    features = {**TYPICAL_MIDDLE, "title_words": 1, "body_words": 5, "links": 9, "code_blocks": 3}
    features |= {"pleasantries": 3}
    pulls = {**DOWN, "links": -2.0, "pleasantries": -0.1}
    found = sg.suggest(features, pulls)
    assert len(found) == sg.MAX_SUGGESTIONS
    assert found[0].id == "fewer_links" and "greetings" not in [s.id for s in found]


def test_typical_ranges_are_those_of_the_training_datas_good_questions(data_dir: Path) -> None:
    questions, _ = load_dataset(data_dir)
    rows = [fx.extract(q.title, q.body) for q in questions]
    ranges = sg.good_ranges(rows, [q.label == "good" for q in questions])
    assert {k: tuple(v) for k, v in ranges.items()} == sg.TYPICAL


def test_the_issues_examples_get_no_advice_about_features_they_do_well(
    ml_editor_artifact: TrainedArtifact,
) -> None:
    predictor = family.load(ml_editor_artifact.content, "v")
    body = " ".join(["The sort runs on a list of integers and returns them in order."] * 2)
    q = Question(title="Why does my merge sort return an unsorted list?", body=body)
    f = predictor.features(q)
    assert f["vague_words"] == 0
    advice = predictor.suggest(f, "poor", q)
    assert "vague_words" not in [s.id for s in advice]
    for s in advice:
        assert isinstance(s, Suggestion) and s.typical is not None and s.value is not None
        assert not s.typical["low"] <= s.value <= s.typical["high"]


def test_mechanical_suggestions_carry_the_fixed_field(ml_editor_artifact: TrainedArtifact) -> None:
    predictor = family.load(ml_editor_artifact.content, "v")
    q = Question(title="sorting broken", body="Hi all.\n\nMy sort returns NONE. Thanks!")
    advice = {s.id: s for s in predictor.suggest(predictor.features(q), "poor", q)}
    assert advice["title_question"].fix == {"field": "title", "value": "sorting broken?"}
    fixed = Question(title=q.title, body=sg.drop_greetings(q.body))
    assert fixed.body == "My sort returns NONE."
    assert predictor.features(fixed)["pleasantries"] == 0
    after = predictor.predict_proba(
        predictor.features(Question(title="sorting broken?", body=q.body))
    )
    assert after[1] > predictor.predict_proba(predictor.features(q))[1]


def test_the_fallback_gives_grounded_suggestions(ml_editor_artifact: TrainedArtifact) -> None:
    predictor = family.load(ml_editor_artifact.content, "v")
    answer = predictor.fallback(Question(title="help", body="hi, thing broken. thanks"))
    assert answer.suggestions
    assert all(isinstance(s, Suggestion) and s.feature for s in answer.suggestions)


def test_highlights_are_the_sentences_whose_absence_raises_the_score(
    ml_editor_artifact: TrainedArtifact,
) -> None:
    predictor = family.load(ml_editor_artifact.content, "v")
    body = (
        "Hi all. My merge sort returns the list unsorted when it has duplicates. "
        "I expected [1, 1, 2] and got [1, 2, 1]. THANKS SO MUCH for any help!"
    )
    q = Question(title="merge sort wrong", body=body)
    found = predictor.highlights(q)
    assert found, "the greeting and the shouted thanks pull the score down"
    base = predictor.predict_proba(predictor.features(q))[1]
    for h in found:
        assert body[h.start : h.end] == h.text and h.field == "body" and h.reason
        without = Question(title=q.title, body=body[: h.start] + body[h.end :])
        assert predictor.predict_proba(predictor.features(without))[1] - base == pytest.approx(
            h.delta, abs=1e-4
        )
    assert [h.delta for h in found] == sorted((h.delta for h in found), reverse=True)
    assert any("THANKS" in h.text for h in found)


def test_a_one_sentence_body_gets_no_highlights(ml_editor_artifact: TrainedArtifact) -> None:
    predictor = family.load(ml_editor_artifact.content, "v")
    assert predictor.highlights(Question(title="sort?", body="thanks for any help")) == []
