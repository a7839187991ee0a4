"""Promotion, rollback and shadow in the registry, on the store: what each refuses (and
says), and what each records in the audit trail."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tandem.errors import Conflict, InvalidInput
from tandem.models.artifacts import ArtifactStore
from tandem.registry.versions import promote, register, rollback, set_shadow
from tandem.store.base import Store
from tests.fakes import artifact

APPROVER = "promotion needs an approver: the name of the person who approves it"
COMMENT = "promotion needs a comment: why this version should serve users"


def _versions(store: Store, tmp_path: Path, name: str, *p_a: float) -> list[str]:
    """Versions of `name`, the first in production, the others candidates."""
    artifacts = ArtifactStore(tmp_path / "artifacts")
    return [
        register(store, artifacts, name, artifact(p_a=p), {}, production=i == 0).version
        for i, p in enumerate(p_a)
    ]


def _no_evidence() -> dict[str, Any]:
    raise AssertionError("evidence is computed only for a valid promotion")


@pytest.mark.parametrize(
    ("approver", "comment", "message"),
    [
        (None, "better", APPROVER),
        ("  ", "better", APPROVER),
        ("ann", None, COMMENT),
        ("ann", " ", COMMENT),
    ],
)
def test_promotion_needs_an_approver_and_a_comment(
    store: Store, tmp_path: Path, approver: str | None, comment: str | None, message: str
) -> None:
    _v1, v2 = _versions(store, tmp_path, "fake", 0.7, 0.2)
    with pytest.raises(InvalidInput) as refused:
        promote(store, "fake", v2, approver, comment, _no_evidence)
    assert str(refused.value) == message
    assert store.get_model_version("fake", v2).status == "candidate"


def test_promotion_records_who_why_and_what_served_before(store: Store, tmp_path: Path) -> None:
    v1, v2 = _versions(store, tmp_path, "fake", 0.7, 0.2)
    event = promote(store, "fake", v2, " ann ", " better on b ", lambda: {"accuracy": 0.9})
    assert (event.action, event.version, event.previous_version) == ("promote", v2, v1)
    assert (event.actor, event.comment, event.evidence) == ("ann", "better on b", {"accuracy": 0.9})
    assert store.list_events("fake")[-1] == event
    assert store.production_version("fake").version == v2  # type: ignore[union-attr]
    with pytest.raises(Conflict) as again:
        promote(store, "fake", v2, "ann", "twice", _no_evidence)
    assert str(again.value) == f"version {v2!r} of 'fake' is already in production"


def test_rollback_records_from_and_to(store: Store, tmp_path: Path) -> None:
    v1, v2 = _versions(store, tmp_path, "fake", 0.7, 0.2)
    promote(store, "fake", v2, "ann", "better", dict)
    event = rollback(store, "fake", "bob", "worse in production")
    assert (event.action, event.version, event.previous_version) == ("rollback", v1, v2)
    assert (event.actor, event.comment) == ("bob", "worse in production")
    assert event.evidence == {"from": v2, "to": v1}
    assert store.list_events("fake")[-1] == event
    assert store.production_version("fake").version == v1  # type: ignore[union-attr]
    with pytest.raises(Conflict) as first:
        rollback(store, "fake", "", None)
    assert str(first.value) == (
        f"'fake' {v1} is the first production version; there is nothing to roll back to"
    )


def test_rollback_without_an_actor_is_the_system(store: Store, tmp_path: Path) -> None:
    _v1, v2 = _versions(store, tmp_path, "fake", 0.7, 0.2)
    promote(store, "fake", v2, "ann", "better", dict)
    assert rollback(store, "fake", "", None).actor == "tandem"


def test_a_model_without_production_has_nothing_to_roll_back(store: Store) -> None:
    with pytest.raises(Conflict) as refused:
        rollback(store, "ghost", "bob", None)
    assert str(refused.value) == "model 'ghost' has no production version to roll back"


def test_each_model_rolls_back_along_its_own_history(store: Store, tmp_path: Path) -> None:
    f1, f2 = _versions(store, tmp_path, "fake", 0.7, 0.2)
    o1, o2 = _versions(store, tmp_path, "other", 0.6, 0.3)
    promote(store, "fake", f2, "ann", "better", dict)
    promote(store, "other", o2, "ann", "better", dict)
    assert rollback(store, "fake", "bob", None).version == f1
    assert store.production_version("other").version == o2  # type: ignore[union-attr]
    assert rollback(store, "other", "bob", None).version == o1


def test_shadow_on_and_off(store: Store, tmp_path: Path) -> None:
    _a1, a2 = _versions(store, tmp_path, "aaa", 0.6, 0.3)  # another model, listed first
    set_shadow(store, "aaa", a2, "ann")
    v1, v2 = _versions(store, tmp_path, "fake", 0.7, 0.2)
    with pytest.raises(Conflict) as production:
        set_shadow(store, "fake", v1, "ann")
    assert str(production.value) == f"version {v1!r} is in production; shadow a candidate instead"
    assert store.shadow_version("fake") is None

    on = set_shadow(store, "fake", v2, "ann")
    assert (on.action, on.version, on.previous_version, on.actor) == ("shadow_on", v2, None, "ann")
    assert store.shadow_version("fake").version == v2  # type: ignore[union-attr]

    off = set_shadow(store, "fake", None, "bob")
    assert (off.action, off.version, off.actor) == ("shadow_off", v2, "bob")
    assert store.shadow_version("fake") is None
    assert [e.action for e in store.list_events("fake")][-2:] == ["shadow_on", "shadow_off"]
    with pytest.raises(Conflict) as none:
        set_shadow(store, "fake", None, "bob")
    assert str(none.value) == "model 'fake' has no shadow version"


def test_promoting_the_first_production_version_has_no_previous(
    store: Store, tmp_path: Path
) -> None:
    artifacts = ArtifactStore(tmp_path / "artifacts")
    version = register(store, artifacts, "fake", artifact(), {}).version  # a candidate only
    event = promote(store, "fake", version, "ann", "first", dict)
    assert (event.version, event.previous_version) == (version, None)


def test_promotion_and_rollback_record_their_own_models_versions(
    store: Store, tmp_path: Path
) -> None:
    """Another model in production (listed first by name) never stands in for this one's."""
    [other] = _versions(store, tmp_path, "another", 0.6)
    v1, v2 = _versions(store, tmp_path, "fake", 0.7, 0.2)
    promoted = promote(store, "fake", v2, "ann", "better", dict)
    assert (promoted.version, promoted.previous_version) == (v2, v1)
    rolled = rollback(store, "fake", "bob", "worse")
    assert (rolled.version, rolled.previous_version) == (v1, v2)
    assert rolled.evidence == {"from": v2, "to": v1}
    assert store.production_version("another").version == other  # type: ignore[union-attr]
