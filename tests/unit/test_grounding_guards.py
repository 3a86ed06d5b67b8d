"""Degeneration guards: loops (also while streaming), near-duplicate sentences, chat and template debris."""

from __future__ import annotations

from editorial.grounding.guards import (
    DuplicateFilter,
    LoopGuard,
    cut_loop,
    debris_lines,
    drop_near_duplicates,
    repeated_ngram,
    strip_debris,
)

LOOP = (
    "Hugging Face hosts models. They have become a part of the HUGGFX family. They have become a part of the "
    "HUGGFX family. They have become a part of the HUGGFX family."
)


def test_repeated_ngram_finds_a_loop_and_not_ordinary_text():
    assert repeated_ngram(LOOP) == "they have become a"
    assert repeated_ngram("Models are trained on data. Data is cleaned before models are trained.") is None


def test_loop_guard_stops_a_stream_as_soon_as_it_loops():
    guard = LoopGuard()
    pieces = [LOOP[i : i + 7] for i in range(0, len(LOOP), 7)]
    stopped_at = next(i for i, piece in enumerate(pieces) if guard.feed(piece))
    assert stopped_at < len(pieces) - 1  # before the stream ended
    assert guard.looped == "they have become a"
    assert not LoopGuard().feed("Chroma stores embeddings and metadata. It runs in memory or as a server.")


def test_loop_guard_counts_words_split_across_pieces():
    guard = LoopGuard(n=2, repeats=2)
    assert not guard.feed("vec")
    assert not guard.feed("tor store ")
    assert not guard.feed("vector store")  # the last word may still grow ("stores")
    assert guard.finish() and guard.looped == "vector store"


def test_cut_loop_keeps_text_before_the_repetition():
    assert cut_loop(LOOP) == "Hugging Face hosts models. They have become a part of the HUGGFX family."
    assert cut_loop("One sentence only.") == "One sentence only."


def test_strip_debris_removes_roles_tokens_and_stray_headings():
    raw = (
        "<|im_start|>assistant\nReply: Chroma stores embeddings.<|im_end|>\n"
        "Premise: Models are shared on the Hub.\n## Another heading\nSender: Bob\n"
        "**User:** What next?\nFact 2: Tokenizers are fast.\nVector stores\n</s>"
    )
    cleaned = strip_debris(raw, heading="Vector stores")
    assert "<|" not in cleaned and "</s>" not in cleaned
    assert "Reply" not in cleaned and "Premise" not in cleaned and "Sender" not in cleaned and "User" not in cleaned
    assert "Another heading" not in cleaned and "Vector stores" not in cleaned
    assert "Chroma stores embeddings." in cleaned and "Tokenizers are fast." in cleaned
    assert debris_lines(cleaned) == []
    assert len(debris_lines(raw)) >= 5


def test_near_duplicates_are_dropped_across_the_post():
    sentences = [
        "Chroma stores embeddings and their metadata [1].",
        "Chroma stores the embeddings and the metadata.",
        "Transformers offers pretrained models [2].",
        "Chroma stores embeddings and their metadata [3].",
    ]
    assert drop_near_duplicates(sentences) == sentences[::2][:2]
    keep = DuplicateFilter()
    assert keep.accept("Models are shared on the Hub.")
    assert not keep.accept("models are SHARED on the hub!")
    assert keep.accept("Tokenizers split text into tokens quickly.")
