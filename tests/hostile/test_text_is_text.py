"""Text people type is text everywhere: the report page, its HTML and PDF exports and the
CLI show a bug comment or a model name as written, never as TeX, a template or markup."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from tandem.settings import Settings
from tests.conftest import QUESTION, app_client, env_for, predict, tandem_cli

RTL = "\u202bשלום\u202c\u200f"
COMMENT = "broken $\\bad$ {{ 7*7 }} <script>alert(1)</script> \\n " + RTL
MODEL = "$x^{2}$ {{ m }} <b>bold</b>\\"
PLAIN = ("broken $\\bad$", "{{ 7*7 }}", "<script>alert(1)</script>")
"""What must come out literally where the output is plain text (PDF, CLI)."""


@pytest.fixture
def with_bug(trained_home: Settings) -> Settings:
    with app_client(trained_home) as c:
        pid = predict(c, QUESTION)["id"]
        bug = c.post(f"/v1/predictions/{pid}/feedback", json={"kind": "bug", "comment": COMMENT})
        assert bug.status_code == 201, bug.text
    return trained_home


def _pdf_text(pdf: bytes, tmp_path: Path) -> str | None:
    """The PDF's text, when pdftotext is installed (scripts/browser.sh installs it)."""
    if shutil.which("pdftotext") is None:
        return None
    path = tmp_path / "r.pdf"
    path.write_bytes(pdf)
    done = subprocess.run(["pdftotext", str(path), "-"], capture_output=True, text=True, check=True)
    return done.stdout


def test_a_bug_comment_in_the_page_and_exports(with_bug: Settings, tmp_path: Path) -> None:
    with app_client(with_bug) as c:
        for url in ("/report", "/report/export.html"):
            page = c.get(url)
            assert page.status_code == 200
            assert (
                "broken $\\bad$ {{ 7*7 }} &lt;script&gt;alert(1)&lt;/script&gt; \\n " + RTL
                in page.text
            )
            assert "<script>alert(1)" not in page.text
        pdf = c.get("/report/export.pdf")
    assert pdf.status_code == 200, pdf.text
    assert pdf.content.startswith(b"%PDF")
    text = _pdf_text(pdf.content, tmp_path)
    if text is not None:
        assert all(part in text for part in PLAIN), text


def test_a_model_name_in_the_page_and_exports(with_bug: Settings, tmp_path: Path) -> None:
    with app_client(with_bug) as c:
        page = c.get("/report", params={"model": MODEL})
        assert page.status_code == 200
        assert "$x^{2}$ {{ m }} &lt;b&gt;bold&lt;/b&gt;\\" in page.text
        assert "<b>bold</b>" not in page.text
        pdf = c.get("/report/export.pdf", params={"model": MODEL})
    assert pdf.status_code == 200, pdf.text
    assert pdf.content.startswith(b"%PDF")
    text = _pdf_text(pdf.content, tmp_path)
    if text is not None:
        assert "$x^{2}$ {{ m }} <b>bold</b>" in text, text


def test_the_cli_prints_and_writes_text_as_written(with_bug: Settings, tmp_path: Path) -> None:
    env = env_for(with_bug)
    shown = tandem_cli(env, "report")
    assert shown.returncode == 0, shown.stderr
    assert COMMENT in shown.stdout
    named = tandem_cli(env, "report", "--model", MODEL)
    assert named.returncode == 0, named.stderr
    assert MODEL in named.stdout
    for name in ("r.pdf", "r.html"):
        done = tandem_cli(env, "report", "--out", str(tmp_path / name))
        assert done.returncode == 0 and "Traceback" not in done.stderr, done.stderr
    assert (tmp_path / "r.pdf").read_bytes().startswith(b"%PDF")
    html = (tmp_path / "r.html").read_text(encoding="utf-8")
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html and "<script>alert(1)" not in html
    text = _pdf_text((tmp_path / "r.pdf").read_bytes(), tmp_path)
    if text is not None:
        assert all(part in text for part in PLAIN), text
