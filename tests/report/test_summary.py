"""The report's numbers against the rows they come from."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from tandem.clock import report_window as window
from tandem.domain import Feedback, Prediction, ReviewItem
from tandem.errors import InvalidInput
from tandem.incidents import Alert
from tandem.report.charts import ROUTE_NAMES
from tandem.report.format import headline_lines
from tandem.report.pdf import render_pdf
from tandem.report.summary import ReportSources, build
from tandem.store.base import LogEntry, Store
from tandem.store.review_queue import Decision
from tests.report.pdf_text import pdf_text
from tests.rows import log_prediction

DAY0 = datetime(2026, 3, 1, tzinfo=UTC)


def _prediction(i: int, day: int, route: str, latency: float, model: str = "m") -> Prediction:
    return Prediction(
        id=f"p{i}",
        created_at=DAY0 + timedelta(days=day, hours=1 + i % 20),
        model=model,
        model_version="v1",
        input={"text": "x"},
        features={"x": 1.0},
        label="a",
        confidence=0.6,
        alternatives=[{"label": "a", "probability": 0.6}, {"label": "b", "probability": 0.4}],
        explanation=[],
        suggestions=[],
        route=route,  # type: ignore[arg-type]
        latency_ms=latency,
        holdout=False,
    )


@pytest.fixture
def filled(store: Store) -> tuple[Store, list[Prediction]]:
    rng = np.random.default_rng(7)
    made = []
    routes = ["model"] * 6 + ["review"] * 3 + ["fallback"]
    for i in range(60):
        p = _prediction(i, day=i % 3, route=routes[i % 10], latency=float(rng.gamma(2, 3)))
        review = None
        if p.route == "review":
            review = ReviewItem(
                id=f"r{i}",
                prediction_id=p.id,
                status="pending",
                created_at=p.created_at,
                reason="low_confidence",
            )
        store.add_predictions([LogEntry(p, review)])
        made.append(p)
    # One prediction outside the window, one of another model.
    store.add_predictions([LogEntry(_prediction(900, day=10, route="model", latency=1.0))])
    store.add_predictions(
        [LogEntry(_prediction(901, day=0, route="model", latency=1.0, model="other"))]
    )
    for rid, who, hours in (("r6", "ana", 2.0), ("r7", "ana", 4.0), ("r8", "bo", 6.0)):
        item = store.get_review(rid)
        store.decide_review(Decision(rid, "b", who, None, item.created_at + timedelta(hours=hours)))
    store.add_feedback(
        Feedback(
            id="f1",
            prediction_id="p3",
            kind="bug",
            label=None,
            comment="wrong on code blocks",
            created_at=DAY0 + timedelta(days=1),
        ),
        None,
    )
    return store, made


def test_numbers_match_the_rows(filled: tuple[Store, list[Prediction]]) -> None:
    store, made = filled
    now = DAY0 + timedelta(days=3)
    report = build(ReportSources(store), DAY0, DAY0 + timedelta(days=3), model="m", now=now)
    assert report.volume.total == 60
    assert report.volume.by_route == {"model": 36, "review": 18, "fallback": 6}
    assert report.volume.days == [(DAY0 + timedelta(days=d)).date() for d in range(3)]
    per_day = [sum(report.volume.per_day[r][d] for r in report.volume.per_day) for d in range(3)]
    assert per_day == [20, 20, 20]
    latencies = np.array([p.latency_ms for p in made])
    assert report.speed.p50_ms == pytest.approx(float(np.percentile(latencies, 50)))
    assert report.speed.p95_ms == pytest.approx(float(np.percentile(latencies, 95)))
    day1 = np.array([p.latency_ms for p in made if p.created_at.date() == report.speed.days[1]])
    assert report.speed.p50_per_day[1] == pytest.approx(float(np.percentile(day1, 50)))
    assert report.review.created == 18
    assert report.review.decided == 3 and report.review.pending == 15
    assert report.review.reviewers == {"ana": 2, "bo": 1}
    assert report.review.median_hours_to_decision == pytest.approx(4.0)
    assert report.review.answered_without_review == 42
    assert report.review.share_without_review == pytest.approx(42 / 60)
    oldest = min(p.created_at for p in made if p.route == "review")
    assert report.review.oldest_pending_hours is not None
    assert report.review.oldest_pending_hours <= (now - oldest).total_seconds() / 3600
    assert [b.comment for b in report.bugs] == ["wrong on code blocks"]
    # Model "m" was never registered, so nothing can score it: an empty row, not a crash.
    (quality,) = report.quality
    assert (quality.model, quality.items, quality.accuracy) == ("m", 0, None)
    (drift,) = report.drift
    assert drift.drifted is None and "m" in drift.message

    everything = build(ReportSources(store), DAY0, DAY0 + timedelta(days=3), now=now)
    assert everything.volume.by_model == {"m": 60, "other": 1}


def test_open_alerts_are_listed(filled: tuple[Store, list[Prediction]]) -> None:
    store, _ = filled
    alert = Alert("a1", "latency_p99", "latency", "firing", DAY0, 480.0, {"description": "slow"})
    assert store.open_alert(alert)
    report = build(ReportSources(store), DAY0, DAY0 + timedelta(days=3))
    assert [a.rule for a in report.open_alerts] == ["latency_p99"]
    assert "latency_p99 since 2026-03-01 00:00, value 480.0" in "\n".join(headline_lines(report))


def test_pdf_and_text_render_the_same_numbers(filled: tuple[Store, list[Prediction]]) -> None:
    store, _ = filled
    report = build(ReportSources(store), DAY0, DAY0 + timedelta(days=3))
    lines = "\n".join(headline_lines(report))
    assert "61 predictions" in lines and "wrong on code blocks" in lines
    pdf = render_pdf(report)
    assert pdf.startswith(b"%PDF") and pdf.count(b"/Type /Page\n") + pdf.count(b"/Type /Page ") >= 2
    # The PDF's text, read back as a reader sees it, carries the report's numbers.
    text = pdf_text(pdf)
    assert text.startswith("What Tandem delivered"), text[:200]
    assert " ".join(lines.split()) in text  # the text summary, word for word
    v, s, r = report.volume, report.speed, report.review
    volume = re.search(r"Volume: ([\d,]+) predictions; (.*?); (\d+) sampled", text)
    assert volume is not None, text
    assert int(volume[1].replace(",", "")) == v.total == 61
    routes = re.findall(r"([a-z ]+?) ([\d,]+) \(([\d.]+)%\)(?:, |$)", volume[2])
    shown = {name: int(n.replace(",", "")) for name, n, _ in routes}
    assert shown == {ROUTE_NAMES[k]: n for k, n in v.by_route.items()}, volume[2]
    assert shown == {"answered by the model": 37, "sent to review": 18, "fallback": 6}
    for _, n, share in routes:
        assert float(share) == pytest.approx(100 * int(n) / v.total, abs=0.5)
    assert int(volume[3]) == v.holdout
    speed = re.search(r"Speed: median ([\d.]+) ms, p95 ([\d.]+) ms, p99 ([\d.]+) ms", text)
    assert speed is not None, text
    for shown, value in zip(speed.groups(), (s.p50_ms, s.p95_ms, s.p99_ms), strict=True):
        assert float(shown) == pytest.approx(value, abs=0.05)
    review = re.search(r"(\d+) items sent to review, (\d+) decided, (\d+) waiting", text)
    assert review is not None and tuple(map(int, review.groups())) == (
        r.created,
        r.decided,
        r.pending,
    ), text
    assert (r.created, r.decided, r.pending) == (18, 3, 15)
    assert "Decisions by reviewer: ana 2, bo 1" in text
    assert "Latest bug reports (1): 2026-03-02 00:00 wrong on code blocks" in text


def test_an_empty_window_is_a_report_not_a_crash(store: Store) -> None:
    report = build(ReportSources(store), DAY0, DAY0 + timedelta(days=1))
    assert report.volume.total == 0 and report.speed.p50_ms is None
    assert report.review.share_without_review is None
    assert render_pdf(report).startswith(b"%PDF")


def test_window_parsing() -> None:
    now = datetime(2026, 5, 10, 12, tzinfo=UTC)
    start, end = window(None, None, now)
    assert (start, end) == (now - timedelta(days=30), now)
    start, end = window("2026-05-01", "2026-05-03", now)
    assert end == datetime(2026, 5, 4, tzinfo=UTC) and start == datetime(2026, 5, 1, tzinfo=UTC)
    with pytest.raises(InvalidInput, match="is not a date"):
        window("yesterday", None, now)
    with pytest.raises(InvalidInput, match="must be before"):
        window("2026-05-05", "2026-05-01", now)


def test_user_text_is_printed_as_typed_not_as_math(store: Store) -> None:
    """matplotlib reads "$...$" as math: a bug report saying "$\\bad$" once made the PDF
    export fail with an error instead of printing the comment."""
    log_prediction(store, _prediction(1, day=0, route="model", latency=2.0, model="$m$"))
    comment = r"totals off by $\bad$ and {{7*7}} $5"
    store.add_feedback(Feedback("f1", "p1", "bug", None, comment, DAY0 + timedelta(hours=2)), None)
    report = build(ReportSources(store), DAY0, DAY0 + timedelta(days=1))
    text = pdf_text(render_pdf(report))
    assert comment in text and "$m$: 0 items" in text, text
    assert "$m$: accuracy per week" not in text  # no labelled items: no quality chart
