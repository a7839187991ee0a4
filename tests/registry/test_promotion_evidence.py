"""Promotion evidence is honest: a retrained version records the labels it was trained
on, and a comparison measures both versions only on labels neither was trained on."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from tandem.domain import Label
from tandem.models.artifacts import ArtifactStore
from tandem.models.interface import LabelledExample, TrainedArtifact
from tandem.registry.compare import compare
from tandem.registry.retrain import retrain
from tandem.registry.training_labels import evaluation_set, label_set_hash, record_of
from tandem.registry.versions import register
from tandem.settings import Settings
from tandem.store import open_store
from tandem.store.base import Store
from tandem.store.review_queue import Decision
from tests.conftest import app_client
from tests.fakes import FakeFamily, artifact
from tests.rows import log_for_review

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


class LabelFamily(FakeFamily):
    """Trains a version that answers "b", a different one for each number of labels."""

    def trained_on(self, extra: list[LabelledExample]) -> TrainedArtifact:
        return artifact(p_a=0.1 + 0.01 * len(extra))


def _labelled(store: Store, pid: str, label: str, at: datetime, holdout: bool = False) -> None:
    """A logged prediction (answered "a") that a reviewer labelled `label` at `at`."""
    log_for_review(
        store,
        pid,
        at,
        created_at=at - timedelta(seconds=1),
        model="fake",
        input={"text": pid},
        label="a",
        confidence=0.7,
        holdout=holdout,
    )
    store.decide_review(Decision(f"r-{pid}", label, "ann", None, at))


def _relabel(store: Store, pid: str, label: str, at: datetime) -> None:
    """An admin's adjudication: the one label that outranks a review's."""
    store.add_labels(
        [Label(f"l-{pid}-{label}", pid, label, "adjudication", "adj", "eve", at, "admin")]
    )


def _retrained_world(store: Store, artifacts: ArtifactStore) -> tuple[str, str]:
    """Production v1 (dataset, answers "a"); candidate v2 retrained on old1 and old2;
    then a label newer than v2's cut-off, and a relabel of an item v2 trained on."""
    v1 = register(store, artifacts, "fake", artifact(p_a=0.7), {}, production=True).version
    _labelled(store, "old1", "b", T0)
    _labelled(store, "old2", "b", T0 + timedelta(minutes=1))
    _labelled(store, "held", "a", T0 + timedelta(minutes=2), holdout=True)
    v2, _ = retrain(store, artifacts, LabelFamily(), None)
    _labelled(store, "new", "b", T0 + timedelta(hours=1))
    _relabel(store, "old1", "a", T0 + timedelta(hours=2))  # still an item v2 learned
    return v1, v2.version


def test_a_retrained_version_records_its_training_labels(store: Store, settings: Settings) -> None:
    artifacts = ArtifactStore(settings.artifacts_dir)
    v1, v2 = _retrained_world(store, artifacts)
    record = record_of(store.get_model_version("fake", v2))
    assert record == {
        "count": 2,
        "earliest": T0.isoformat(),
        "latest": (T0 + timedelta(minutes=1)).isoformat(),
        "hash": label_set_hash([("old1", "b"), ("old2", "b")]),
        "holdout_evaluated": 1,
    }
    assert record_of(store.get_model_version("fake", v1)) is None  # trained on its dataset

    # Retrained again on a changed set (old1 relabelled, new added): another hash.
    v3, _ = retrain(store, artifacts, LabelFamily(), None)
    again = record_of(v3)
    assert again is not None and again["count"] == 3
    assert again["latest"] == (T0 + timedelta(hours=2)).isoformat()
    assert again["hash"] == label_set_hash([("old1", "a"), ("old2", "b"), ("new", "b")])
    assert again["hash"] != record["hash"]


def test_the_label_set_hash_changes_with_any_pair_and_not_with_order() -> None:
    pairs = [("p1", "a"), ("p2", "b")]
    assert label_set_hash(pairs) == label_set_hash(reversed(pairs))
    assert label_set_hash(pairs) != label_set_hash([("p1", "a"), ("p2", "a")])
    assert label_set_hash(pairs) != label_set_hash(pairs[:1])
    assert label_set_hash(pairs) != label_set_hash([*pairs, ("p3", "a")])


