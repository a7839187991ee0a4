"""An input is shown as its model's family declares: the ML Editor's body as sanitised
HTML, its title and any undeclared field as text; the model's suggestions beside the
explanation."""

from __future__ import annotations

from html.parser import HTMLParser
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tandem.models.interface import ImageView, InputView, ModelFamily, input_view
from tandem.models.sklearn_adapter import SklearnFamily
from tandem.pages.templating import templates
from tandem_examples.digits.family import family as digits_family
from tandem_examples.ml_editor.family import family as ml_editor_family
from tests.conftest import QUESTION, predict

SAFE = (
    "<p>How do I &quot;merge&quot; two <code>dict</code>s?</p>\n"
    "<pre><code>a = {**b, **c}</code></pre>\n"
    '<p>See <a href="https://docs.python.org/3/">the docs</a>.</p>'
)
HOSTILE = (
    '<p onclick="steal()" style="position:fixed">Why</p>'
    "<script>window.__pwned=1</script>"
    '<img src="https://evil.example/pixel.png" onerror="steal()">'
    '<iframe src="https://evil.example/"></iframe>'
    "<style>body { background: url(https://evil.example/bg) }</style>"
    '<a href="javascript:steal()">click</a> <a href="/logout">out</a>'
    '<form action="https://evil.example/"><input name="key"></form>'
    '<svg onload="steal()"><circle r="1"/></svg>'
    '<object data="https://evil.example/x"></object><embed src="https://evil.example/y">'
    '<link rel="stylesheet" href="https://evil.example/s.css">'
    '<meta http-equiv="refresh" content="0;url=https://evil.example/">'
    '<base href="https://evil.example/"><table background="https://evil.example/t"><tr>'
    "<td>cell</td></tr></table>"
)


class Tree(HTMLParser):
    """The elements inside the first `<div class="... input-{field}">` of a page."""

    def __init__(self, field: str) -> None:
        super().__init__()
        self.marker = f"input-{field}"
        self.depth = 0
        self.elements: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []
        self.classes = ""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if self.depth:
            self.elements.append((tag, dict(attrs)))
            self.depth += tag not in ("br", "hr", "img", "input", "link", "meta", "base", "embed")
        elif not self.classes and self.marker in (dict(attrs).get("class") or "").split():
            self.classes = dict(attrs).get("class") or ""
            self.depth = 1

    def handle_endtag(self, tag: str) -> None:
        if self.depth:
            self.depth -= 1

    def handle_data(self, data: str) -> None:
        if self.depth:
            self.text.append(data)


def field_of(html: str, field: str) -> Tree:
    tree = Tree(field)
    tree.feed(html)
    assert tree.classes, f"no input-{field} on the page"
    return tree


def test_the_ml_editor_body_is_shown_as_html_and_its_title_as_text(
    review_client: TestClient,
) -> None:
    p = predict(review_client, {"title": "Merge <dicts> & more", "body": SAFE})
    for page in (
        review_client.get("/review").text,
        review_client.get(f"/predictions/{p['id']}").text,
    ):
        body = field_of(page, "body")
        assert "html-input" in body.classes.split()
        assert [tag for tag, _ in body.elements] == ["p", "code", "pre", "code", "p", "a"]
        assert 'How do I "merge" two' in "".join(body.text)  # the entity, decoded once
        assert "&quot;" not in "".join(body.text) and "&lt;p&gt;" not in page
        link = dict(body.elements)["a"]
        assert link["href"] == "https://docs.python.org/3/"
        assert set((link["rel"] or "").split()) >= {"noopener", "noreferrer"}
        title = field_of(page, "title")
        assert "text" in title.classes.split() and title.elements == []
        assert "Merge &lt;dicts&gt; &amp; more" in page


def test_plain_text_in_an_html_field_keeps_its_line_breaks(review_client: TestClient) -> None:
    predict(review_client, QUESTION)
    body = field_of(review_client.get("/review").text, "body")
    assert "text" in body.classes.split() and "html-input" not in body.classes.split()
    assert "".join(body.text) == QUESTION["body"]


def test_hostile_html_comes_out_harmless(review_client: TestClient) -> None:
    p = predict(review_client, {"title": "Hostile", "body": HOSTILE})
    for page in (
        review_client.get("/review").text,
        review_client.get(f"/predictions/{p['id']}").text,
    ):
        body = field_of(page, "body")
        tags = [tag for tag, _ in body.elements]
        assert set(tags) <= {"p", "a", "table", "tbody", "tr", "td"}, tags
        for tag, attrs in body.elements:
            assert not [a for a in attrs if a.startswith("on") or a in ("style", "src")], tag
            assert attrs.get("href") in (None,), (tag, attrs)  # javascript: and relative go
        text = "".join(body.text)
        assert "Why" in text and "click" in text and "cell" in text
        assert "__pwned" not in text and "background" not in text  # script, style: gone whole
        assert "evil.example" not in page.split('class="html-input')[1].split("</div>")[0]


def test_a_field_no_family_declares_is_text() -> None:
    """Models added with `tandem models add` declare nothing: every field is text."""
    view = input_view(SklearnFamily("added"), None)
    assert view.display("body") == "text" and view.image is None
    assert input_view(None, None) == InputView()


class Declares(ModelFamily):
    name = "declares"
    input_display = {"body": "html", "scan": "image", "note": "markdown"}  # type: ignore[dict-item]

    def train(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError

    def load(self, content: bytes, version: str) -> Any:
        raise NotImplementedError


def test_declared_displays_and_their_fallbacks() -> None:
    view = input_view(Declares(), None)
    assert view.display("body") == "html"
    # An image needs the predictor's ImageView; a display Tandem does not know is text.
    assert view.display("scan") == "text" and view.display("note") == "text"

    class Scanner:
        input_view = ImageView("scan", 2, 2, 1.0, ("a", "b", "c", "d"))

    drawn = input_view(Declares(), Scanner())  # type: ignore[arg-type]
    assert drawn.display("scan") == "image" and drawn.image is Scanner.input_view


def test_the_example_families_declare_their_views() -> None:
    assert ml_editor_family.input_display == {"body": "html"}
    assert input_view(ml_editor_family, None).display("title") == "text"
    assert dict(digits_family.input_display) == {}  # the predictor's ImageView draws it


def test_suggestions_are_shown_beside_the_explanation(review_client: TestClient) -> None:
    p = predict(review_client, {"title": "help", "body": "hi, pls help me fix it thanks"})
    suggestions = p["suggestions"]
    assert isinstance(suggestions, list) and suggestions, "the ML Editor gave no advice here"
    for page in (
        review_client.get("/review").text,
        review_client.get(f"/predictions/{p['id']}").text,
    ):
        assert "Suggestions to the author" in page
        shown = page.split('class="suggestions"')[1].split("</ul>")[0]
        for s in suggestions:
            text = s if isinstance(s, str) else s["text"]
            assert templates.env.filters["e"](text) in shown


@pytest.mark.parametrize(
    "suggestions",
    [
        ["Add a code example.", "Say what you tried."],
        [{"id": "code", "text": "Add a code example."}],
    ],
)
def test_suggestions_render_as_strings_or_objects(suggestions: list[Any]) -> None:
    macro = templates.env.get_template("_beside.html").module.show_suggestions  # type: ignore[attr-defined]
    html = str(macro(suggestions))
    assert html.count("<li") == len(suggestions) and "Add a code example.</li>" in html
    assert str(macro([])).strip() == ""
