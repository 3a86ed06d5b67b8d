"""Turn HTML and Markdown-with-HTML into clean Markdown: no scripts, styles, navigation or badges; headings kept."""

from __future__ import annotations

import html
import re

_WS = re.compile(r"\s+")
_SPACES = re.compile(r"[ \t\u00a0]+")
_MANY_BLANK = re.compile(r"\n{3,}")
_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")

# Navigation boilerplate in HTML pages.
_DROP_TAGS = (
    "script", "style", "noscript", "template", "nav", "aside", "form", "iframe", "svg",
    "canvas", "button", "input", "select", "textarea", "img", "picture", "video", "audio", "object", "embed", "link",
    "meta",
)  # fmt: skip
_DROP_ROLES = {"navigation", "banner", "contentinfo", "search", "complementary", "dialog", "alert"}
_BOILERPLATE = re.compile(
    r"(^|[\s_-])(nav|navbar|navigation|menu|sidebar|breadcrumbs?|cookies?|cookie-banner|consent|advert|ads|"
    r"share|social|skip-link|site-header|site-footer|toc)($|[\s_-])",
    re.IGNORECASE,
)
_BLOCK_TAGS = (
    "p", "div", "section", "article", "main", "blockquote", "ul", "ol", "table", "thead", "tbody", "tr", "dl", "dt",
    "dd", "figure", "figcaption", "details", "summary", "address", "center", "body",
)  # fmt: skip

# Markdown-with-HTML patterns (outside code).
_COMMENT = re.compile(r"<!--.*?-->", re.DOTALL)
_SCRIPT_STYLE = re.compile(r"<(script|style)\b[^>]*>.*?</\1\s*>", re.DOTALL | re.IGNORECASE)
_HTML_HEADING = re.compile(r"<h([1-6])\b[^>]*>(.*?)</h\1\s*>", re.DOTALL | re.IGNORECASE)
_HTML_BR = re.compile(r"<br\s*/?>", re.IGNORECASE)
_HTML_LI = re.compile(r"<li\b[^>]*>", re.IGNORECASE)
_HTML_BLOCK = re.compile(
    r"</?(p|div|details|summary|table|thead|tbody|tr|ul|ol|li|section|center|picture|blockquote|dl|dt|dd|hr)\b[^>]*>",
    re.IGNORECASE,
)
_HTML_TAG = re.compile(r"</?[a-zA-Z][a-zA-Z0-9-]*(\s[^<>]*)?/?>")
_INLINE_CODE = re.compile(r"(`+)(.+?)\1")
_LINKED_IMAGE = re.compile(r"\[!\[[^\]]*\](\([^)]*\)|\[[^\]]*\])\](\([^)]*\)|\[[^\]]*\])")
_IMAGE = re.compile(r"!\[[^\]]*\](\([^)]*\)|\[[^\]]*\])")
_LINK = re.compile(r"\[([^\]]+)\]\((?:[^()\s]|\([^()]*\))+(?:\s+\"[^\"]*\")?\)")
_LINK_DEF = re.compile(r"^ {0,3}\[[^\]]+\]:\s*\S+.*$", re.MULTILINE)
_FRONT_MATTER = re.compile(r"\A---\s*\n.*?\n(---|\.\.\.)\s*(\n|\Z)", re.DOTALL)
_SETEXT = re.compile(r"^(?P<title>[^\n#>\-*+|][^\n]*)\n(?P<rule>=+|-+)[ \t]*$", re.MULTILINE)


def _tidy(text: str) -> str:
    lines = [_SPACES.sub(" ", line).strip() for line in text.split("\n")]
    return _MANY_BLANK.sub("\n\n", "\n".join(lines)).strip()


