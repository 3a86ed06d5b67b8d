"""Markdown to safe HTML for previews: raw HTML in a draft is shown as text, never executed.

markdown-it-py renders with HTML disabled (``<script>`` becomes ``&lt;script&gt;``) and refuses
``javascript:``-style links; nh3 then sanitises the result against an allow-list of tags,
attributes and URL schemes as a second wall.
"""

from __future__ import annotations

import html

import nh3
from markdown_it import MarkdownIt

_md = MarkdownIt("commonmark", {"html": False, "linkify": False}).enable(["table", "strikethrough"])

ALLOWED_TAGS = {
    "a", "p", "br", "hr", "em", "strong", "del", "s", "code", "pre", "blockquote", "ul", "ol", "li",
    "h1", "h2", "h3", "h4", "h5", "h6", "img", "table", "thead", "tbody", "tr", "th", "td", "span", "div",
}  # fmt: skip
ALLOWED_ATTRIBUTES = {
    "a": {"href", "title"},
    "img": {"src", "alt", "title"},
    "code": {"class"},
    "th": {"style"},
    "td": {"style"},
    "ol": {"start"},
}
URL_SCHEMES = {"http", "https", "mailto"}
MAX_PREVIEW_CHARS = 800_000
"""Bodies over dev.to's 800 KB limit are not rendered (they cannot be saved either)."""


def sanitize_html(fragment: str) -> str:
    """Keep only harmless tags, attributes and http(s)/mailto URLs."""
    return nh3.clean(
        fragment,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes=URL_SCHEMES,
        filter_style_properties={"text-align"},
        link_rel="noopener noreferrer nofollow",
    )


def render_markdown(body: str) -> str:
    """The Markdown body as sanitised HTML (raw HTML in the body appears escaped)."""
    return sanitize_html(_md.render(body))


def render_preview(front_matter: dict, body: str) -> str:
    """A preview of the post: title, description and tags from the front matter, then the body."""
    parts = []
    title = front_matter.get("title")
    if isinstance(title, str) and title.strip():
        parts.append(f"<h1>{html.escape(title.strip())}</h1>")
    description = front_matter.get("description")
    if isinstance(description, str) and description.strip():
        parts.append(f"<p><em>{html.escape(description.strip())}</em></p>")
    tags = front_matter.get("tags") or []
    if isinstance(tags, list) and tags:
        parts.append("<p>" + " ".join(f"<code>#{html.escape(str(tag))}</code>" for tag in tags) + "</p>")
    if len(body) > MAX_PREVIEW_CHARS:  # rendering is superlinear on hostile Markdown; dev.to refuses it anyway
        parts.append(f"<p><em>The body is too large to preview ({len(body):,} characters).</em></p>")
    else:
        parts.append(render_markdown(body))
    return sanitize_html("\n".join(parts))
