"""The one Jinja2 environment every page renders with (autoescaping on)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi.templating import Jinja2Templates

templates = Jinja2Templates(directory=str(Path(__file__).parent / "templates"))


def max_abs(explanation: list[dict[str, Any]]) -> float:
    """The scale of an explanation's bars and heat maps (never 0)."""
    return max((abs(float(e["contribution"])) for e in explanation), default=1.0) or 1.0


templates.env.globals["max_abs"] = max_abs
