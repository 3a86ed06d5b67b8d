"""dev.to front matter: validation rules, safe parsing, round trip, and the escaped preview."""

import pytest

from editorial.frontmatter import (
    MAX_BODY_BYTES,
    FrontMatterError,
    compose_post,
    normalize_front_matter,
    parse_post,
    parse_tags,
    unknown_keys,
    validate_front_matter,
)
from editorial.preview import render_markdown, render_preview

VALID = {
    "title": "Grounded posts with small models",
    "description": "How we cite sources",
    "tags": ["python", "llm", "rag"],
    "cover_image": "https://example.org/cover.png",
    "canonical_url": "http://example.org/post",
    "series": "Editorial Desk",
    "published": False,
    "ai_disclosure_level": "fully_autonomous",
}


def test_a_complete_valid_front_matter_has_no_errors():
    assert validate_front_matter(VALID, "Body text.") == {}


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"title": ""}, "title", "required"),
        ({"title": "   "}, "title", "required"),
        ({"title": None}, "title", "required"),
        ({"title": "x" * 129}, "title", "At most 128"),
        ({"tags": ["a", "b", "c", "d", "e"]}, "tags", "At most 4"),
        ({"tags": ["c-sharp"]}, "tags", "c-sharp"),
        ({"tags": ["x" * 31]}, "tags", "up to 30"),
        ({"tags": ["café"]}, "tags", "café"),
        ({"tags": 5}, "tags", "list"),
        ({"cover_image": "ftp://example.org/a.png"}, "cover_image", "http"),
        ({"canonical_url": "javascript:alert(1)"}, "canonical_url", "http"),
        ({"canonical_url": "https://"}, "canonical_url", "http"),
        ({"published": "yes"}, "published", "true or false"),
        ({"ai_disclosure_level": "robots"}, "ai_disclosure_level", "fully_autonomous"),
        ({"description": 3}, "description", "text"),
        ({"layout": "post"}, "layout", "Not a dev.to"),
    ],
)
def test_each_rule_reports_on_its_field(change, field, message):
    errors = validate_front_matter({**VALID, **change}, "")
    assert set(errors) == {field}
    assert message in errors[field]


def test_boundaries_are_inclusive():
    ok = {**VALID, "title": "x" * 128, "tags": ["a" * 30, "b", "c", "d"]}
    assert validate_front_matter(ok, "a" * MAX_BODY_BYTES) == {}
    assert "body" in validate_front_matter(ok, "a" * (MAX_BODY_BYTES + 1))


def test_tags_from_a_comma_line_are_lowercased_and_deduplicated():
    assert parse_tags("Python, #AI  python,rag") == ["python", "ai", "rag"]
    assert validate_front_matter({**VALID, "tags": "Python, AI"}) == {}


def test_round_trip_gives_the_same_fields_and_body():
    body = "\n\n# Heading\n\nSome *text* with `code` and a colon: here.\n\n```python\nx = 1\n```\n"
    text = compose_post(VALID, body)
    assert text.startswith("---\ntitle: Grounded posts with small models\npublished: false\n")
    assert "tags: python, llm, rag\n" in text  # dev.to reads one comma-separated line
    front_matter, parsed_body = parse_post(text)
    assert normalize_front_matter(front_matter) == normalize_front_matter(VALID)
    assert parsed_body == body.strip()


def test_round_trip_survives_yaml_special_characters():
    tricky = {"title": "Yes: no? # not a comment", "description": "'quoted' \"double\" - dash", "published": True}
    front_matter, body = parse_post(compose_post(tricky, "body"))
    assert normalize_front_matter(front_matter) == normalize_front_matter(tricky)
    assert body == "body"


def test_a_pasted_post_is_understood_with_unknown_keys_reported():
    pasted = "---\ntitle: Pasted\ntags: python, webdev\ndate: 2024-05-01\npublished: true\n---\n\nHello.\n"
    front_matter, body = parse_post(pasted)
    assert front_matter["date"] == "2024-05-01"  # a YAML date becomes a string the JSON column can hold
    assert unknown_keys(front_matter) == ["date"]
    assert normalize_front_matter(front_matter) == {"title": "Pasted", "published": True, "tags": ["python", "webdev"]}
    assert body == "Hello."


def test_text_without_front_matter_is_all_body():
    assert parse_post("# Just markdown\n\n---\n\nafter a rule") == ({}, "# Just markdown\n\n---\n\nafter a rule")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("---\n!!python/object/apply:os.system ['echo hacked']\n---\nbody", "YAML tag"),
        ("---\ntitle: !!python/object/new:os.system [echo]\n---\n", "YAML tag"),
        ("---\ntitle: !custom x\n---\n", "YAML tag"),
        ("---\na: &anchor [1, 2]\nb: *anchor\n---\n", "anchors or aliases"),
        ("---\n- just\n- a list\n---\n", "key: value"),
        ("---\ntitle: [unclosed\n---\n", "not valid YAML"),
    ],
)
def test_unsafe_or_malformed_yaml_is_refused_with_one_line(text, message):
    with pytest.raises(FrontMatterError, match=message) as info:
        parse_post(text)
    assert "\n" not in str(info.value)


def test_billion_laughs_is_refused_before_expansion():
    laughs = "---\na: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\n"
    laughs += "c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]\n---\n"
    with pytest.raises(FrontMatterError, match="anchors"):
        parse_post(laughs)


def test_preview_escapes_raw_html_and_drops_dangerous_links():
    body = (
        "<script>alert('x')</script>\n\n<img src=x onerror=alert(1)>\n\n"
        "[click](javascript:alert(1)) [ok](https://example.org) ![pic](https://example.org/a.png)\n\n"
        '<a href="javascript:alert(2)">raw link</a>'
    )
    html = render_markdown(body)
    assert "<script" not in html and "&lt;script&gt;" in html
    assert "<img src=x" not in html and "onerror=alert" not in html.replace("&lt;img src=x onerror=alert(1)&gt;", "")
    assert '<a href="javascript' not in html and "&lt;a href=" in html
    assert '<a href="https://example.org" rel="noopener noreferrer nofollow">ok</a>' in html
    assert '<img src="https://example.org/a.png" alt="pic">' in html


def test_preview_shows_title_escaped():
    html = render_preview({"title": "<b>Bold</b> & co", "tags": ["python"]}, "Text")
    assert "<h1>&lt;b&gt;Bold&lt;/b&gt; &amp; co</h1>" in html
    assert "#python" in html
