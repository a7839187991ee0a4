"""The report's charts, drawn with matplotlib's non-interactive Agg/SVG backends.

Server-side SVG keeps the page and its HTML export self-contained (no JavaScript,
no network) and the same figures go into the PDF unchanged."""

from __future__ import annotations

import io
from collections.abc import Sequence
from datetime import date
from typing import TYPE_CHECKING

import matplotlib

matplotlib.use("Agg")  # no display on a server; must precede pyplot
import matplotlib.pyplot as plt  # noqa: E402

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

ROUTE_COLOURS = {"model": "#2f5bd3", "review": "#e0a126", "fallback": "#b3261e"}
ROUTE_NAMES = {"model": "answered by the model", "review": "sent to review", "fallback": "fallback"}


def to_svg(fig: Figure) -> str:
    """The figure as an inline <svg> element (the XML prologue dropped)."""
    buffer = io.StringIO()
    fig.savefig(buffer, format="svg", bbox_inches="tight")
    plt.close(fig)
    text = buffer.getvalue()
    return text[text.index("<svg") :]


def _axes(title: str) -> tuple[Figure, Axes]:
    fig, ax = plt.subplots(figsize=(9.0, 2.8), dpi=100)
    ax.set_title(title, loc="left", fontsize=10, parse_math=False)  # a model name with $s
    ax.spines[["top", "right"]].set_visible(False)
    ax.tick_params(labelsize=8)
    return fig, ax


def _day_labels(days: Sequence[date]) -> list[str]:
    return [d.strftime("%b %d") for d in days]


def volume_chart(days: Sequence[date], per_day: dict[str, list[int]]) -> Figure:
    fig, ax = _axes("Predictions per day, by route")
    x = range(len(days))
    bottom = [0] * len(days)
    for route, counts in per_day.items():
        ax.bar(
            x,
            counts,
            bottom=bottom,
            color=ROUTE_COLOURS.get(route, "#888"),
            label=ROUTE_NAMES.get(route, route),
        )
        bottom = [b + c for b, c in zip(bottom, counts, strict=True)]
    _day_ticks(ax, days)
    ax.legend(fontsize=8, frameon=False, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    return fig


def latency_chart(
    days: Sequence[date], p50: Sequence[float | None], p95: Sequence[float | None]
) -> Figure:
    fig, ax = _axes("Time to answer (ms), per day")
    x = list(range(len(days)))
    for values, name, style in ((p50, "median (p50)", "-o"), (p95, "p95", "--o")):
        points = [(i, v) for i, v in zip(x, values, strict=True) if v is not None]
        if points:
            ax.plot([p[0] for p in points], [p[1] for p in points], style, ms=3, label=name)
    _day_ticks(ax, days)
    ax.set_ylim(bottom=0)
    ax.legend(fontsize=8, frameon=False, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    return fig


def _day_ticks(ax: Axes, days: Sequence[date]) -> None:
    step = max(1, len(days) // 10)
    ticks = list(range(0, len(days), step))
    ax.set_xticks(ticks, [_day_labels(days)[i] for i in ticks])


def quality_chart(
    model: str,
    weeks: Sequence[str],
    model_acc: Sequence[float | None],
    baseline_acc: Sequence[float | None],
    agreement: Sequence[float | None],
) -> Figure:
    fig, ax = _axes(f"{model}: accuracy per week on labelled items")
    x = list(range(len(weeks)))
    series = (
        (model_acc, "model", "-o"),
        (baseline_acc, "rule baseline", "--o"),
        (agreement, "people agree", ":o"),
    )
    for values, name, style in series:
        points = [(i, v) for i, v in zip(x, values, strict=True) if v is not None]
        if points:
            ax.plot([p[0] for p in points], [p[1] for p in points], style, ms=3, label=name)
    ax.set_xticks(x, list(weeks))
    ax.set_ylim(0, 1.05)
    ax.legend(fontsize=8, frameon=False, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    return fig
