"""Every chart Tandem draws (the monitoring pages, the report page, its HTML export and
its PDF), with matplotlib's object API.

Why matplotlib: it renders on the server with no network and no JavaScript; as SVG the
chart is text inside the page (one request, nothing to host) that scales without
blurring, and the same `Figure` goes into the PDF. Figures are built with `Figure`,
never pyplot, so no figure state is shared between requests and no backend is chosen
at import. The one global left, rcParams (read while building and saving), is held
under a lock with Tandem's style applied.
"""

from __future__ import annotations

import io
import math
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import date
from typing import TYPE_CHECKING

from matplotlib import rc_context
from matplotlib.figure import Figure

from tandem.monitor.quality import QualityReport
from tandem.monitor.results import FeatureDrift

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.backends.backend_pdf import PdfPages

REFERENCE_COLOUR = "#8a94a6"
LIVE_COLOUR = "#2f5bd3"
DRIFT_COLOUR = "#b3261e"
ROUTE_COLOURS = {"model": "#2f5bd3", "review": "#e0a126", "fallback": "#b3261e"}
ROUTE_NAMES = {"model": "answered by the model", "review": "sent to review", "fallback": "fallback"}
_STYLE = {
    "svg.fonttype": "none",  # text stays text: smaller, searchable, selectable
    "font.size": 8,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "text.parse_math": False,  # user text (model names, comments) is text, never TeX
}
_LOCK = threading.RLock()


@contextmanager
def drawing() -> Iterator[None]:
    """Build or save figures inside this: one thread at a time, in Tandem's style."""
    with _LOCK, rc_context(_STYLE):  # type: ignore[arg-type]
        yield


def to_svg(fig: Figure) -> str:
    """The figure as an inline <svg> element (the XML prolog and doctype dropped)."""
    buffer = io.StringIO()
    with drawing():
        fig.savefig(buffer, format="svg", bbox_inches="tight")
    text = buffer.getvalue()
    return text[text.index("<svg") :]


def to_pdf(pdf: PdfPages, fig: Figure, tight: bool = True) -> None:
    """The figure as the next page of `pdf`."""
    with drawing():
        pdf.savefig(fig, bbox_inches="tight" if tight else None)  # type: ignore[no-untyped-call]


def page(width: float, height: float) -> Figure:
    """An empty figure (a PDF page of text)."""
    with drawing():
        return Figure(figsize=(width, height))


# Monitoring: drift histograms and quality over time.


def bin_labels(f: FeatureDrift) -> list[str]:
    """Readable names of the bins PSI compared: ranges for numeric features (the outer
    bins are open-ended), the categories for categorical ones."""
    h = f.histogram
    if h.categories:
        return list(h.categories)
    inner = h.edges[1:-1]
    if not inner:
        return ["all"]
    labels = [f"≤ {_short(inner[0])}"]
    labels += [f"{_short(a)}–{_short(b)}" for a, b in zip(inner, inner[1:], strict=False)]
    labels.append(f"> {_short(inner[-1])}")
    return labels


def histogram(f: FeatureDrift, width: float = 4.2, height: float = 2.0) -> Figure:
    """Reference (training) and live shares per PSI bin, side by side."""
    labels = bin_labels(f)
    h = f.histogram
    with drawing():
        fig = Figure(figsize=(width, height))
        ax = fig.add_subplot()
        xs = range(len(labels))
        ax.bar(
            [x - 0.2 for x in xs], h.reference, width=0.4, color=REFERENCE_COLOUR, label="training"
        )
        live_colour = DRIFT_COLOUR if f.drifted else LIVE_COLOUR
        ax.bar([x + 0.2 for x in xs], h.live, width=0.4, color=live_colour, label="live")
        ax.set_xticks(list(xs), labels, rotation=35 if len(labels) > 4 else 0, ha="right")
        ax.set_ylabel("share of rows")
        ax.set_ylim(0, max(1e-9, *h.reference, *h.live) * 1.15)
        ax.legend(frameon=False, loc="upper right")
        ax.set_title(f"{f.name} · PSI {f.psi:.3g}", loc="left")
    return fig


