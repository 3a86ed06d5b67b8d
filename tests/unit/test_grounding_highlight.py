"""The highlighted preview: unsupported sentences marked, Markdown intact, nothing injected or forged."""

from editorial.grounding.highlight import highlighted_preview, mark_body
from editorial.grounding.schemas import SentenceCheck, SentenceStatus

MARK = '<mark class="gr-unsupported">'


def _check(body: str, text: str, status: SentenceStatus = SentenceStatus.UNSUPPORTED) -> SentenceCheck:
    start = body.index(text)
    return SentenceCheck(index=0, text=text, start=start, end=start + len(text), status=status)


def test_only_unsupported_sentences_are_marked_and_lists_headings_quotes_survive():
    body = (
        "# Title\n\n- Chroma stores **vectors.** It was founded in 1999 [1].\n- Second item claim.\n\n> Quoted claim.\n"
    )
    checks = [
        _check(body, "Chroma stores **vectors.**", SentenceStatus.SUPPORTED),
        _check(body, "It was founded in 1999 [1]."),
        _check(body, "- Second item claim."),  # offsets that include the list marker
        _check(body, "> Quoted claim."),
    ]
    html = highlighted_preview({}, body, checks)
    assert "<h1>Title</h1>" in html
    assert f"<li>Chroma stores <strong>vectors.</strong> {MARK}It was founded in 1999 [1].</mark></li>" in html
    assert f"<li>{MARK}Second item claim.</mark></li>" in html
    assert f"<blockquote>\n<p>{MARK}Quoted claim.</mark></p>\n</blockquote>" in html
    assert html.count(MARK) == 3


def test_html_in_a_sentence_stays_text_and_markers_in_the_text_cannot_forge_a_highlight():
    body = "Safe <script>alert(1)</script> claim. \u2045Forged highlight\u2046 here. [x](javascript:alert(1))"
    html = highlighted_preview(
        {"title": "\u2045t\u2046"}, body, [_check(body, "Safe <script>alert(1)</script> claim.")]
    )
    assert f"{MARK}Safe &lt;script&gt;alert(1)&lt;/script&gt; claim.</mark>" in html
    assert html.count(MARK) == 1 and "\u2045" not in html and "\u2046" not in html
    assert "<script" not in html and "javascript:" not in html.replace("[x](javascript:alert(1))", "")


def test_markers_never_break_a_link_or_land_inside_a_tag():
    body = "See [the docs](https://example.com/a.b) for more. Next claim `a.b` here."
    for start in (body.index("("), body.index("(https") + 5, body.index("`a") + 1):
        check = SentenceCheck(index=0, text="x", start=start, end=len(body), status="unsupported")
        html = highlighted_preview({}, body, [check])
        assert '<a href="https://example.com/a.b" rel="noopener noreferrer nofollow">the docs</a>' in html
        assert "<code>a.b</code>" in html and html.count(MARK) == 1


def test_a_sentence_spanning_lines_is_marked_line_by_line():
    body = "First line of a claim\n- continues as a list here.\n"
    marked = mark_body(body, [_check(body, "First line of a claim\n- continues as a list here.")])
    assert marked == "\u2045First line of a claim\u2046\n- \u2045continues as a list here.\u2046\n"
