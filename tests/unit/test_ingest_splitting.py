"""The heading-aware splitter: sections by heading path, fences respected, sizes and overlap from settings."""

from __future__ import annotations

from editorial.ingest.parsers.base import Section
from editorial.ingest.splitting import markdown_sections, split_sections


def test_sections_carry_the_heading_path():
    text = "# Guide\n\nIntro.\n\n## Setup\n\n### Install\n\nRun it.\n\n## Use\n\nDaily."
    sections = markdown_sections(text)
    assert [(s.location, s.text) for s in sections] == [
        ("Guide", "# Guide\n\nIntro."),
        ("Guide > Setup > Install", "## Setup\n\n### Install\n\nRun it."),
        ("Guide > Use", "## Use\n\nDaily."),
    ]


def test_hash_lines_inside_code_fences_are_not_headings():
    text = "# Top\n\n```bash\n# a comment\n## another\n```\n\n~~~\n# tilde fence\n~~~\n\nAfter."
    sections = markdown_sections(text)
    assert len(sections) == 1 and sections[0].location == "Top"
    assert "# a comment" in sections[0].text and "# tilde fence" in sections[0].text


def test_text_before_the_first_heading_has_no_location_and_inline_markup_is_dropped():
    sections = markdown_sections("Preamble.\n\n## **Bold** `code` title ##\n\nBody.")
    assert [s.location for s in sections] == ["", "Bold code title"]


def test_a_document_of_only_a_heading_keeps_it():
    assert [s.text for s in markdown_sections("# Lonely")] == ["# Lonely"]


def test_chunks_respect_size_and_overlap_and_are_numbered():
    paragraph = " ".join(f"word{i}" for i in range(400))
    chunks = split_sections([Section(f"# Long\n\n{paragraph}")], chunk_size=300, chunk_overlap=60)
    assert len(chunks) > 5
    assert all(len(chunk.text) <= 300 + len("# Long\n\n") for chunk in chunks)
    assert [chunk.index for chunk in chunks] == list(range(len(chunks)))
    assert {chunk.location for chunk in chunks} == {"Long"}
    first_words, second_words = chunks[1].text.split(), chunks[2].text.split()
    assert set(first_words[-3:]) & set(second_words[:15])  # neighbours overlap


def test_a_heading_is_never_a_chunk_on_its_own():
    body = "x " * 400
    chunks = split_sections([Section(f"# Title\n\n## Part\n\n{body}")], chunk_size=200, chunk_overlap=0)
    assert chunks[0].text.startswith("# Title\n\n## Part\n\nx x")
    assert all(not chunk.text.strip().startswith("#") or "x" in chunk.text for chunk in chunks)


def test_plain_and_pdf_sections_are_split_without_heading_logic():
    sections = [Section("# not a heading in a PDF\n\nbody", "page 4", markdown=False)]
    chunks = split_sections(sections, chunk_size=1000, chunk_overlap=100)
    assert [(c.location, c.text) for c in chunks] == [("page 4", "# not a heading in a PDF\n\nbody")]


def test_blank_input_gives_no_chunks():
    assert split_sections([Section("  \n\n ")], chunk_size=100, chunk_overlap=10) == []


def test_overlap_larger_than_half_the_chunk_is_capped():
    chunks = split_sections([Section("a " * 300)], chunk_size=100, chunk_overlap=500)
    assert chunks and all(len(c.text) <= 100 for c in chunks)
