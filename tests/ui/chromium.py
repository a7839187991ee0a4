"""Headless Chromium for browser tests: Debian's package (scripts/browser.sh installs
it), driven by Playwright, which cannot download a browser of its own here."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


@contextmanager
def chromium() -> Iterator[Any]:
    if not os.path.exists(CHROMIUM):
        if os.environ.get("CI"):
            pytest.fail("chromium is missing; scripts/test.sh installs it")
        pytest.skip("chromium is not installed (scripts/test.sh installs it)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
            ],
        )
        try:
            yield browser
        finally:
            browser.close()


def log_in(page: Any, key: str, lands_on: str) -> None:
    """Type `key` into the login form open on `page` and wait for the page it leads to."""
    page.locator('input[name="key"]').fill(key)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(f"**{lands_on}")
