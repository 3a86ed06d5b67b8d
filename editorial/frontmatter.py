"""dev.to front matter: the keys, their validation rules, and a safe YAML parse/compose of whole posts.

Posts are parsed and written with python-frontmatter. Its YAML handler is replaced by one that
refuses explicit YAML tags (``!!python/object`` and friends) and anchors/aliases before anything
is constructed, so a pasted post can neither run code nor expand into a "billion laughs".
"""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Any
from urllib.parse import urlparse

import frontmatter
import yaml
from frontmatter.default_handlers import YAMLHandler

from editorial.errors import EditorialError

FRONT_MATTER_KEYS = (
    "title",
    "published",
    "description",
    "tags",
    "cover_image",
    "canonical_url",
    "series",
    "ai_disclosure_level",
)
"""dev.to's front matter keys, in the order they are written."""

AI_DISCLOSURE_LEVELS = ("not_disclosed", "no_ai", "some_ai", "fully_autonomous")
MAX_TITLE_CHARS = 128
MAX_TAGS = 4
MAX_TAG_CHARS = 30
MAX_BODY_BYTES = 800_000
MAX_FRONT_MATTER_BYTES = 64_000
MAX_YAML_DEPTH = 20
"""dev.to's front matter is flat (a list of tags at most); deeper nesting is refused before parsing."""
_TAG_RE = re.compile(r"^[A-Za-z0-9]+$")

try:  # libyaml is faster; both loaders are the safe ones
    from yaml import CSafeDumper as _SafeDumper
    from yaml import CSafeLoader as _SafeLoader
except ImportError:  # pragma: no cover - depends on the PyYAML build
    from yaml import SafeDumper as _SafeDumper  # type: ignore[assignment]
    from yaml import SafeLoader as _SafeLoader  # type: ignore[assignment]


class FrontMatterError(EditorialError):
    """A post's front matter cannot be read safely."""


_BLOCK_ENTRIES = re.compile(r"(?:[-?:](?:[ \t]+|$))*")


def _line_depth(line: str, flow: int, limit: int) -> int:
    """The flow nesting (``[``/``{``) after ``line``, counting brackets outside quotes and comments."""
    quote = ""
    previous = " "
    index = 0
    while index < len(line):
        char = line[index]
        if quote:
            if char == "\\" and quote == '"':
                index += 1
            elif char == quote:
                quote = ""
        elif char in "\"'" and previous in " \t[{,:":
            quote = char
        elif char == "#" and previous in " \t":
            break
        elif char in "[{":
            flow += 1
            if flow > limit:
                raise FrontMatterError(f"The front matter is nested too deeply (more than {limit} levels).")
        elif char in "]}":
            flow = max(0, flow - 1)
        previous = char
        index += 1
    return flow


def check_yaml_depth(text: str, limit: int | None = None) -> None:
    """Refuse YAML nested more than ``limit`` levels, before any recursive parser sees it.

    libyaml's C composer recurses once per level and kills the process (segmentation fault) at about
    60 KB of ``[``. This linear scan, with no recursion, counts flow brackets outside quotes and comments,
    and block levels by indentation; it may over-count odd plain scalars, never under-count.

    Raises:
        FrontMatterError: The text is nested deeper than ``limit`` (default :data:`MAX_YAML_DEPTH`).
    """
    limit = MAX_YAML_DEPTH if limit is None else limit
    flow = 0
    indents: list[int] = []
    for line in text.splitlines():
        stripped = line.lstrip(" ")
        if flow == 0 and stripped and not stripped.startswith("#"):
            indent = len(line) - len(stripped)
            while indents and indents[-1] >= indent:
                indents.pop()
            indents.append(indent)
            for entry in _BLOCK_ENTRIES.match(stripped).group(0).split():  # "- - ? x" opens one level per marker
                indent += len(entry) + 1
                indents.append(indent)
            if len(indents) > limit:
                raise FrontMatterError(f"The front matter is nested too deeply (more than {limit} levels).")
        flow = _line_depth(line, flow, limit - len(indents) + 1 if flow == 0 else limit)


class _StrictYAMLHandler(YAMLHandler):
    """python-frontmatter's YAML handler with tags and aliases refused before construction."""

    def load(self, fm: str, **kwargs: object) -> Any:
        if len(fm.encode("utf-8")) > MAX_FRONT_MATTER_BYTES:
            raise FrontMatterError(f"The front matter is larger than {MAX_FRONT_MATTER_BYTES // 1000} KB.")
        try:
            check_yaml_depth(fm)
            for event in yaml.parse(fm, Loader=_SafeLoader):
                if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None):
                    raise FrontMatterError("The front matter uses YAML anchors or aliases, which are not accepted.")
                if getattr(event, "tag", None) and not isinstance(event, yaml.DocumentStartEvent):
                    raise FrontMatterError(f"The front matter uses the YAML tag {event.tag}, which is not accepted.")
            data = yaml.load(fm, Loader=_SafeLoader)
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            where = f" (line {mark.line + 1})" if mark is not None else ""
            problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
            raise FrontMatterError(f"The front matter is not valid YAML{where}: {problem}.") from exc
        except RecursionError as exc:  # a second wall behind the depth check
            raise FrontMatterError(
                f"The front matter is nested too deeply (more than {MAX_YAML_DEPTH} levels)."
            ) from exc
        if data is not None and not isinstance(data, dict):
            raise FrontMatterError("The front matter must be a set of 'key: value' lines.")
        return data or {}

    def export(self, metadata: dict[str, object], **kwargs: object) -> str:
        kwargs.setdefault("Dumper", _SafeDumper)
        return super().export(metadata, **kwargs)


_HANDLER = _StrictYAMLHandler()


