"""A PDF's text as a reader gets it, via poppler's pdftotext (scripts/browser.sh
installs poppler-utils), with whitespace and line wraps collapsed to single spaces."""

from __future__ import annotations

import os
import shutil
import subprocess

import pytest


def pdf_text(pdf: bytes) -> str:
    tool = shutil.which("pdftotext")
    if tool is None:
        if os.environ.get("CI"):
            pytest.fail("pdftotext is missing; scripts/browser.sh installs poppler-utils")
        pytest.skip("pdftotext is not installed (scripts/browser.sh installs poppler-utils)")
    done = subprocess.run(
        [tool, "-enc", "UTF-8", "-", "-"], input=pdf, capture_output=True, check=True, timeout=60
    )
    return " ".join(done.stdout.decode().split())
