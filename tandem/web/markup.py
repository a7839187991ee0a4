"""HTML from outside made safe for a page: an input field a model shows as HTML, and
reviewer guidelines written in Markdown. nh3 keeps the text's structure (paragraphs,
lists, code, tables, emphasis) and absolute links; scripts, event handlers, styles,
frames, forms and images go, so a page that shows it runs nothing and loads nothing."""

from __future__ import annotations

import re
from typing import Any

import nh3
from markdown_it import MarkdownIt
from markupsafe import Markup

_DROPPED = frozenset({"img", "map", "area"})  # an image loads from wherever its src says
_TAGS = frozenset(nh3.ALLOWED_TAGS) - _DROPPED
_ATTRIBUTES = {tag: set(names) for tag, names in nh3.ALLOWED_ATTRIBUTES.items() if tag in _TAGS}
_CONTENT_DROPPED = frozenset(
    {"script", "style", "iframe", "frame", "frameset", "object", "embed", "noscript"}
    | {"template", "textarea", "select", "title", "svg", "math"}
)
"""Removed with everything inside them: their content is code or another document, not
text a reviewer reads."""
_SCHEMES = frozenset({"http", "https", "mailto"})
_ABSOLUTE = ("http://", "https://", "mailto:")


def _absolute_urls_only(_tag: str, attribute: str, value: str) -> str | None:
    """A relative link would point into Tandem itself: dropped, the text stays."""
    if attribute in ("href", "cite") and not value.strip().lower().startswith(_ABSOLUTE):
        return None
    return value


_MARKUP = re.compile(r"<[A-Za-z!/]|&(#\d+|#x[0-9A-Fa-f]+|[A-Za-z]\w*);")


def has_markup(value: Any) -> bool:
    """Whether a field declared HTML holds any: a tag or an entity. One that holds plain
    text is better shown as text, line breaks kept, than reflowed as HTML."""
    return isinstance(value, str) and _MARKUP.search(value) is not None


def clean_html(html: Any) -> Markup:
    """`html` (any value, as text) sanitised, ready to put on a page unescaped."""
    cleaned = nh3.clean(
        str(html),
        tags=set(_TAGS),
        clean_content_tags=set(_CONTENT_DROPPED),
        attributes=_ATTRIBUTES,
        attribute_filter=_absolute_urls_only,
        url_schemes=set(_SCHEMES),
        link_rel="noopener noreferrer nofollow",
        strip_comments=True,
    )
    return Markup(cleaned)  # nh3's output: the sanitised fragment


_markdown = MarkdownIt("commonmark", {"html": False}).enable(["table", "strikethrough"])
"""CommonMark plus tables and strikethrough; raw HTML in the source is shown as text."""


def markdown_html(text: str) -> Markup:
    """Markdown rendered to HTML, then sanitised like any HTML from outside."""
    return clean_html(_markdown.render(text))
