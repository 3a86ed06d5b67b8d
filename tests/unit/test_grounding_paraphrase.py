"""Rule paraphrases, copy blocking, coined words and the post-wide quotation trim."""

from __future__ import annotations

from editorial.chain.compose import trim_quotations
from editorial.grounding.copying import SourceShingles
from editorial.grounding.paraphrase import close_paraphrase
from editorial.grounding.vocabulary import SourceVocabulary, unfamiliar_words
from editorial.llm.copy_guard import CopyGuard, WordStarts

SOURCE = [
    "Streamlit lets you transform Python scripts into interactive web apps in minutes, instead of weeks.",
    "Pydantic is the most widely used data validation library for Python, and it is fast and extensible.",
    "Chroma is the open-source embedding database for AI applications.",
]


def test_a_rule_paraphrase_copies_no_eight_word_run_and_keeps_names_and_numbers():
    shingles = SourceShingles(SOURCE)
    out = close_paraphrase(SOURCE[0], shingles)
    assert out and shingles.longest_run(out) == 0
    assert "Streamlit" in out and "Python" in out and out.endswith(".")
    pydantic = close_paraphrase(SOURCE[1], shingles)
    assert pydantic and "Pydantic" in pydantic and "Python" in pydantic and shingles.longest_run(pydantic) == 0


def test_a_sentence_the_rules_cannot_reword_is_left_to_the_quotation():
    assert close_paraphrase(SOURCE[2], SourceShingles(SOURCE)) is None


def test_names_inside_a_sentence_are_never_swapped():
    text = "The Simple Storage Service keeps your files safe and lets you share them with the team easily."
    out = close_paraphrase(text, SourceShingles([text]))
    assert out is None or "Simple Storage Service" in out


def test_the_copy_guard_bans_the_word_that_would_complete_a_copied_run():
    vocab = ["", " Streamlit", " lets", " you", " transform", " trans", " Python", " scripts", " into", " turn", "form"]
    guard = CopyGuard([SOURCE[0]], WordStarts(vocab))
    assert guard.banned("Streamlit lets you transform Python scripts into") == []  # 7 words: not yet
    written = "Streamlit lets you transform Python scripts into interactive"
    assert guard.banned(written) == []  # "web" would complete the run, but no token of this vocabulary starts it
    banned = guard.banned(" You know, Streamlit lets you transform Python scripts")
    assert banned == []  # its last seven words ("know streamlit lets …") are not a run of the source
    guard = CopyGuard(["one two three four five six seven transform"], WordStarts(vocab))
    assert sorted(guard.banned("one two three four five six seven")) == [4, 5]  # " transform" and " trans"
    assert guard.banned("one two three four five six seve") == []


def test_coined_and_misspelled_words_are_caught_but_source_terms_pass():
    vocabulary = SourceVocabulary.from_texts(["Sentence Transformers trains rerankers and sparse encoders."])
    sentence = "You can finitue rerankers, encoders and encrpyrsions with embedding models."
    assert unfamiliar_words(sentence, vocabulary) == ["finitue", "encrpyrsions"]


def test_quotations_over_a_quarter_of_a_short_post_are_trimmed_from_the_end():
    shingles = SourceShingles(SOURCE)
    texts = [
        "Streamlit turns scripts into apps [1]. “" + SOURCE[0].rstrip(".") + "” [1].",
        "Validation in Python is quick with it [2]. “" + SOURCE[1].rstrip(".") + "” [2].",
    ]
    trimmed, removed = trim_quotations(texts, shingles)
    assert removed == 2 and trimmed == [
        "Streamlit turns scripts into apps [1].",
        "Validation in Python is quick with it [2].",
    ]
    assert trim_quotations(trimmed, shingles) == (trimmed, 0)


def test_a_copy_edit_may_not_add_content_words_its_fact_lacks():
    from editorial.grounding.edits import added_words

    fact = "Typically, PyTorch has three minor releases a year."
    assert added_words("PyTorch has three major releases a year.", fact) == ["major"]
    assert added_words("PyTorch usually has three minor releases a year.", fact) == []  # "usually": a rule's word
    assert added_words("Hugh is a valuable contributor to PyTorch.", "Hugh wrote an unrelated pytorch.") == [
        "valuable",
        "contributor",
    ]


def test_an_equivalent_wording_is_allowed_only_for_the_word_it_replaces():
    from editorial.grounding.edits import added_words

    fact = "The memory usage in PyTorch is extremely efficient compared to Torch."
    assert added_words("The memory usage in PyTorch is extremely fast compared to Torch.", fact) == ["fast"]
    assert added_words("PyTorch offers tensors.", "PyTorch provides tensors.") == []  # offer ← provide


def test_common_verbs_of_api_docs_are_swapped_for_equivalents():
    text = "The client retrieves every document of the collection and stores the result in the local cache directory."
    out = close_paraphrase(text, SourceShingles([text]))
    assert out and SourceShingles([text]).longest_run(out) == 0
    assert "fetches" in out or "keeps" in out or "each document" in out


def test_no_need_to_is_an_idiom_the_swaps_leave_alone():
    swapped = "You need to register the model before serving it."
    assert close_paraphrase(swapped, SourceShingles([swapped])) == "You have to register the model before serving it."
    for idiom in ("No need to register the model before serving it.", "There is no need to register the model first."):
        assert "have to" not in (close_paraphrase(idiom, SourceShingles([idiom])) or "")


def test_each_of_is_not_swapped_into_every_of():
    source = (  # transformers' README; session 7's end-to-end post said "iterate on every of the models"
        "The code in the model files is not refactored with additional abstractions on purpose, so that researchers "
        "can quickly iterate on each of the models without diving into additional abstractions/files."
    )
    assert "every of" not in (close_paraphrase(source, SourceShingles([source])) or "")
