"""Model versions, their cards and drift references, shadow results, and the audit
trail of who changed what a model serves."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any

from tandem.domain import Guidelines, ModelEvent, ModelVersion, ShadowResult, StoredReference
from tandem.errors import UnknownModel
from tandem.store.prediction_log import PredictionReads
from tandem.store.review_queue import LabelReads


class VersionReads(ABC):
    """The registered versions, as read by serving and monitoring."""

    @abstractmethod
    def list_model_versions(self, name: str | None = None) -> list[ModelVersion]: ...

    @abstractmethod
    def get_model_version(self, name: str, version: str) -> ModelVersion: ...

    def model_names(self) -> list[str]:
        """Every registered model, sorted."""
        return sorted({v.name for v in self.list_model_versions()})

    def registered_versions(self, name: str) -> list[ModelVersion]:
        """`name`'s versions; UnknownModel, naming the registered models, when none."""
        versions = self.list_model_versions(name)
        if not versions:
            known = ", ".join(self.model_names()) or "none"
            raise UnknownModel(f"unknown model {name!r}; registered models: {known}")
        return versions

    def production_version(self, name: str) -> ModelVersion | None:
        for v in self.list_model_versions(name):
            if v.status == "production":
                return v
        return None

    def shadow_version(self, name: str) -> ModelVersion | None:
        for v in self.list_model_versions(name):
            if v.shadow:
                return v
        return None


class DriftReferences(ABC):
    """Each version's drift reference: what its inputs looked like in training,
    stored when it is registered and read when drift is measured."""

    @abstractmethod
    def put_drift_reference(self, reference: StoredReference) -> None:
        """Store a version's drift reference, replacing any it had."""

    @abstractmethod
    def get_drift_reference(self, model: str, version: str) -> StoredReference | None: ...


class GuidelinesStore(ABC):
    """Each model's guidelines for reviewers, kept as one record per edit."""

    @abstractmethod
    def add_guidelines(self, guidelines: Guidelines) -> None:
        """Store an edit; from now on it is the model's guidelines."""

    @abstractmethod
    def latest_guidelines(self, model: str) -> Guidelines | None:
        """The model's latest edit; None when it never had guidelines."""


class RegistryStore(PredictionReads, LabelReads, VersionReads, DriftReferences, GuidelinesStore):
    """Registering, promoting and comparing versions; a comparison reads the shadow
    results, the production predictions and the labels people gave them."""

    @abstractmethod
    def add_model_version(self, version: ModelVersion, event: ModelEvent | None = None) -> None: ...

    @abstractmethod
    def set_production(self, name: str, version: str, event: ModelEvent) -> None:
        """Make `version` the one production version, retiring the previous one,
        and store the audit event in the same transaction."""

    @abstractmethod
    def set_shadow(self, name: str, version: str | None, event: ModelEvent) -> None:
        """Make `version` the model's one shadow (None: no shadow)."""

    @abstractmethod
    def update_card(
        self, name: str, version: str, card: dict[str, Any], event: ModelEvent
    ) -> None: ...

    @abstractmethod
    def list_events(self, name: str | None = None) -> list[ModelEvent]: ...

    @abstractmethod
    def list_shadow_results(self, name: str, version: str) -> list[ShadowResult]: ...
