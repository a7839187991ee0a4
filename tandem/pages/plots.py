"""Plots as inline SVG, drawn with matplotlib.

Why matplotlib and SVG: it renders on the server with no network and no JavaScript, the
SVG is text inside the page (one request, nothing to host), scales without blurring, and
prints as vectors when a page is exported to PDF. Figures are built with the object API
(`Figure`, never pyplot), so no global figure state is shared between requests; the one
global left, rcParams read while saving, is held under a lock.
"""

from __future__ import annotations

import io
import math
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

from matplotlib import rc_context
from matplotlib.figure import Figure

from tandem.monitor.quality import QualityReport
from tandem.monitor.results import FeatureDrift

REFERENCE_COLOUR = "#8a94a6"
LIVE_COLOUR = "#2f5bd3"
DRIFT_COLOUR = "#b3261e"
_LOCK = threading.Lock()


@contextmanager
def _figure(width: float, height: float) -> Iterator[tuple[Figure, list[str]]]:
    """A figure drawn and saved under the lock and style; the SVG lands in the list."""
    style = {
        "svg.fonttype": "none",  # text stays text: smaller, searchable, selectable
        "text.parse_math": False,  # feature names and categories shown as typed, "$" too
        "font.size": 8,
        "axes.spines.top": False,
        "axes.spines.right": False,
    }
    with _LOCK, rc_context(style):  # type: ignore[arg-type]
        fig = Figure(figsize=(width, height))
        out: list[str] = []
        yield fig, out
        buffer = io.StringIO()
        fig.savefig(buffer, format="svg", bbox_inches="tight")
    text = buffer.getvalue()
    out.append(text[text.index("<svg") :])  # inline: drop the XML prolog and doctype


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


def histogram_svg(f: FeatureDrift, width: float = 4.2, height: float = 2.0) -> str:
    """Reference (training) and live shares per PSI bin, side by side."""
    labels = bin_labels(f)
    with _figure(width, height) as (fig, svg):
        _draw_histogram(fig, f, labels)
    return svg[0]


def _draw_histogram(fig: Figure, f: FeatureDrift, labels: list[str]) -> None:
    h = f.histogram
    ax = fig.add_subplot()
    xs = range(len(labels))
    ax.bar([x - 0.2 for x in xs], h.reference, width=0.4, color=REFERENCE_COLOUR, label="training")
    live_colour = DRIFT_COLOUR if f.drifted else LIVE_COLOUR
    ax.bar([x + 0.2 for x in xs], h.live, width=0.4, color=live_colour, label="live")
    ax.set_xticks(list(xs), labels, rotation=35 if len(labels) > 4 else 0, ha="right")
    ax.set_ylabel("share of rows")
    ax.set_ylim(0, max(1e-9, *h.reference, *h.live) * 1.15)
    ax.legend(frameon=False, loc="upper right")
    ax.set_title(f"{f.name} · PSI {f.psi:.3g}", loc="left")


def quality_svg(q: QualityReport, width: float = 7.5, height: float = 2.8) -> str:
    """Accuracy per period: model, rule baseline and two-person agreement, with the
    number of labelled items as grey bars so small samples are visible."""
    with _figure(width, height) as (fig, svg):
        _draw_quality(fig, q)
    return svg[0]


def _draw_quality(fig: Figure, q: QualityReport) -> None:
    names = [p.label for p in q.periods]
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


def _short(value: float) -> str:
    return f"{value:.3g}"
