"""Hostile HTML in an input a model shows as HTML, and in Markdown guidelines, checked
where it would run: headless Chromium against the real server. The benign markup renders;
no script runs, and the page asks nothing of any other origin (a second server stands
in for one and counts what it is asked)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest

from tandem.settings import Settings
from tests.conftest import bearer, make_key
from tests.live import running_server
from tests.ui.chromium import chromium, log_in

pytestmark = [pytest.mark.browser, pytest.mark.server]


@contextmanager
def other_origin() -> Iterator[tuple[str, list[str]]]:
    """A server on another origin that records every path it is asked for."""
    asked: list[str] = []

    class Record(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - the stdlib's name
            asked.append(self.path)
            self.send_response(204)
            self.end_headers()

        do_POST = do_GET  # noqa: N815

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Record)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}", asked
    finally:
        server.shutdown()
        server.server_close()


def hostile_body(other: str) -> str:
    return (
        "<p>How do I &quot;merge&quot; two <code>dict</code>s?</p>\n"
        "<script>window.__pwned = 1</script>\n"
        f'<img src="{other}/img.png" onerror="window.__pwned = 2">\n'
        f'<iframe src="{other}/frame"></iframe><iframe srcdoc="<script>parent.__pwned=9</script>">'
        "</iframe>\n"
        f"<style>@import url({other}/import.css); body {{ background: url({other}/bg) }}</style>\n"
        f'<p style="background: url({other}/style)" '
        'onmouseover="window.__pwned = 3">hover me</p>\n'
        '<a href="javascript:window.__pwned = 4">js link</a>\n'
        f'<svg><image href="{other}/svg.png"/><script>window.__pwned = 5</script></svg>\n'
        f'<video src="{other}/v.mp4" poster="{other}/poster.png"></video>'
        f'<audio src="{other}/a.mp3" autoplay></audio>\n'
        f'<object data="{other}/object"></object><embed src="{other}/embed">\n'
        f'<link rel="stylesheet" href="{other}/link.css"><link rel="prefetch" href="{other}/pf">\n'
        f'<meta http-equiv="refresh" content="0;url={other}/refresh">\n'
        f'<base href="{other}/"><a href="relative">relative link</a>\n'
        f'<form action="{other}/form"><button>send</button></form>\n'
        '<input autofocus onfocus="window.__pwned = 6">\n'
        '<details open ontoggle="window.__pwned = 7"><summary>more</summary>x</details>\n'
        f'<table background="{other}/table.png"><tr><td>cell</td></tr></table>'
    )


def hostile_guidelines(other: str) -> str:
    return (
        "## Judge the writing\n\n"
        f"![tracker]({other}/md.png) [run](javascript:window.__pwned=8)\n\n"
        f'<img src="{other}/raw.png" onerror="window.__pwned=10">'
        "<script>window.__pwned=11</script>\n"
    )


WATCH = """
window.__violations = [];
document.addEventListener('securitypolicyviolation', e => window.__violations.push(e.blockedURI));
"""
"""Counts what the Content-Security-Policy had to block: nothing, when the sanitiser already
removed every way to ask another origin (the policy is the second line, not the first)."""

INJECTED = """sel => [...document.querySelectorAll(sel + ' *')].flatMap(e =>
  ['script', 'img', 'iframe', 'style', 'svg', 'video', 'audio', 'object', 'embed', 'link',
   'meta', 'base', 'form', 'input', 'button'].includes(e.localName) ? [e.localName] :
  [...e.attributes].filter(a => a.name.startsWith('on') || ['style', 'src', 'srcdoc',
   'background', 'poster', 'action'].includes(a.name) || (a.name === 'href' &&
   !a.value.startsWith('https://'))).map(a => e.localName + '[' + a.name + ']'))"""


def test_hostile_html_runs_nothing_and_asks_no_other_origin(trained_home: Settings) -> None:
    admin = make_key(trained_home, "admin", "display-admin")
    with (
        other_origin() as (other, asked),
        running_server(trained_home, review_threshold="1.0", latency_budget_ms="60000") as server,
        chromium() as browser,
        httpx.Client(base_url=server.url, timeout=30, headers=bearer(admin)) as http,
    ):
        guide = http.put(
            "/v1/models/ml-editor/guidelines", json={"markdown": hostile_guidelines(other)}
        )
        assert guide.status_code == 200, guide.text
        sent = {"title": "<b>Merging</b> dicts", "body": hostile_body(other)}
        p = http.post("/v1/predict", json={"model": "ml-editor", "input": sent}).json()
        assert http.get(f"/v1/predictions/{p['id']}").json()["input"]["body"] == sent["body"]

        page = browser.new_page()
        page.add_init_script(WATCH)
        dialogs: list[str] = []
        requested: list[str] = []
        page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
        page.on("request", lambda r: requested.append(r.url))
        page.goto(f"{server.url}/login?next=/review")
        log_in(page, admin, "/review")

        for url in ("/review", f"/predictions/{p['id']}", "/models/ml-editor/guidelines"):
            page.goto(f"{server.url}{url}")
            if url == "/review":
                item = page.locator(f'[data-review-id="{p["review_id"]}"]')
                body = item.locator(".input-body")
                # The benign markup renders: paragraphs, code, entities decoded once.
                assert 'How do I "merge" two dicts?' in body.inner_text()
                assert body.locator("code").inner_text() == "dict"
                assert item.locator(".input-title").inner_text() == sent["title"]  # text
                assert page.evaluate(INJECTED, ".input-body") == []
                body.get_by_text("hover me").hover()
                body.get_by_text("js link").click()
                body.get_by_text("relative link").click()
                guide_box = item.locator(".guidelines")
                assert guide_box.locator("h2").inner_text() == "Judge the writing"
                assert page.evaluate(INJECTED, ".guidelines-text") == []
                assert "<script>window.__pwned=11</script>" in guide_box.inner_text()
            elif url.startswith("/predictions/"):
                assert page.locator(".input-body code").inner_text() == "dict"
                assert page.evaluate(INJECTED, ".input-body") == []
            else:
                assert page.evaluate(INJECTED, ".guidelines-text") == []
            page.wait_for_timeout(300)  # an onerror handler runs after the failed load
            assert page.evaluate("window.__pwned") is None, url
            assert page.evaluate("window.__violations") == [], url
            assert page.url.startswith(server.url), page.url

        assert dialogs == []
        assert [u for u in requested if not u.startswith(server.url)] == []
        assert asked == []
