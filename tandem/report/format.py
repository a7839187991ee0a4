"""Numbers as people read them; shared by the report page, the PDF and the CLI."""

from __future__ import annotations

from tandem.monitor.agreement import Agreement, Pace
from tandem.report.charts import ROUTE_NAMES
from tandem.report.summary import Report


def num(value: float | None, places: int | None = None) -> str:
    """A number in a table: with `places`, fixed (so a column lines up); without, a
    whole number as one, anything else to four significant digits."""
    if value is None:
        return "–"
    if places is not None:
        return f"{value:.{places}f}"
    return str(int(value)) if value == int(value) else f"{value:.4g}"


def pct(value: float | None) -> str:
    return "–" if value is None else f"{value:.0%}" if value >= 0.1 else f"{value:.1%}"


def ms(value: float | None) -> str:
    return "–" if value is None else f"{value:.1f} ms"


def headline_lines(report: Report) -> list[str]:
    """The report as plain sentences (the PDF's first page, the CLI's summary)."""
    v, s, r = report.volume, report.speed, report.review
    lines = [
        f"Window: {report.since:%Y-%m-%d %H:%M} to {report.until:%Y-%m-%d %H:%M} UTC"
        + (f", model {report.model}" if report.model else ", all models"),
        "",
        *usefulness_lines(report),
        f"Volume: {v.total:,} predictions; "
        + ", ".join(
            f"{ROUTE_NAMES.get(k, k)} {n:,} ({pct(n / v.total)})" for k, n in v.by_route.items()
        )
        + f"; {v.holdout} sampled into the live test set.",
        f"Speed: median {ms(s.p50_ms)}, p95 {ms(s.p95_ms)}, p99 {ms(s.p99_ms)}.",
        f"Reviewers: {r.created} items sent to review, {r.decided} decided, {r.pending} waiting"
        + (
            f" (oldest {r.oldest_pending_hours:.1f} h)"
            if r.oldest_pending_hours is not None
            else ""
        )
        + f"; {r.answered_without_review:,} predictions needed nobody "
        + f"({pct(r.share_without_review)}).",
    ]
    if r.reviewers:
        lines.append(
            "Decisions by reviewer: " + ", ".join(f"{k} {n}" for k, n in r.reviewers.items())
        )
    lines += ["", "Accuracy on items people labelled (model / rule baseline / people agree):"]
    lines += [
        f"  {q.model}: {q.items} items: {pct(q.accuracy)} / {pct(q.baseline_accuracy)} / "
        f"{pct(q.agreement)}"
        for q in report.quality
    ] or ["  no predictions"]
    lines += ["", "Reviewers against each other (Cohen's kappa on items reviewed twice):"]
    st = report.reviewers
    lines += [
        f"  {a.name}: {kappa_text(a, st.min_kappa_items)}" for a in (*st.by_model, *st.by_pair)
    ] or ["  no second opinions given"]
    lines += (
        [
            "Seconds per decision: "
            + ", ".join(f"{p.reviewer} {pace_text(p, st.min_timed_decisions)}" for p in st.pace)
        ]
        if st.pace
        else []
    )
    lines += ["", "Drift:"]
    lines += [
        f"  {d.model}: "
        + (
            "not measured: " + d.message
            if d.drifted is None
            else ("DRIFTED: " + ", ".join(d.drifted_features) if d.drifted else "stable")
        )
        for d in report.drift
    ] or ["  no predictions"]
    lines += ["", f"Open alerts: {len(report.open_alerts)}"]
    lines += [
        f"  {a.rule} since {a.opened_at:%Y-%m-%d %H:%M}, value {a.value}"
        for a in report.open_alerts
    ]
    lines += ["", f"Latest bug reports ({len(report.bugs)}):"]
    lines += [f"  {b.created_at:%Y-%m-%d %H:%M}  {b.comment or ''}" for b in report.bugs] or [
        "  none"
    ]
    return lines


def kappa_text(a: Agreement, minimum: int) -> str:
    """ "0.82 (40 items, 37 agreed)", or "too few to tell" under `minimum` items."""
    if a.kappa is not None:
        return f"{a.kappa:.2f} ({a.items} items, {a.agreed} agreed)"
    if a.items < minimum:
        return f"too few to tell ({a.items} of {minimum} items)"
    return f"undefined: both gave one label ({a.items} items)"


def pace_text(p: Pace, minimum: int) -> str:
    """ "median 4.2 s (120 decisions)", or "too few to tell" under `minimum` decisions."""
    if p.median_s is None:
        return f"too few to tell ({p.decisions} of {minimum} decisions)"
    return f"median {p.median_s:.1f} s ({p.decisions} decisions)"


def usefulness_lines(report: Report) -> list[str]:
    """Whether suggestions helped writers, per model with drafts (leads the report)."""
    lines = []
    for u in report.usefulness:
        lines.append(
            f"Do {u.model}'s suggestions help? {u.rose} of {u.revised} revised drafts "
            f"({pct(u.share_rose)}) ended with a higher score ({u.drafts} drafts in all)."
        )
        lines += [
            f"  {s.suggestion}: shown {s.shown}, rated helpful {s.helpful} of {s.rated}, "
            f"followed {s.followed} of {s.judged}, score change after following "
            f"{signed(s.mean_change_followed)}"
            for s in u.suggestions
        ]
        lines.append("")
    return lines


def signed(value: float | None) -> str:
    return "–" if value is None else f"{value:+.3f}"