def test_a_candidate_is_never_evaluated_on_a_label_it_trained_on(
    store: Store, settings: Settings
) -> None:
    artifacts = ArtifactStore(settings.artifacts_dir)
    v1, v2 = _retrained_world(store, artifacts)
    production, candidate = (store.get_model_version("fake", v) for v in (v1, v2))
    labelled = store.labelled_predictions("fake")
    assert store.first_labelled_at("fake")["old1"] == T0  # relabelled two hours later
    unseen = evaluation_set(
        labelled,
        store.first_labelled_at("fake"),
        {"production": production, "candidate": candidate},
    )
    # old1 and old2 trained v2 (old1's later relabel does not make it unseen); the
    # holdout item and the item labelled after the cut-off evaluate it.
    assert sorted(p.id for p, _ in unseen.items) == ["held", "new"]
    assert unseen.trained_on == {"production": 0, "candidate": 2}

    # A retrained production is held to the same rule, so both sides share the items.
    swapped = evaluation_set(
        labelled,
        store.first_labelled_at("fake"),
        {"production": candidate, "candidate": production},
    )
    assert sorted(p.id for p, _ in swapped.items) == ["held", "new"]

    family = FakeFamily()
    result = compare(
        store,
        "fake",
        family.load(artifact(p_a=0.7).content, v1),
        LabelFamily().load(artifacts.get(candidate.artifact_sha256), v2),
    )
    assert result["labelled_items"] == 2
    assert result["evaluation_items"] == {"production": 2, "candidate": 2}
    # held is "a" (production right), new is "b" (candidate right); the items v2
    # trained on ("b", "b" then "a") would have tilted this towards the candidate.
    assert result["accuracy"] == {"production": 0.5, "candidate": 0.5}
    evaluation = result["evaluation"]
    assert (evaluation["holdout"], evaluation["after_training"], evaluation["labelled"]) == (
        1,
        1,
        4,
    )
    assert evaluation["excluded_trained_on"] == {"production": 0, "candidate": 2}
    assert evaluation["too_few"] and "too few to tell" in evaluation["note"]
    assert result["training_labels"]["candidate"]["count"] == 2
    assert result["training_labels"]["production"] is None


def test_a_dataset_candidate_is_evaluated_on_every_label(store: Store, settings: Settings) -> None:
    artifacts = ArtifactStore(settings.artifacts_dir)
    v1, _ = _retrained_world(store, artifacts)
    v3 = register(store, artifacts, "fake", artifact(p_a=0.3), {}).version
    unseen = evaluation_set(
        store.labelled_predictions("fake"),
        store.first_labelled_at("fake"),
        {
            side: store.get_model_version("fake", v)
            for side, v in (("production", v1), ("candidate", v3))
        },
    )
    assert sorted(p.id for p, _ in unseen.items) == ["held", "new", "old1", "old2"]
    assert unseen.summary()["excluded_trained_on"] == {"production": 0, "candidate": 0}


def test_pages_and_api_show_training_labels_and_evaluation_counts(settings: Settings) -> None:
    store = open_store(settings.resolved_database_url)
    _, v2 = _retrained_world(store, ArtifactStore(settings.artifacts_dir))
    digest = label_set_hash([("old1", "b"), ("old2", "b")])
    store.close()
    with app_client(settings, families={"fake": LabelFamily()}) as client:
        version = client.get(f"/v1/models/fake/versions/{v2}").json()
        assert version["training_labels"]["count"] == 2
        assert version["training_labels"]["hash"] == digest
        assert version["training_labels"]["latest"] == (T0 + timedelta(minutes=1)).isoformat()

        comparison = client.get(f"/v1/models/fake/compare/{v2}").json()
        assert comparison["evaluation_items"] == {"production": 2, "candidate": 2}
        assert comparison["evaluation"]["excluded_trained_on"]["candidate"] == 2

        page = client.get(f"/models/fake/{v2}").text
        assert "accuracy on 2 labelled items neither version was trained on" in page
        assert "(1 holdout, 1 labelled after training)" in page
        assert "2 by this version, 0 by production" in page
        assert "too few to tell" in page and digest in page

        card = client.get(f"/v1/models/fake/versions/{v2}/card.md").text
        assert "## Labels from people it was trained on" in card
        assert "- labels: 2" in card and digest in card
        assert f"to {(T0 + timedelta(minutes=1)).isoformat()}" in card

        promoted = client.post("/v1/models/fake/promote", json={"version": v2, "comment": "ok"})
        assert promoted.status_code == 200, promoted.text
        evidence = promoted.json()["evidence"]
        assert evidence["candidate_training_labels"]["hash"] == digest
        assert evidence["comparison"]["evaluation_items"]["candidate"] == 2
