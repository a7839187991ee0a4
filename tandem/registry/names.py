"""What a model may be called: the name goes into URLs, file names, logs, charts and
pages, so it is a short slug and nothing else."""

from __future__ import annotations

import re

from tandem.errors import InvalidInput

MODEL_NAME_PATTERN = r"^[a-z0-9][a-z0-9._-]{0,63}$"
MODEL_NAME_RULE = (
    f"a model name must match {MODEL_NAME_PATTERN}: 1 to 64 characters of a-z, 0-9, "
    "'.', '_' and '-', starting with a letter or digit"
)
_NAME = re.compile(MODEL_NAME_PATTERN)


def check_model_name(name: str) -> str:
    """`name` if it follows the rule; else InvalidInput naming the rule (on one line)."""
    if _NAME.fullmatch(name) is None:  # fullmatch: `$` alone would accept a final newline
        shown = repr(name if len(name) <= 40 else name[:40] + "…")
        raise InvalidInput(f"{shown} is not a valid model name: {MODEL_NAME_RULE}")
    return name
