"""The one chart module: object API only, safe to draw from many threads at once."""

from __future__ import annotations

import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from datetime import date, timedelta

from tandem.report import charts


def _chart(model: str) -> str:
    weeks = [f"2026-W{w:02d}" for w in range(1, 6)]
    return charts.to_svg(
        charts.quality_chart(model, weeks, [0.9, 0.8, None, 0.85, 0.9], [0.6] * 5, [None] * 5)
    )


def test_charts_drawn_in_parallel_each_show_their_own_data() -> None:
    models = [f"model-{i}" for i in range(12)]
    with ThreadPoolExecutor(max_workers=6) as pool:
        svgs = list(pool.map(_chart, models))
    for model, svg in zip(models, svgs, strict=True):
        assert svg.startswith("<svg")
        assert f"{model}: accuracy per week" in svg  # text stays text (svg.fonttype none)
        assert sum(f"{m}: accuracy" in svg for m in models) == 1  # nobody else's title


def test_day_charts_label_the_days() -> None:
    days = [date(2026, 11, 1) + timedelta(days=i) for i in range(3)]
    svg = charts.to_svg(charts.volume_chart(days, {"model": [3, 4, 5], "review": [1, 0, 2]}))
    assert "Nov 01" in svg and "answered by the model" in svg


def test_importing_the_charts_and_the_pdf_chooses_no_backend_and_no_pyplot() -> None:
    code = (
        "import sys, tandem.report.charts, tandem.report.pdf, tandem.pages.monitor;"
        "print('matplotlib.pyplot' in sys.modules)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "False"
