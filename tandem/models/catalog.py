"""Model families found through entry points, and the versions registered in the store.

This is the seam between "a model someone wrote" and "what serving sees": a dict
of name -> loaded production Predictor.
"""

from __future__ import annotations

from importlib.metadata import entry_points

from tandem.domain import ModelVersion
from tandem.errors import InvalidInput
from tandem.models.artifacts import ArtifactStore
from tandem.models.interface import ModelFamily, Predictor

ENTRY_POINT_GROUP = "tandem.models"


def discover_families() -> dict[str, ModelFamily]:
    """Every installed model family, by name."""
    found: dict[str, ModelFamily] = {}
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        family = ep.load()
        if not isinstance(family, ModelFamily):
            raise TypeError(f"entry point {ep.value} is not a tandem ModelFamily")
        found[family.name] = family
    return found


def with_added_models(
    families: dict[str, ModelFamily], versions: list[ModelVersion]
) -> dict[str, ModelFamily]:
    """Installed families plus models added from saved files (`tandem models add`),
    which the registry, not an entry point, knows about."""
    from tandem.models.sklearn_adapter import SklearnFamily

    added = {v.name for v in versions if v.metrics.get("kind") == "sklearn"} - set(families)
    return {**families, **{name: SklearnFamily(name) for name in sorted(added)}}


def get_family(families: dict[str, ModelFamily], name: str) -> ModelFamily:
    if name not in families:
        known = ", ".join(sorted(families)) or "none installed"
        raise InvalidInput(f"unknown model {name!r}; known models: {known}")
    return families[name]


def load_version(
    families: dict[str, ModelFamily], artifacts: ArtifactStore, mv: ModelVersion
) -> Predictor:
    family = get_family(families, mv.name)
    return family.load(artifacts.get(mv.artifact_sha256), mv.version)
