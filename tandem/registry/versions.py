"""Register versions and change what serves, always with an audit record.

Promotion is a human decision: it needs an approver and a comment, and it stores
the evidence the approver saw next to the change."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tandem.clock import utcnow
from tandem.domain import ModelEvent, ModelVersion
from tandem.errors import Conflict, InvalidInput
from tandem.ids import new_id
from tandem.models.artifacts import ArtifactStore
from tandem.models.interface import TrainedArtifact
from tandem.monitor.reference import save_reference
from tandem.registry.cards import draft_card
from tandem.registry.names import check_model_name
from tandem.store.registry_store import RegistryStore

SYSTEM = "tandem"


def make_event(
    name: str,
    action: Any,
    version: str,
    previous: str | None,
    actor: str,
    comment: str | None,
    evidence: dict[str, Any] | None = None,
) -> ModelEvent:
    return ModelEvent(
        new_id(), name, action, version, previous, actor, comment, evidence or {}, utcnow()
    )


def register(
    store: RegistryStore,
    artifacts: ArtifactStore,
    name: str,
    trained: TrainedArtifact,
    card_defaults: dict[str, str],
    production: bool = False,
    actor: str = SYSTEM,
) -> ModelVersion:
    """Store a trained artifact and register it as a candidate (or, for a model's
    very first version, as production). The version is the content hash, so the
    same data and seed give the same version, registered once."""
    check_model_name(name)
    digest = artifacts.put(trained.content)
    version = digest[:12]
    existing = {v.version for v in store.list_model_versions(name)}
    if version not in existing:
        mv = ModelVersion(
            name=name,
            version=version,
            created_at=utcnow(),
            status="candidate",
            artifact_sha256=digest,
            data_hash=trained.data_hash,
            metrics=trained.metrics,
            card=draft_card(card_defaults, trained),
        )
        store.add_model_version(mv, make_event(name, "register", version, None, actor, None))
    if trained.reference is not None and store.get_drift_reference(name, version) is None:
        # Also for a version registered before references existed: training it again
        # (same data, same content hash) gives it one.
        save_reference(store, name, version, trained.reference)
    if production:
        current = store.production_version(name)
        if current is None or current.version != version:
            store.set_production(
                name,
                version,
                make_event(
                    name,
                    "promote",
                    version,
                    current.version if current else None,
                    actor,
                    "first version" if current is None else "trained by command",
                ),
            )
    return store.get_model_version(name, version)


def promote(
    store: RegistryStore,
    name: str,
    version: str,
    approver: str | None,
    comment: str | None,
    evidence: Callable[[], dict[str, Any]],
) -> ModelEvent:
    """`evidence` is computed only once the request is valid: it re-scores labelled
    items, which is wasted work for a promotion that will be refused."""
    if not approver or not approver.strip():
        raise InvalidInput("promotion needs an approver: the name of the person who approves it")
    if not comment or not comment.strip():
        raise InvalidInput("promotion needs a comment: why this version should serve users")
    target = store.get_model_version(name, version)
    current = store.production_version(name)
    if target.status == "production":
        raise Conflict(f"version {version!r} of {name!r} is already in production")
    event = make_event(
        name,
        "promote",
        version,
        current.version if current else None,
        approver.strip(),
        comment.strip(),
        evidence(),
    )
    store.set_production(name, version, event)
    return event


def serving_history(store: RegistryStore, name: str) -> list[str]:
    """The versions that served, as a stack: a promotion pushes, a rollback pops.

    So rolling back twice goes two promotions back, never forth again."""
    stack: list[str] = []
    for event in store.list_events(name):
        if event.action == "promote":
            stack.append(event.version)
        elif event.action == "rollback" and stack:
            stack.pop()
    return stack


def rollback(store: RegistryStore, name: str, actor: str, comment: str | None) -> ModelEvent:
    """Serve again the version that served before the current one."""
    current = store.production_version(name)
    if current is None:
        raise Conflict(f"model {name!r} has no production version to roll back")
    history = serving_history(store, name)
    if len(history) < 2:
        raise Conflict(
            f"{name!r} {current.version} is the first production version; "
            "there is nothing to roll back to"
        )
    previous = history[-2]
    event = make_event(
        name,
        "rollback",
        previous,
        current.version,
        actor or SYSTEM,
        comment,
        {"from": current.version, "to": previous},
    )
    store.set_production(name, previous, event)
    return event


def set_shadow(store: RegistryStore, name: str, version: str | None, actor: str) -> ModelEvent:
    current = store.production_version(name)
    if version is not None and current is not None and current.version == version:
        raise Conflict(f"version {version!r} is in production; shadow a candidate instead")
    shadow = store.shadow_version(name)
    if version is None and shadow is None:
        raise Conflict(f"model {name!r} has no shadow version")
    event = make_event(
        name,
        "shadow_on" if version else "shadow_off",
        version or (shadow.version if shadow else ""),
        None,
        actor,
        None,
    )
    store.set_shadow(name, version, event)
    return event