def histogram_svg(f: FeatureDrift, width: float = 4.2, height: float = 2.0) -> str:
    return to_svg(histogram(f, width, height))


def quality(q: QualityReport, width: float = 7.5, height: float = 2.8) -> Figure:
    """Accuracy per period: model, rule baseline and two-person agreement, with the
    number of labelled items as grey bars so small samples are visible."""
    names = [p.label for p in q.periods]
    with drawing():
        fig = Figure(figsize=(width, height))
        counts = fig.add_subplot()
        xs = list(range(len(names)))
        counts.bar(xs, [p.items for p in q.periods], color="#e4e7ee", width=0.6)
        counts.set_ylabel("labelled items")
        rates = counts.twinx()
        series: Sequence[tuple[str, list[float | None], str]] = (
            ("model accuracy", [p.model.accuracy for p in q.periods], LIVE_COLOUR),
            ("rule baseline accuracy", [p.baseline.accuracy for p in q.periods], REFERENCE_COLOUR),
            ("agreement between people", [p.agreement for p in q.periods], "#1f7a4d"),
        )
        for label, values, colour in series:
            ys = [math.nan if v is None else v for v in values]
            if any(not math.isnan(y) for y in ys):
                rates.plot(xs, ys, marker="o", color=colour, label=label)
        rates.set_ylim(0, 1.05)
        rates.set_ylabel("share correct / agreeing")
        rates.spines["right"].set_visible(True)
        counts.set_xticks(xs, names, rotation=30 if len(names) > 6 else 0, ha="right")
        rates.legend(frameon=False, loc="lower left", ncols=3)
    return fig


def quality_svg(q: QualityReport, width: float = 7.5, height: float = 2.8) -> str:
    return to_svg(quality(q, width, height))


# The stakeholder report: volume, speed and quality per day or week.


def _axes(title: str) -> tuple[Figure, Axes]:
    fig = Figure(figsize=(9.0, 2.8), dpi=100)
    ax = fig.add_subplot()
    ax.set_title(title, loc="left", fontsize=10)
    return fig, ax


def _legend(ax: Axes) -> None:
    ax.legend(fontsize=8, frameon=False, loc="upper left", bbox_to_anchor=(1.0, 1.0))


def _day_ticks(ax: Axes, days: Sequence[date]) -> None:
    step = max(1, len(days) // 10)
    ticks = list(range(0, len(days), step))
    ax.set_xticks(ticks, [days[i].strftime("%b %d") for i in ticks])


def _lines(
    ax: Axes, x: list[int], series: Sequence[tuple[Sequence[float | None], str, str]]
) -> None:
    """One line per series, skipping the points with no value."""
    for values, name, style in series:
        points = [(i, v) for i, v in zip(x, values, strict=True) if v is not None]
        if points:
            ax.plot([p[0] for p in points], [p[1] for p in points], style, ms=3, label=name)


def volume_chart(days: Sequence[date], per_day: dict[str, list[int]]) -> Figure:
    with drawing():
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
        _legend(ax)
    return fig


def latency_chart(
    days: Sequence[date], p50: Sequence[float | None], p95: Sequence[float | None]
) -> Figure:
    with drawing():
        fig, ax = _axes("Time to answer (ms), per day")
        _lines(ax, list(range(len(days))), ((p50, "median (p50)", "-o"), (p95, "p95", "--o")))
        _day_ticks(ax, days)
        ax.set_ylim(bottom=0)
        _legend(ax)
    return fig


def quality_chart(
    model: str,
    weeks: Sequence[str],
    model_acc: Sequence[float | None],
    baseline_acc: Sequence[float | None],
    agreement: Sequence[float | None],
) -> Figure:
    with drawing():
        fig, ax = _axes(f"{model}: accuracy per week on labelled items")
        x = list(range(len(weeks)))
        series = (
            (model_acc, "model", "-o"),
            (baseline_acc, "rule baseline", "--o"),
            (agreement, "people agree", ":o"),
        )
        _lines(ax, x, series)
        ax.set_xticks(x, list(weeks))
        ax.set_ylim(0, 1.05)
        _legend(ax)
    return fig


def _short(value: float) -> str:
    return f"{value:.3g}"
