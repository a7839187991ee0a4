"""The digits model's input: what a client sends in `"input"`."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, field_validator

SIDE = 8
N_PIXELS = SIDE * SIDE
MAX_VALUE = 16
"""Each pixel counts the inked cells in a 4x4 block of the original 32x32 bitmap (UCI
optical recognition of handwritten digits), so it is an integer 0-16."""


class Digit(BaseModel):
    model_config = ConfigDict(extra="forbid")

    pixels: list[int] = Field(
        description=(
            f"The scan as {N_PIXELS} integers 0-{MAX_VALUE} (0 = blank, {MAX_VALUE} = fully "
            f"inked), {SIDE}x{SIDE} row-major: pixels[8 * row + col]."
        ),
    )

    @field_validator("pixels", mode="before")
    @classmethod
    def _numbers_only(cls, value: object) -> object:
        # Pydantic's lax mode would read "7" as 7 and True as 1; a scan is numbers.
        # Whole floats (7.0) stay accepted: sklearn's own digits arrive as float64.
        if isinstance(value, list | tuple):
            for i, v in enumerate(value):
                if isinstance(v, str | bool):
                    raise ValueError(
                        f"pixel {i} is {v!r}; each pixel must be a number 0-{MAX_VALUE}"
                    )
        return value

    @field_validator("pixels")
    @classmethod
    def _is_a_scan(cls, value: list[int]) -> list[int]:
        if len(value) != N_PIXELS:
            raise ValueError(
                f"expected {N_PIXELS} pixels (an {SIDE}x{SIDE} scan, row-major), got {len(value)}"
            )
        bad = [(i, v) for i, v in enumerate(value) if not 0 <= v <= MAX_VALUE]
        if bad:
            shown = ", ".join(
                f"pixel {i} (row {i // SIDE}, col {i % SIDE}) is {v}" for i, v in bad[:3]
            )
            more = f" and {len(bad) - 3} more" if len(bad) > 3 else ""
            raise ValueError(f"each pixel must be 0-{MAX_VALUE}: {shown}{more}")
        return value
