"""Retrain from people's labels, replay logged predictions, the live holdout."""

from __future__ import annotations

import hashlib
import math
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from tandem.domain import Feedback, Label
from tandem.errors import InvalidInput
from tandem.models.artifacts import ArtifactStore
from tandem.predict.service import in_holdout
from tandem.registry.retrain import gathered_labels, retrain
from tandem.settings import Settings
from tandem.store.base import PredictionFilter, Store
from tandem.store.review_queue import Decision
from tandem_examples.ml_editor.family import family as ml_editor
from tests.conftest import app_client, predict
from tests.rows import log_for_review

QUESTIONS = [
    {"title": f"How do I parse a date in format {i}?", "body": "I tried strptime. " * (i + 1)}
    for i in range(6)
]


def test_same_version_replay_reproduces_the_output(client: TestClient) -> None:
    body = predict(client)
    replayed = client.post(f"/v1/predictions/{body['id']}/replay", json={}).json()
    assert replayed["same_label"] and replayed["max_probability_change"] == 0.0
    assert replayed["replayed"]["alternatives"] == body["alternatives"]
    assert replayed["replayed"]["explanation"] == body["explanation"]
    for version, status in (("", 422), ("nope", 404)):  # an empty name is not "the logged one"
        bad = client.post(f"/v1/predictions/{body['id']}/replay", json={"version": version})
        assert bad.status_code == status, bad.text


def test_replay_a_filtered_set(client: TestClient) -> None:
    for q in QUESTIONS:
        predict(client, q)
    version = predict(client)["model_version"]
    result = client.post(
        "/v1/replay", json={"model": "ml-editor", "version": version, "route": "model"}
    ).json()
    store = client.app.state.store  # type: ignore[attr-defined]
    routed = store.list_predictions(PredictionFilter(model="ml-editor", route="model"))
    assert result["summary"]["replayed"] == len(routed)
    assert result["summary"]["agreement"] in (1.0, None)
    bad = client.post("/v1/replay", json={"model": "ml-editor", "version": "nope"})
    assert bad.status_code == 404
    for when in ({"since": 0}, {"until": 1.7e9}):  # a number is not read as Unix seconds
        bad = client.post("/v1/replay", json={"model": "ml-editor", "version": version, **when})
        assert bad.status_code == 422 and "ISO 8601" in bad.text, bad.text


def test_holdout_is_reproducible_and_about_the_configured_rate() -> None:
    ids = [f"{i:032x}" for i in range(20_000)]
    chosen = [in_holdout(i, 0.02) for i in ids]
    assert chosen == [in_holdout(i, 0.02) for i in ids]
    assert 0.015 < sum(chosen) / len(ids) < 0.025
    assert not any(in_holdout(i, 0.0) for i in ids[:100])


def test_an_id_hashed_exactly_at_the_rate_stays_out_of_holdout() -> None:
    """An id is held out when its hash point lies below the rate, so a rate takes
    exactly its share of the id space."""
    pid = "0190f1e2a3b4c5d6e7f8091a2b3c4d5e"
    point = int.from_bytes(hashlib.sha256(pid.encode()).digest()[:8], "big") / 2**64
    assert not in_holdout(pid, point)
    assert in_holdout(pid, math.nextafter(point, 1.0))


def test_holdout_items_go_to_review_whatever_the_confidence(trained_home: Settings) -> None:
    settings = trained_home.model_copy(update={"holdout_rate": 1.0, "review_threshold": 0.0})
    with app_client(settings) as c:
        body = predict(c)
        assert body["route"] == "review" and body["holdout"] is True
        assert c.get(f"/v1/reviews/{body['review_id']}").json()["reason"] == "holdout"


def test_retrain_uses_reviewed_labels_and_evaluates_on_holdout(
    trained_home: Settings, data_dir: Path
) -> None:
    # Half the traffic is holdout: those labels evaluate, the others train.
    settings = trained_home.model_copy(update={"holdout_rate": 0.5, "review_threshold": 1.0})
    with app_client(settings) as c:
        for q in QUESTIONS:
            body = predict(c, q)
            c.post(
                f"/v1/reviews/{body['review_id']}/decision",
                json={"label": "poor"},
            )
        store = c.app.state.store  # type: ignore[attr-defined]
        extra, holdout = gathered_labels(store, "ml-editor")
        assert len(extra) + len(holdout) == len(QUESTIONS)
        assert all(e.source == "review" and e.label == "poor" for e in extra + holdout)
        mv, trained = retrain(store, ArtifactStore(settings.artifacts_dir), ml_editor, data_dir)
    assert mv.status == "candidate" and mv.metrics["n_extra"] == len(extra)
    record = mv.metrics["training_labels"]  # what it trained on, for honest evidence
    assert (record["count"], record["holdout_evaluated"]) == (len(extra), len(holdout))
    assert mv.metrics["n_test"] == 512  # the same test split as production
    if holdout:
        assert mv.metrics["live_holdout"]["model"]["n"] == len(holdout)
    assert mv.card["sections"]["fallback"].startswith("When the model fails")
    assert {"site", "length", "contains_code", "title_question_mark"} <= set(mv.metrics["slices"])


def test_retrain_trains_from_the_folder_and_reports_to_the_callback_given(
    store: Store, tmp_path: Path
) -> None:
    """The caller's folder, not the family's default, is what retraining reads."""
    stages: list[tuple[str, float]] = []
    empty = tmp_path / "empty"
    empty.mkdir()

    def progress(stage: str, fraction: float) -> None:
        stages.append((stage, fraction))

    with pytest.raises(InvalidInput, match="no Posts.xml found under"):
        retrain(store, ArtifactStore(tmp_path / "artifacts"), ml_editor, empty, progress)
    assert stages == [("loading dumps", 0.0)]