def _plain(value: Any) -> Any:
    """Turn YAML scalars that JSON cannot hold (dates) into strings, recursively."""
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(key): _plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(item) for item in value]
    return value


def parse_post(text: str) -> tuple[dict, str]:
    """Split a Markdown post into its front matter and body, parsing the YAML safely.

    Args:
        text: The whole post; it may or may not start with a ``---`` front matter block.

    Returns:
        The front matter as a plain dict (empty when there is none) and the body, stripped.

    Raises:
        FrontMatterError: The YAML is malformed, uses tags or aliases, or is not a mapping.
    """
    text = text.lstrip("\ufeff")
    if not _HANDLER.detect(text.strip()):
        return {}, text.strip()
    try:
        metadata, body = frontmatter.parse(text, handler=_HANDLER)
    except ValueError as exc:
        raise FrontMatterError("The front matter block is not closed with a '---' line.") from exc
    return _plain(metadata), body


def normalize_front_matter(front_matter: dict) -> dict:
    """dev.to's keys only, in their order, with tags as a lowercase list and ``published`` a bool (default False).

    Empty optional values are dropped; unknown keys are dropped (see :func:`unknown_keys`).
    """
    result: dict[str, Any] = {}
    for key in FRONT_MATTER_KEYS:
        if key not in front_matter:
            continue
        value = front_matter[key]
        if key == "tags":
            value = parse_tags(value)
        elif key == "published":
            value = value if isinstance(value, bool) else str(value).strip().lower() in ("true", "yes", "1")
        elif isinstance(value, str):
            value = value.strip()
        if value in ("", None, []) and key not in ("title", "published"):
            continue
        result[key] = value
    result.setdefault("published", False)
    return {key: result[key] for key in FRONT_MATTER_KEYS if key in result}


def unknown_keys(front_matter: dict) -> list[str]:
    """The keys of ``front_matter`` that dev.to does not know."""
    return [key for key in front_matter if key not in FRONT_MATTER_KEYS]


def parse_tags(value: Any) -> list[str]:
    """Tags from a list or a comma/space separated string, lowercased, without '#' and duplicates."""
    if value is None:
        return []
    items = value if isinstance(value, list | tuple) else re.split(r"[,\s]+", str(value))
    tags: list[str] = []
    for item in items:
        tag = str(item).strip().lstrip("#").lower()
        if tag and tag not in tags:
            tags.append(tag)
    return tags


def _url_problem(value: Any) -> str | None:
    if not isinstance(value, str):
        return "Must be a URL."
    parsed = urlparse(value.strip())
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        return "Must be an http:// or https:// URL."
    return None


def validate_front_matter(front_matter: dict, body: str = "") -> dict[str, str]:
    """Check a draft against dev.to's rules.

    Args:
        front_matter: The draft's front matter (raw or normalized).
        body: The Markdown body, checked against the 800 KB limit.

    Returns:
        A message per failing field (``"title"``, ``"tags"`` …, ``"body"``); empty when valid.
    """
    errors: dict[str, str] = {}
    title = front_matter.get("title")
    if not isinstance(title, str) or not title.strip():
        errors["title"] = "A title is required."
    elif len(title.strip()) > MAX_TITLE_CHARS:
        errors["title"] = f"At most {MAX_TITLE_CHARS} characters (now {len(title.strip())})."

    raw_tags = front_matter.get("tags")
    if raw_tags is not None and not isinstance(raw_tags, list | tuple | str):
        errors["tags"] = "Tags must be a list or a comma-separated line."
    else:
        tags = parse_tags(raw_tags)
        bad = [tag for tag in tags if not _TAG_RE.match(tag) or len(tag) > MAX_TAG_CHARS]
        if len(tags) > MAX_TAGS:
            errors["tags"] = f"At most {MAX_TAGS} tags (now {len(tags)})."
        elif bad:
            errors["tags"] = f"Tags are up to {MAX_TAG_CHARS} ASCII letters or digits; not: {', '.join(bad)}."

    for key in ("cover_image", "canonical_url"):
        value = front_matter.get(key)
        if value not in (None, "") and (problem := _url_problem(value)):
            errors[key] = problem

    for key in ("description", "series"):
        value = front_matter.get(key)
        if value is not None and not isinstance(value, str):
            errors[key] = "Must be text."

    published = front_matter.get("published")
    if published is not None and not isinstance(published, bool):
        errors["published"] = "Must be true or false."

    level = front_matter.get("ai_disclosure_level")
    if level not in (None, "") and level not in AI_DISCLOSURE_LEVELS:
        errors["ai_disclosure_level"] = f"One of {', '.join(AI_DISCLOSURE_LEVELS)}."

    size = len(body.encode("utf-8"))
    if size > MAX_BODY_BYTES:
        errors["body"] = f"The body is {size / 1000:.0f} KB; dev.to accepts at most {MAX_BODY_BYTES // 1000} KB."

    for key in unknown_keys(front_matter):
        errors[key] = "Not a dev.to front matter key."
    return errors


def compose_post(front_matter: dict, body: str) -> str:
    """The post as Markdown text with a YAML front matter block (dev.to's keys, in order).

    Args:
        front_matter: The draft's front matter; it is normalized first.
        body: The Markdown body (surrounding blank lines are dropped).

    Returns:
        ``---`` + YAML + ``---`` + body, ending with a newline; :func:`parse_post` reads it back.
    """
    metadata = normalize_front_matter(front_matter)
    if "tags" in metadata:  # dev.to reads tags as one comma-separated line
        metadata["tags"] = ", ".join(metadata["tags"])
    post = frontmatter.Post(body.strip(), handler=_HANDLER)
    post.metadata.update(metadata)
    return frontmatter.dumps(post, handler=_HANDLER, sort_keys=False, allow_unicode=True) + "\n"
