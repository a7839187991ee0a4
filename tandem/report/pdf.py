"""The report as a PDF, drawn with matplotlib's PdfPages: the same numbers and
charts as the page, with no browser or system library needed to produce it."""

from __future__ import annotations

import io
import textwrap

from matplotlib.backends.backend_pdf import PdfPages

from tandem.report import charts
from tandem.report.format import headline_lines
from tandem.report.summary import Report

A4 = (8.27, 11.69)


def _text_page(pdf: PdfPages, title: str, lines: list[str]) -> None:
    fig = charts.page(*A4)
    # parse_math off: a `$` in a comment or a model name is text, not TeX to parse.
    fig.text(0.08, 0.95, title, fontsize=16, weight="bold", va="top", parse_math=False)
    y = 0.9
    for line in lines:
        for part in textwrap.wrap(line, 95) or [""]:
            fig.text(0.08, y, part, fontsize=9.5, va="top", parse_math=False)
            y -= 0.022
            if y < 0.05:
                charts.to_pdf(pdf, fig, tight=False)
                fig = charts.page(*A4)
                y = 0.95
    charts.to_pdf(pdf, fig, tight=False)


def render_pdf(report: Report) -> bytes:
    buffer = io.BytesIO()
    with PdfPages(buffer, metadata={"Title": "Tandem report", "Creator": "Tandem"}) as pdf:
        _text_page(pdf, "What Tandem delivered", headline_lines(report))
        if report.volume.total:
            for fig in (
                charts.volume_chart(report.volume.days, report.volume.per_day),
                charts.latency_chart(
                    report.speed.days, report.speed.p50_per_day, report.speed.p95_per_day
                ),
                *(
                    charts.quality_chart(
                        q.model, q.weeks, q.weekly_model, q.weekly_baseline, q.weekly_agreement
                    )
                    for q in report.quality
                    if q.items
                ),
            ):
                charts.to_pdf(pdf, fig)
    return buffer.getvalue()