T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def _logged(store: Store, pid: str, holdout: bool) -> str:
    """A logged prediction waiting in review; returns its review id."""
    return log_for_review(store, pid, T0, input={"title": pid, "body": "text"}, holdout=holdout)


def _feedback_label(store: Store, pid: str, label: str, at: datetime) -> None:
    item = Feedback(f"f-{pid}-{label}", pid, "incorrect", label, None, at)
    store.add_feedback(item, Label(f"l-{pid}-{label}", pid, label, "feedback", item.id, None, at))


def test_holdout_labels_evaluate_and_never_train(store: Store) -> None:
    for pid, holdout in (("train", False), ("held", True), ("told", True), ("unlabelled", True)):
        _logged(store, pid, holdout)
    store.decide_review(Decision("r-train", "poor", "ann", None, T0))
    store.decide_review(Decision("r-held", "poor", "ann", None, T0))
    _feedback_label(store, "held", "good", T0 + timedelta(minutes=1))
    _feedback_label(store, "told", "good", T0 + timedelta(minutes=1))

    train, holdout = gathered_labels(store, "ml-editor")
    assert [(e.prediction_id, e.label, e.source) for e in train] == [("train", "poor", "review")]
    assert sorted((e.prediction_id, e.label, e.source) for e in holdout) == [
        ("held", "poor", "review"),
        ("told", "good", "feedback"),
    ]
    assert train[0].input == {"title": "train", "body": "text"}


@pytest.mark.parametrize("review_first", [True, False])
def test_a_review_beats_feedback_whatever_the_order(store: Store, review_first: bool) -> None:
    review_id = _logged(store, "p", holdout=False)
    review_at, feedback_at = T0, T0 + timedelta(minutes=1)
    if not review_first:
        review_at, feedback_at = feedback_at, review_at
    store.decide_review(Decision(review_id, "poor", "ann", None, review_at))
    _feedback_label(store, "p", "good", feedback_at)
    [(prediction, label)] = store.labelled_predictions("ml-editor")
    assert (prediction.id, label.label, label.source, label.author) == (
        "p",
        "poor",
        "review",
        "ann",
    )
    assert {lab.label for lab in store.list_labels("p")} == {"poor", "good"}  # both kept


@pytest.mark.parametrize("good_first", [True, False])
def test_among_feedback_the_latest_wins(store: Store, good_first: bool) -> None:
    _logged(store, "p", holdout=False)
    first, second = ("good", "poor") if good_first else ("poor", "good")
    _feedback_label(store, "p", first, T0)
    _feedback_label(store, "p", second, T0 + timedelta(minutes=1))
    [(_prediction, label)] = store.labelled_predictions("ml-editor")
    assert (label.label, label.source) == (second, "feedback")


def test_labels_given_at_the_same_instant_resolve_by_id(store: Store) -> None:
    """Two labels with one timestamp: the greater (later) id wins on every back-end,
    whatever order the rows were written in, and the label keeps its time."""
    _logged(store, "p", holdout=False)
    _feedback_label(store, "p", "poor", T0)  # id l-p-poor, written first
    _feedback_label(store, "p", "good", T0)  # id l-p-good
    [(_prediction, label)] = store.labelled_predictions("ml-editor")
    assert (label.id, label.label, label.created_at) == ("l-p-poor", "poor", T0)


def test_feedback_never_overrides_a_review(review_client: TestClient) -> None:
    body = predict(review_client)
    other = "good" if body["label"] == "poor" else "poor"
    review_client.post(
        f"/v1/reviews/{body['review_id']}/decision",
        json={"label": body["label"]},
    )
    feedback = review_client.post(
        f"/v1/predictions/{body['id']}/feedback",
        json={"kind": "incorrect", "label": other, "comment": "no"},
    )
    assert feedback.status_code == 201
    store = review_client.app.state.store  # type: ignore[attr-defined]
    [(_prediction, label)] = store.labelled_predictions("ml-editor")
    assert (label.label, label.source) == (body["label"], "review")
    shown = review_client.get(f"/v1/predictions/{body['id']}").json()
    assert (shown["final_label"]["label"], shown["final_label"]["source"]) == (
        body["label"],
        "review",
    )
    assert [(d["label"], d["source"]) for d in shown["disagreements"]] == [(other, "feedback")]


@pytest.mark.parametrize("slice_name", ["site", "length", "contains_code", "title_question_mark"])
def test_card_page_lists_slices(client: TestClient, slice_name: str) -> None:
    version = predict(client)["model_version"]
    markdown = client.get(f"/v1/models/ml-editor/versions/{version}/card.md").text
    assert f"## Slice: {slice_name}" in markdown


def test_card_carries_the_test_split_table_with_the_previous_model(client: TestClient) -> None:
    """The ML Editor's card compares the rules, the model it replaced and itself on the
    fixed test split, overall and per site."""
    version = predict(client)["model_version"]
    markdown = client.get(f"/v1/models/ml-editor/versions/{version}/card.md").text
    assert "| metric | baseline | previous model | model |" in markdown
    assert "| roc_auc | 0.5397 | 0.5867 |" in markdown
    site = markdown.split("## Slice: site", 1)[1].split("## Slice:", 1)[0]
    assert "previous model ROC-AUC" in site
    assert all(f"| {s} |" in site for s in ("ai", "beer", "cardano", "cstheory.meta"))
    page = client.get(f"/models/ml-editor/{version}")
    assert page.status_code == 200, page.text
    assert "<th>previous model</th>" in page.text and "previous model ROC-AUC" in page.text
