"""The stakeholder report as people get it: a page, an HTML file, a PDF, a CLI file."""

from __future__ import annotations

import re
from pathlib import Path

from fastapi.testclient import TestClient

from tandem.settings import Settings
from tests.conftest import QUESTION, env_for, predict, tandem_cli
from tests.report.pdf_text import pdf_text


def _traffic(client: TestClient) -> None:
    ids = [str(predict(client, {**QUESTION, "title": f"Question {i}?"})["id"]) for i in range(6)]
    reviews = client.get("/v1/reviews", params={"status": "pending"}).json()["items"]
    for item in reviews[:2]:
        decided = client.post(
            f"/v1/reviews/{item['id']}/decision", json={"label": "good", "reviewer": "ana"}
        )
        assert decided.status_code == 200, decided.text
    bug = client.post(
        f"/v1/predictions/{ids[0]}/feedback",
        json={"kind": "bug", "comment": "<b>ignores</b> code blocks"},
    )
    assert bug.status_code in (200, 201), bug.text


def test_page_shows_volume_speed_review_work_and_bugs(review_client: TestClient) -> None:
    _traffic(review_client)
    page = review_client.get("/report")
    assert page.status_code == 200
    text = page.text
    assert re.search(r"predictions<b>6</b>", text)
    assert "decided by reviewers<b>2</b>" in text and "waiting for review<b>4</b>" in text
    assert text.count("<svg") == 3  # volume, latency and quality charts, inline
    assert "test-reviewer</td><td>2" in text  # who decided: the key's name
    assert "&lt;b&gt;ignores&lt;/b&gt; code blocks" in text  # user text is escaped
    assert 'href="/report/export.pdf?' in text
    # Accuracy on the two items people labelled, the baseline on the same items, drift.
    row = re.search(r"<tr><td>ml-editor</td><td>2</td><td>([\d.]+%)</td><td>([\d.]+%)</td>", text)
    assert row is not None, "quality row for the two reviewed items"
    assert "not measured" in text and "drift needs at least 30" in text
    assert "No alert is firing." in text


def test_exports_are_downloads(review_client: TestClient) -> None:
    _traffic(review_client)
    html = review_client.get("/report/export.html", params={"model": "ml-editor"})
    assert html.status_code == 200
    assert html.headers["content-disposition"].startswith("attachment;")
    assert "<svg" in html.text and "<script" not in html.text
    assert not re.search(r'(src|href)="https?://', html.text)  # nothing fetched from outside
    assert "Download PDF" not in html.text  # the export is a document, not the app
    pdf = review_client.get("/report/export.pdf")
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF")
    # The PDF says what the page says: the same headline numbers.
    page = review_client.get("/report").text
    shown = {
        name: int(n)
        for name, n in re.findall(
            r"(predictions|decided by reviewers|waiting for review)<b>(\d+)</b>", page
        )
    }
    assert shown == {"predictions": 6, "decided by reviewers": 2, "waiting for review": 4}, shown
    text = pdf_text(pdf.content)
    assert f"Volume: {shown['predictions']} predictions;" in text, text
    assert (
        f"{shown['predictions']} items sent to review, {shown['decided by reviewers']} decided, "
        f"{shown['waiting for review']} waiting"
    ) in text, text
    assert "test-reviewer 2" in text and "<b>ignores</b> code blocks" in text


def test_a_bad_window_is_a_clear_4xx(client: TestClient) -> None:
    bad = client.get("/report", params={"since": "last tuesday"})
    assert bad.status_code == 422 and "is not a date" in bad.text
    window = {"since": "2026-05-05", "until": "2026-05-01"}
    reversed_ = client.get("/report/export.pdf", params=window)
    assert reversed_.status_code == 422 and "must be before" in reversed_.text


def test_cli_writes_html_and_pdf(trained_home: Settings, tmp_path: Path) -> None:
    env = env_for(trained_home)
    for name in ("r.html", "r.pdf"):
        done = tandem_cli(env, "report", "--out", str(tmp_path / name))
        assert done.returncode == 0, done.stderr
    assert (tmp_path / "r.pdf").read_bytes().startswith(b"%PDF")
    assert "What Tandem delivered" in (tmp_path / "r.html").read_text()
    bad = tandem_cli(env, "report", "--out", str(tmp_path / "r.docx"), timeout=60)
    assert bad.returncode == 2 and "must end in .html or .pdf" in bad.stderr
    assert "Traceback" not in bad.stderr
