"""The sentence verifier on crafted cases: invented names and numbers, paraphrases, uncited claims, offsets."""

from __future__ import annotations

import os
import time

from editorial.grounding.schemas import Passage, SentenceStatus
from editorial.grounding.sentences import split_body
from editorial.grounding.verify import SUPPORT_THRESHOLD, support_score, verify_text
from editorial.grounding.vocabulary import SourceVocabulary, checkable_terms

TRANSFORMERS = (
    "Transformers provides thousands of pretrained models to perform tasks on text, vision and audio. "
    "The pipeline API, added in version 4.2, runs inference in a few lines. Models are shared on the Hugging Face Hub."
)
CHROMA = "Chroma is the open-source embedding database. It stores embeddings and their metadata for retrieval."
PASSAGES = {1: Passage(n=1, text=TRANSFORMERS, source_name="transformers.md"), 2: Passage(n=2, text=CHROMA)}


def check(body: str, **kwargs):
    report = verify_text(body, PASSAGES, **kwargs)
    return report, {body[s.start : s.end]: s for s in report.sentences}


def test_invented_person_is_unsupported_even_with_a_citation():
    report, by_text = check("Transformers was created by Dr. Elon Musk at Berkeley [1].\n")
    verdict = by_text["Transformers was created by Dr. Elon Musk at Berkeley [1]."]
    assert verdict.status == SentenceStatus.UNSUPPORTED
    assert {"Elon", "Musk", "Berkeley"} <= set(verdict.unknown_terms)
    assert "Elon" in report.unknown_terms and "Transformers" not in report.unknown_terms


def test_invented_number_and_version_are_unsupported():
    _, by_text = check("The pipeline API was added in version 4.7 [1]. Transformers has 2017 models [1].\n")
    assert by_text["The pipeline API was added in version 4.7 [1]."].unknown_terms == ["4.7"]
    assert by_text["Transformers has 2017 models [1]."].status == SentenceStatus.UNSUPPORTED
    _, real = check("The pipeline API arrived in version 4.2 and runs inference quickly [1].\n")
    assert next(iter(real.values())).status == SentenceStatus.SUPPORTED


def test_supported_paraphrase_passes_and_a_wrong_citation_fails():
    _, by_text = check(
        "Thousands of pretrained models handle text, vision and audio tasks [1]. "
        "Thousands of pretrained models handle text, vision and audio tasks [2].\n"
    )
    right, wrong = list(by_text.values())
    assert right.status == SentenceStatus.SUPPORTED and right.passage_n == 1 and right.score >= SUPPORT_THRESHOLD
    assert wrong.status == SentenceStatus.UNSUPPORTED and "[2]" in wrong.reason


def test_unsupported_claim_with_known_words_fails():
    _, by_text = check("Chroma compresses audio recordings into tiny vision datasets for speech translation [2].\n")
    verdict = next(iter(by_text.values()))
    assert verdict.status == SentenceStatus.UNSUPPORTED and verdict.unknown_terms == []
    assert verdict.score < SUPPORT_THRESHOLD


def test_claim_without_citation_is_unsupported_but_points_to_the_closest_passage():
    _, by_text = check("Chroma stores embeddings and their metadata.\n")
    verdict = next(iter(by_text.values()))
    assert verdict.status == SentenceStatus.UNSUPPORTED and "without a citation" in verdict.reason
    assert verdict.passage_n == 2


def test_no_claim_sentences():
    _, by_text = check("Why does this matter? Let us look closer. Here is how.\n")
    assert {v.status for v in by_text.values()} == {SentenceStatus.NO_CLAIM}


def test_citations_are_inherited_from_the_paragraph():
    body = "Chroma is an open-source embedding database. It stores embeddings and metadata for retrieval [2].\n"
    _, by_text = check(body)
    first = by_text["Chroma is an open-source embedding database."]
    assert first.cited == [2] and first.status == SentenceStatus.SUPPORTED


def test_citation_to_a_missing_passage_is_unsupported():
    _, by_text = check("Chroma is the open-source embedding database [7].\n")
    assert "not in the References" in next(iter(by_text.values())).reason


def test_offsets_point_into_the_body_and_skip_headings_code_and_references():
    body = (
        "## Models\n\nTransformers offers pretrained models [1]. Is it fast?\n\n"
        "```python\nx = Fake.Name(2099)\n```\n\n- Chroma stores embeddings [2].\n\n"
        "> Chroma is the open-source embedding database. [2]\n\n## References\n\n1. Elon Musk 2099\n"
    )
    report, by_text = check(body)
    for sentence in report.sentences:
        assert body[sentence.start : sentence.end] == sentence.text
    assert list(by_text) == [
        "Transformers offers pretrained models [1].",
        "Is it fast?",
        "- Chroma stores embeddings [2].",
        "> Chroma is the open-source embedding database. [2]",
    ]
    assert report.unknown_terms == []
    assert by_text["> Chroma is the open-source embedding database. [2]"].status == SentenceStatus.SUPPORTED


