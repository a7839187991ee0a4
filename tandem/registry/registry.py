"""The model registry as the API and the pages use it: versions, cards, comparison,
promotion, rollback, shadow and replay, over the registry's store. A change to what
serves calls `changed`, so this process serves it from the next request on."""

from __future__ import annotations

from collections.abc import Callable, Collection
from typing import Any

from tandem.clock import utcnow
from tandem.domain import Guidelines, ModelEvent, ModelVersion, Prediction, PredictionFilter
from tandem.errors import Conflict, InvalidInput, UnknownModel
from tandem.ids import new_id
from tandem.models.interface import Predictor
from tandem.registry import versions
from tandem.registry.cards import edit_card
from tandem.registry.compare import compare, evidence
from tandem.registry.replay import replay, summarize
from tandem.store.registry_store import RegistryStore

MAX_GUIDELINES = 20_000
"""Longest reviewer guidelines, in characters: several pages of Markdown, and a bound on
what every review page renders."""


class Registry:
    def __init__(
        self,
        store: RegistryStore,
        families: Collection[str],
        load: Callable[[str, str], Predictor],
        changed: Callable[[], None],
    ) -> None:
        """`families`: the installed model families (a model may have no version yet);
        `load`: a registered version's predictor; `changed`: re-read what serves."""
        self._store = store
        self._families = families
        self._load = load
        self._changed = changed

    # -- reads ---------------------------------------------------------------
    def check_known(self, name: str) -> None:
        """UnknownModel unless `name` is an installed family or has a version."""
        if name not in self._families and not self._store.list_model_versions(name):
            known = ", ".join(sorted(self._families)) or "none"
            raise UnknownModel(f"unknown model {name!r}; known models: {known}")

    def names(self) -> list[str]:
        """Installed families and registered models, sorted."""
        return sorted(set(self._families) | set(self._store.model_names()))

    def versions(self, name: str | None = None) -> list[ModelVersion]:
        return self._store.list_model_versions(name)

    def version(self, name: str, version: str) -> ModelVersion:
        """NotFound for an unknown version."""
        return self._store.get_model_version(name, version)

    def production(self, name: str) -> ModelVersion | None:
        return self._store.production_version(name)

    def events(self, name: str) -> list[ModelEvent]:
        return self._store.list_events(name)

    def compare(self, name: str, version: str) -> dict[str, Any]:
        """Production vs `version` (Conflict when nothing is in production)."""
        self._store.get_model_version(name, version)
        current = self._store.production_version(name)
        if current is None:
            raise Conflict(f"model {name!r} has no production version to compare with")
        production = self._load(name, current.version)
        return compare(self._store, name, production, self._load(name, version))

    def guidelines(self, name: str) -> Guidelines | None:
        """The model's guidelines for reviewers; None when nobody wrote any."""
        return self._store.latest_guidelines(name)

    # -- changes -------------------------------------------------------------
    def edit_guidelines(self, name: str, markdown: str, editor: str) -> Guidelines:
        """Replace the model's guidelines (empty text clears them); every edit is kept
        with its editor and time."""
        self.check_known(name)
        text = markdown.replace("\r\n", "\n").replace("\r", "\n")
        if len(text) > MAX_GUIDELINES:
            raise InvalidInput(
                f"guidelines may be at most {MAX_GUIDELINES:,} characters; these are "
                f"{len(text):,}: shorten them or link to a longer document"
            )
        guidelines = Guidelines(new_id(), name, text, editor, utcnow())
        self._store.add_guidelines(guidelines)
        return guidelines

    def edit_card(
        self, name: str, version: str, changes: dict[str, str], editor: str
    ) -> ModelVersion:
        """Replace card sections; the edit is an audit event naming the sections."""
        mv = self._store.get_model_version(name, version)
        card = edit_card(mv.card, changes, editor)
        event = versions.make_event(
            name, "card_edit", version, None, card["edited_by"], ", ".join(sorted(changes))
        )
        self._store.update_card(name, version, card, event)
        return self._store.get_model_version(name, version)

    def promote(
        self, name: str, version: str, approver: str | None, comment: str | None
    ) -> ModelEvent:
        event = versions.promote(
            self._store,
            name,
            version,
            approver,
            comment,
            lambda: evidence(self._store, self._load, name, version),
        )
        self._changed()
        return event

    def rollback(self, name: str, actor: str, comment: str | None) -> ModelEvent:
        event = versions.rollback(self._store, name, actor, comment)
        self._changed()
        return event

    def set_shadow(self, name: str, version: str | None, actor: str) -> ModelEvent:
        event = versions.set_shadow(self._store, name, version, actor)
        self._changed()
        return event

    # -- replay --------------------------------------------------------------
    def replay(self, prediction: Prediction, version: str | None = None) -> dict[str, Any]:
        """Re-score a logged prediction with `version` (default: the one that answered)."""
        predictor = self._load(prediction.model, version or prediction.model_version)
        return replay(prediction, predictor)

    def replay_many(self, version: str, where: PredictionFilter) -> dict[str, Any]:
        """Re-score the logged predictions `where` picks (of one model) with `version`."""
        if where.model is None:
            raise InvalidInput("replay needs a model: a version belongs to one model")
        self._store.get_model_version(where.model, version)
        predictor = self._load(where.model, version)
        results = [replay(p, predictor) for p in self._store.list_predictions(where)]
        return {"summary": summarize(results), "results": results}
