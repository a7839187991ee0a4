"""The about page credits each installed family's data with the family's own text,
shown as text: a family cannot put markup on the page, only plain links."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tandem.app import create_app
from tandem.settings import Settings
from tests.fakes import FakeFamily


class CreditedFamily(FakeFamily):
    attribution = (
        'Scans by <b>Ann</b> & co. (CC BY 4.0; https://example.org/data?a=1&b="2").'
        " <script>alert(1)</script> javascript:alert(2)"
    )


def test_about_lists_each_familys_attribution_as_text(settings: Settings) -> None:
    families = {"fake": CreditedFamily(), "plain": FakeFamily()}
    with TestClient(create_app(settings, families)) as c:
        page = c.get("/about")
    assert page.status_code == 200
    assert '<p class="attribution" data-family="fake">' in page.text
    assert "Scans by &lt;b&gt;Ann&lt;/b&gt; &amp; co." in page.text
    assert (
        '<a href="https://example.org/data?a=1&amp;b=">https://example.org/data?a=1&amp;b=</a>'
        in page.text
    )
    assert "<script>" not in page.text and "&lt;script&gt;alert(1)&lt;/script&gt;" in page.text
    assert 'href="javascript' not in page.text
    assert 'data-family="plain"' not in page.text  # no attribution: nothing shown


def test_about_says_when_no_family_credits_data(settings: Settings) -> None:
    with TestClient(create_app(settings, {"plain": FakeFamily()})) as c:
        page = c.get("/about").text
    assert "The installed model families name no data to credit." in page