def html_to_markdown(markup: str | bytes) -> str:
    """Readable Markdown from an HTML page: main content only, headings as ``#`` lines, code blocks fenced."""
    from bs4 import BeautifulSoup, Comment, Declaration, Doctype, ProcessingInstruction

    soup = BeautifulSoup(markup, "lxml")
    title = soup.title.get_text(" ", strip=True) if soup.title else ""
    for node in soup.find_all(string=lambda s: isinstance(s, Comment | Declaration | Doctype | ProcessingInstruction)):
        node.extract()
    for tag in soup.find_all(_DROP_TAGS):
        tag.decompose()
    for tag in soup.find_all(["header", "footer"]):
        if not tag.decomposed and tag.find_parent(["article", "main"]) is None:
            tag.decompose()
    for tag in soup.find_all(True):
        if tag.decomposed:
            continue
        role = str(tag.get("role", "")).lower()
        marker = " ".join([str(tag.get("id", "")), *tag.get("class", [])])
        hidden = tag.get("hidden") is not None or str(tag.get("aria-hidden", "")).lower() == "true"
        if (
            role in _DROP_ROLES
            or hidden
            or (tag.name not in ("html", "body", "main", "article") and _BOILERPLATE.search(marker))
        ):
            tag.decompose()
    candidates = soup.find_all(["article", "main"])
    root = max(candidates, key=lambda t: len(t.get_text())) if candidates else (soup.body or soup)

    codes: list[str] = []
    for text in root.find_all(string=True):
        if text.find_parent("pre") is None:
            text.replace_with(_WS.sub(" ", str(text)))
    for pre in root.find_all("pre"):
        codes.append(pre.get_text().strip("\n"))
        pre.replace_with(f"\n\n\x00{len(codes) - 1}\x00\n\n")
    for heading in root.find_all(["h1", "h2", "h3", "h4", "h5", "h6"]):
        words = heading.get_text(" ", strip=True)
        heading.replace_with(f"\n\n{'#' * int(heading.name[1])} {words}\n\n" if words else "\n")
    for code in root.find_all("code"):
        code.replace_with(f"`{code.get_text()}`")
    for br in root.find_all("br"):
        br.replace_with("\n")
    for hr in root.find_all("hr"):
        hr.replace_with("\n\n")
    for item in root.find_all("li"):
        item.insert(0, "\n- ")
    for cell in root.find_all(["td", "th"]):
        cell.append(" | ")
    for block in root.find_all(_BLOCK_TAGS):
        block.insert(0, "\n\n")
        block.append("\n\n")
    text = _tidy(root.get_text())
    text = re.sub(r"\s*\|\s*$", "", text, flags=re.MULTILINE)
    text = re.sub(r"\x00(\d+)\x00", lambda m: f"```\n{codes[int(m.group(1))]}\n```", text)
    if title and not re.search(r"^# ", text, re.MULTILINE):
        text = f"# {title}\n\n{text}"
    return text.strip()


def _split_fences(text: str) -> list[tuple[bool, str]]:
    """Split Markdown into ``(is_code, text)`` segments along fenced code blocks."""
    segments: list[tuple[bool, str]] = []
    current: list[str] = []
    fence: str | None = None
    for line in text.split("\n"):
        match = _FENCE.match(line)
        if fence is None and match:
            if current:
                segments.append((False, "\n".join(current)))
            current, fence = [line], match.group(1)
        elif fence is not None and match and match.group(1)[0] == fence[0] and len(match.group(1)) >= len(fence):
            current.append(line)
            segments.append((True, "\n".join(current)))
            current, fence = [], None
        else:
            current.append(line)
    if current:
        segments.append((fence is not None, "\n".join(current)))
    return segments


def _clean_prose(text: str) -> str:
    spans: list[str] = []

    def protect(match: re.Match) -> str:
        spans.append(match.group(0))
        return f"\x00{len(spans) - 1}\x00"

    text = _COMMENT.sub("", text)
    text = _INLINE_CODE.sub(protect, text)
    if "<" in text:
        text = _SCRIPT_STYLE.sub("", text)
        text = _HTML_HEADING.sub(
            lambda m: f"\n\n{'#' * int(m.group(1))} {_WS.sub(' ', _HTML_TAG.sub('', m.group(2))).strip()}\n\n", text
        )
        text = _HTML_BR.sub("\n", text)
        text = _HTML_LI.sub("\n- ", text)
        text = _HTML_BLOCK.sub("\n", text)
        text = _HTML_TAG.sub("", text)
    text = _LINKED_IMAGE.sub("", text)
    text = _IMAGE.sub("", text)
    text = _LINK.sub(r"\1", text)
    text = _LINK_DEF.sub("", text)
    text = html.unescape(text)
    text = _SETEXT.sub(lambda m: f"{'#' if m.group('rule')[0] == '=' else '##'} {m.group('title').strip()}", text)
    text = "\n".join(line.rstrip() for line in text.split("\n"))
    return re.sub(r"\x00(\d+)\x00", lambda m: spans[int(m.group(1))], text)


def clean_markdown(text: str) -> str:
    """Clean Markdown: drop front matter, HTML comments, scripts, badges and images; turn inline HTML into text."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = _FRONT_MATTER.sub("", text, count=1)
    parts = [segment if is_code else _clean_prose(segment) for is_code, segment in _split_fences(text)]
    return _MANY_BLANK.sub("\n\n", "\n".join(parts)).strip()


def clean_plain_text(text: str) -> str:
    """Normalise line ends and blank lines of plain text."""
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\x00", "")
    return _MANY_BLANK.sub("\n\n", "\n".join(line.rstrip() for line in text.split("\n"))).strip()