def test_abbreviations_and_decimals_do_not_split_sentences():
    spans = split_body("Use small models, e.g. SmolLM2 with 135M parameters. Version 4.2 is out.\n")
    assert [s.text for s in spans] == ["Use small models, e.g. SmolLM2 with 135M parameters.", "Version 4.2 is out."]


def test_collection_vocabulary_wins_over_passages():
    vocabulary = SourceVocabulary.from_texts([TRANSFORMERS, CHROMA, "Berkeley is a city."])
    _, by_text = check("Transformers is used at Berkeley [1].\n", vocabulary=vocabulary)
    assert next(iter(by_text.values())).unknown_terms == []


def test_terms_and_vocabulary_lookups():
    assert checkable_terms("Moreover, the from_pretrained call in PyTorch 2.13 costs 30% less [1].") == [
        "from_pretrained",
        "PyTorch",
        "2.13",
        "30%",
    ]
    assert checkable_terms("Models are shared openly.") == []
    vocabulary = SourceVocabulary.from_texts(["Call `AutoModel.from_pretrained()` on 1,000 rows (v2.1, 30%)."])
    for term in ("AutoModel", "from_pretrained", "1000", "1,000", "2.1", "v2.1", "30%", "automodel"):
        assert vocabulary.contains(term), term
    assert not vocabulary.contains("2017") and not vocabulary.contains("HUGGFox")


def test_collection_vocabulary_reads_every_page():
    class FakeCollection:
        def __init__(self, documents):
            self.documents = documents

        def get(self, include, limit, offset):
            return {"documents": self.documents[offset : offset + limit]}

    docs = [f"Term{i} appears here." for i in range(1203)]
    vocabulary = SourceVocabulary.from_chroma(FakeCollection(docs))
    assert vocabulary.contains("Term0") and vocabulary.contains("Term1202")


def test_support_score_weights_terms():
    assert support_score("Transformers runs inference", TRANSFORMERS) == 1.0
    assert support_score("Chroma runs inference", TRANSFORMERS) < 0.6


def test_two_thousand_words_verify_in_under_a_second():
    paragraph = (
        "Transformers provides thousands of pretrained models for text, vision and audio [1]. "
        "The pipeline API runs inference in a few lines [1]. Chroma stores embeddings and metadata [2]. "
        "Was that clear? Models are shared on the Hub by Lloyd Lazy in 2017 [1].\n\n"
    )
    body = paragraph * 50  # about 2,000 words
    started = time.process_time()  # CPU time: other work on a shared machine does not count
    report = verify_text(body, PASSAGES, vocabulary=SourceVocabulary.from_texts([TRANSFORMERS, CHROMA]))
    assert time.process_time() - started < 1.0 * float(os.environ.get("EDITORIAL_TEST_TIME_SCALE", "1"))
    assert len(report.sentences) == 250 and report.count(SentenceStatus.UNSUPPORTED) == 50


def test_a_negated_restatement_is_unsupported():
    _, by_text = check(
        "Models are not shared on the Hugging Face Hub [1]. Chroma does not store embeddings and metadata [2].\n"
    )
    for verdict in by_text.values():
        assert verdict.status == SentenceStatus.UNSUPPORTED and "opposite" in verdict.reason, verdict
    _, kept = check("Models are shared on the Hugging Face Hub [1].\n")
    assert next(iter(kept.values())).status == SentenceStatus.SUPPORTED


def test_a_number_or_name_borrowed_from_another_source_is_unsupported():
    vocabulary = SourceVocabulary.from_texts([TRANSFORMERS, CHROMA, "Version 4.3 of Chroma ships for PyTorch."])
    _, by_text = check(
        "The pipeline API, added in version 4.3, runs inference in a few lines [1].\n\n"
        "The pipeline API runs PyTorch inference in a few lines [1].\n",
        vocabulary=vocabulary,
    )
    number, name = by_text.values()
    assert number.unknown_terms == [] and number.status == SentenceStatus.UNSUPPORTED
    assert "does not mention 4.3" in number.reason
    assert name.status == SentenceStatus.UNSUPPORTED and "PyTorch" in name.reason


def test_a_sentence_citing_two_passages_may_draw_its_terms_from_both():
    _, by_text = check("Transformers models and Chroma embeddings work together for retrieval [1][2].\n")
    assert next(iter(by_text.values())).status == SentenceStatus.SUPPORTED


def test_text_typed_after_the_references_is_still_checked():
    body = (
        "Chroma stores embeddings and their metadata [2].\n\n## References\n\n[1] transformers.md\n[2] chroma.md\n\n"
        "An editor's note: Dr. Zed founded Chroma in 2031.\n\n## In short\n\nChroma was sold for 9 billion dollars.\n"
    )
    _, by_text = check(body)
    assert list(by_text) == [
        "Chroma stores embeddings and their metadata [2].",
        "An editor's note: Dr. Zed founded Chroma in 2031.",
        "Chroma was sold for 9 billion dollars.",
    ]
    assert [v.status for v in by_text.values()][1:] == [SentenceStatus.UNSUPPORTED] * 2
