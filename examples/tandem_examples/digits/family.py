"""Handwritten digits as a Tandem model family (registered under the `tandem.models`
entry point in examples/pyproject.toml)."""

from __future__ import annotations

from tandem.models.interface import Predictor
from tandem_examples.digits.model import DigitParams, DigitsPredictor
from tandem_examples.digits.schema import Digit
from tandem_examples.family import ExampleFamily, Train

CARD = {
    "intended_use": (
        "Read a single handwritten digit 0-9 from an 8x8 scan (64 integers 0-16, row-major), "
        "say which digit it is, how sure the model is, and which pixels drove the answer. "
        "Low-confidence reads go to a human reviewer. Mainly a demonstration that Tandem "
        "serves non-text models."
    ),
    "out_of_scope": (
        "Letters, symbols or multi-digit numbers; scans at another resolution or not centred "
        "and size-normalised like the training data; photographs; deciding anything that "
        "matters (cheques, forms) without a person checking."
    ),
    "training_data": (
        "scikit-learn's bundled copy of the UCI Optical Recognition of Handwritten Digits "
        "test set: 1,797 scans written by 43 people; each pixel counts inked cells in a 4x4 "
        "block of a 32x32 bitmap. Stratified 80/20 split, seed 42 (1,437 train, 360 test)."
    ),
    "limitations": (
        "A linear model on raw pixels: it knows where ink usually is, not strokes, so shifted, "
        "rotated or unusually thick digits fool it. Writers in the test split also wrote "
        "training scans, so accuracy on new writers is likely lower. The explanation credits "
        "inked pixels only; a missing stroke shows no contribution."
    ),
    "fallback": (
        "When the model fails or exceeds its latency budget, the nearest centroid answers: "
        "the digit whose mean training image is closest (Euclidean distance), with "
        "probabilities from a softmax over negative distances (temperature 2). Responses say "
        "`route: fallback`."
    ),
}

ATTRIBUTION = (
    "The digits model is trained on the Optical Recognition of Handwritten Digits data set "
    "by E. Alpaydin and C. Kaynak (UCI Machine Learning Repository, CC BY 4.0; "
    "https://archive.ics.uci.edu/dataset/80), as bundled with scikit-learn."
)


class DigitsFamily(ExampleFamily):
    name = "digits"
    input_schema = Digit
    attribution = ATTRIBUTION

    card = CARD

    def trainer(self) -> Train:
        from tandem_examples.digits.train import train  # sklearn only when training

        return train

    def load(self, content: bytes, version: str) -> Predictor:
        params, doc = DigitParams.from_json(content)
        return DigitsPredictor(params, version, doc)


family = DigitsFamily()
