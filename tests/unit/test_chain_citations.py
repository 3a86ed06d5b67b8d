from __future__ import annotations

from editorial.chain.citations import (
    attribute_paragraphs,
    cited_numbers,
    format_sources,
    keep_allowed,
    renumber,
    split_references,
    verify,
)
from editorial.chain.schemas import Blueprint, Evidence, Section, WrittenSection
from editorial.chain.text import clean_section, count_words, trim_to_budget, within_budget
from editorial.chain.write import assemble, replace_section, section_headings
from editorial.grounding.schemas import Passage


def ev(n, source_id, name, location="", text="retrieval chunks overlap context windows"):
    return Evidence(n=n, text=text, source_id=source_id, source_name=name, location=location)


def test_cited_numbers_ignore_code_and_links():
    text = "A [2] and [1, 3]. See [docs](http://x) and [4](http://y).\n```\nx = a[5]\n```\nEnd [2]."
    assert cited_numbers(text) == [2, 1, 3]


def test_keep_allowed_drops_unresolved_numbers():
    text, kept, dropped = keep_allowed("One [1]. Two [7]. Three [1, 9, 2].", {1, 2})
    assert text == "One [1]. Two. Three [1][2]."
    assert kept == [1, 2] and dropped == [7, 9]


def test_renumber_per_source_in_order_of_first_use_and_references_only_cited():
    evidence = {
        1: ev(1, 10, "a.md", "Intro"),
        2: ev(2, 20, "b.pdf", "page 3"),
        3: ev(3, 10, "a.md", "Setup"),
        4: ev(4, 30, "never.md"),
    }
    texts, refs = renumber(["First [2]. Then [1][3].", "Again [3] and [2]."], evidence)
    assert texts == ["First [1]. Then [2].", "Again [2] and [1]."]
    assert refs == ["[1] b.pdf — page 3", "[2] a.md — Intro; Setup"]
    assert verify("\n".join(texts), refs) == []
    assert verify("Only [1].", refs) == ["reference [2] is never cited"]
    assert verify("Bad [3].", ["[3] x"]) == []
    assert verify("Bad [4].", ["[3] x"]) == ["[4] has no entry in References", "reference [3] is never cited"]


def test_attribute_gives_uncited_paragraphs_the_overlapping_passage_only():
    evidence = [ev(5, 1, "a.md", text="Chunk size and overlap affect retrieval quality in vector search systems.")]
    grounded = "Chunk size and overlap strongly affect retrieval quality when you build vector search systems today."
    unrelated = "Bananas are yellow fruits that monkeys enjoy eating in tropical forests around the world every day."
    out = attribute_paragraphs(f"{grounded}\n\n{unrelated}\n\nShort one.", evidence)
    assert out == f"{grounded[:-1]} [5].\n\n{unrelated}\n\nShort one."


def test_format_sources_shortens_passages():
    listed = format_sources([ev(1, 1, "a", text="word " * 200)], max_chars=50)
    assert listed.startswith("[1] word word") and listed.endswith("…") and len(listed) < 60


def test_clean_section_removes_model_headings_reference_lists_and_meta():
    raw = (
        "## Why Chunk Size Matters\n\nChunks matter [1].\n\nThis article contains 150 words.\n\n"
        "More text.\n\nReferences:\n[1] https://made.up/page"
    )
    assert clean_section(raw, "Why Chunk Size Matters") == "Chunks matter [1].\n\nMore text."


def test_trim_to_budget_cuts_at_sentence_end_within_twenty_percent():
    text = " ".join(f"Sentence number {i} has exactly seven words." for i in range(40))
    trimmed = trim_to_budget(text, 100)
    words = count_words(trimmed)
    assert within_budget(words, 100) and words <= 120
    assert trimmed.endswith(".")
    unfinished = "One two three four five six seven eight nine ten. " * 10 + "and then it stops without"
    assert trim_to_budget(unfinished, 100).endswith("ten.")


def test_assemble_and_replace_section_keep_citations_resolving():
    evidence = {1: ev(1, 10, "a.md", "Intro"), 2: ev(2, 20, "b.pdf", "page 3")}
    bp = Blueprint(title_candidates=["T"], sections=[Section(heading="Intro", kind="intro"), Section(heading="Body")])
    written = [
        WrittenSection(heading="Intro", text="Intro text [2].", budget=50, words=2, cited=[2]),
        WrittenSection(heading="Body", text="Body text [1] and [2].", budget=50, words=4, cited=[1, 2]),
    ]
    body, refs = assemble(bp, written, evidence)
    assert section_headings(body) == ["Intro", "Body"]
    assert "Intro text [1]." in body and "Body text [2] and [1]." in body
    text, refs = split_references(body)
    assert verify(text, refs) == []
    new_evidence = {7: ev(7, 30, "c.md", "Deep")}
    old_passages = {1: Passage(n=1, text="What b.pdf says.", source_name="b.pdf")}
    body2, _refs2, passages = replace_section(body, "Body", "Rewritten body [7].", new_evidence, old_passages)
    text2, listed = split_references(body2)
    assert "Intro text [1]." in text2 and "Rewritten body [2]." in text2
    assert listed == ["[1] b.pdf — page 3", "[2] c.md — Deep"]
    assert verify(text2, listed) == []
    # the verifier gets the passage behind each final number: the old one kept, the new section's evidence
    assert passages[1].text == "What b.pdf says." and passages[2].text == new_evidence[7].text


def test_repeated_paragraphs_are_dropped():
    from editorial.chain.text import drop_repeated_paragraphs

    text = "RAG is useful [1].\n\nSomething else.\n\nRAG is  useful [2].\n\nEnd."
    assert drop_repeated_paragraphs(text) == "RAG is useful [1].\n\nSomething else.\n\nEnd."
