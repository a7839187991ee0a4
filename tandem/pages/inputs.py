"""What pages show with a prediction for a reviewer: its input drawn as its model's
family declares (tandem.models.interface.InputView), and the model's guidelines."""

from __future__ import annotations

from collections.abc import Iterable
from contextlib import suppress

from markupsafe import Markup

from tandem.domain import Guidelines, Prediction
from tandem.errors import TandemError
from tandem.models.interface import InputView, Predictor, input_view
from tandem.web.markup import markdown_html
from tandem.web.state import Services


def view_of(svc: Services, p: Prediction) -> InputView:
    """How to draw `p`'s input. A version that no longer loads still shows its fields as
    its family declares them (an image then falls back to text)."""
    predictor: Predictor | None = None
    with suppress(TandemError):
        predictor = svc.models.get(p.model, p.model_version)
    return input_view(svc.families.get(p.model), predictor)


class ShownGuidelines:
    """A model's guidelines as a page shows them: rendered, sanitised, and who wrote them."""

    def __init__(self, g: Guidelines) -> None:
        self.model = g.model
        self.edited_by = g.edited_by
        self.edited_at = g.edited_at
        self.html: Markup = markdown_html(g.markdown)


def guidelines_of(svc: Services, models: Iterable[str]) -> dict[str, ShownGuidelines]:
    """Each of `models`' guidelines, rendered once per page; models without any are left out."""
    shown = {}
    for model in dict.fromkeys(models):
        g = svc.registry.guidelines(model)
        if g is not None and g.markdown.strip():
            shown[model] = ShownGuidelines(g)
    return shown
