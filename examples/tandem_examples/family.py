"""What the example families share: training loaded only when asked (it needs
scikit-learn, serving does not) and the artifact a training run hands Tandem."""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

from tandem.models.interface import ModelFamily, TrainedArtifact
from tandem.models.reference_sample import ReferenceSample

Train = Callable[..., TrainedArtifact]


class Params(Protocol):
    def to_json(self, extra: dict[str, Any]) -> bytes: ...


class ExampleFamily(ModelFamily):
    """A family whose draft card is a constant and whose training code is imported only
    when it trains."""

    card: dict[str, str]

    @abstractmethod
    def trainer(self) -> Train:
        """The family's training function, called as `ModelFamily.train` is: the same
        arguments, with the same defaults."""

    def default_data_dir(self) -> Path | None:
        """Where the data lies when the caller names no folder (None: bundled data)."""
        return None

    def train(self, data_dir: Path | None, *args: Any, **kwargs: Any) -> TrainedArtifact:
        """`trainer()`, handed the arguments as given (`data_dir` defaulted): the interface
        is the one place that spells them out."""
        return self.trainer()(data_dir or self.default_data_dir(), *args, **kwargs)

    def card_defaults(self) -> dict[str, str]:
        return self.card


def artifact(
    params: Params,
    data_hash: str,
    metrics: dict[str, Any],
    report: str,
    reference: ReferenceSample,
) -> TrainedArtifact:
    """The stored bytes carry the data hash and metrics next to the parameters, so a
    version's file alone says what it was trained on and how it scored."""
    return TrainedArtifact(
        content=params.to_json({"data_hash": data_hash, "metrics": metrics}),
        data_hash=data_hash,
        metrics=metrics,
        report=report,
        reference=reference,
    )
