"""The grounded writer's ladder with fake models: model sentence, one retry, a marked quotation, then drop."""

from __future__ import annotations

from editorial.chain.calls import CallSite, ChatTarget, fact_edit_kwargs
from editorial.chain.compose import (
    MIN_MODEL_TRIALS,
    PROBE_EVERY,
    WritingContext,
    check_sentence,
    compose_section,
    model_note,
    quotation,
)
from editorial.grounding.edits import dropped_meaning
from editorial.grounding.facts import Fact, candidate_sentences, select_facts
from editorial.grounding.schemas import Passage
from editorial.grounding.verify import verify_text
from tests.unit.chain_fakes import RecordingChatModel, edited_fact, last_user, paraphrase

PASSAGE_A = (
    "Chroma is the open-source embedding database for AI applications. "
    "It holds embeddings together with their metadata and documents. "
    "Collections can be queried by similarity and filtered by metadata."
)
PASSAGE_B = (
    "Transformers provides thousands of pretrained models for text, vision and audio tasks. "
    "The pipeline API runs inference on a model in a few lines of code."
)
FACTS = [
    Fact("Chroma is the open-source embedding database for AI applications.", 1, PASSAGE_A),
    Fact("It holds embeddings together with their metadata and documents.", 1, PASSAGE_A),
    Fact("The pipeline API runs inference on a model in a few lines of code.", 2, PASSAGE_B),
]


def facts_in(messages) -> list[str]:
    return [edited_fact(last_user(messages))]


def compose(responder, facts=FACTS, budget=60, context=None):
    model = RecordingChatModel(responder=responder)
    if context is None:
        context = WritingContext.build([PASSAGE_A, PASSAGE_B])
        context.planned_words = 200
    draft = compose_section(
        ChatTarget(model, "embedded", "fake"),
        facts,
        topic="Vector stores",
        budget=budget,
        site=CallSite(),
        context=context,
    )
    return draft, model


def lone_fact(text: str) -> tuple[Fact, WritingContext]:
    """``text`` as a fact that is its own passage, and a writing context over it."""
    fact = Fact(text, 1, text)
    return fact, WritingContext.build([fact.text])


def numbered(lines: list[str]) -> str:
    return "\n".join(f"{i + 1}. {line}" for i, line in enumerate(lines))


def test_faithful_rewrites_are_kept_and_cited():
    draft, model = compose(lambda m: numbered([paraphrase(f) for f in facts_in(m)]))
    assert [k.origin for k in draft.kept] == ["model", "model", "model"]
    assert [k.n for k in draft.kept] == [1, 1, 2] and draft.dropped == 0
    assert draft.text.count("[1]") == 2 and "[2]" in draft.text
    assert len(model.prompts) == 3  # one short generation per fact, no retry
    report = verify_text(draft.text, {1: Passage(n=1, text=PASSAGE_A), 2: Passage(n=2, text=PASSAGE_B)})
    assert report.supported_share == 1.0 and report.unknown_terms == []


def test_an_invented_name_is_retried_once_then_kept_from_the_retry():
    def responder(messages):
        if "\nEdit: " in last_user(messages):  # the first try (the retry asks "Edit with other words")
            return numbered([f"{paraphrase(f)} It was founded by Dr. Elon Musk." for f in facts_in(messages)])
        return paraphrase(facts_in(messages)[0])

    draft, model = compose(responder)
    assert draft.kept and {k.origin for k in draft.kept} <= {"model", "retry"}  # the invented sentence never
    assert "Musk" not in draft.text and "Elon" not in draft.text
    assert sum("Edit with other words" in p for p in model.prompts) <= len(FACTS)


def test_a_fact_the_model_cannot_rewrite_becomes_a_marked_quotation():
    draft, _model = compose(lambda m: "HUGGFox was founded in 2017 by Lloyd at Berkeley.")
    assert draft.kept and all(k.origin == "quote" for k in draft.kept)
    assert draft.kept[0].text == "“Chroma is the open-source embedding database for AI applications” [1]."
    assert "HUGGFox" not in draft.text and "2017" not in draft.text
    assert any("not in the sources" in reason for reason in draft.rejected)


def test_quotations_stop_at_the_verbatim_budget_and_the_rest_is_dropped():
    context = WritingContext.build([PASSAGE_A, PASSAGE_B])
    context.planned_words = 30  # a short post: one quotation would exceed 21% copied words
    draft, _model = compose(lambda m: "Unrelated words about cooking pasta tonight.", context=context)
    assert draft.kept == [] and draft.dropped == len(FACTS) and draft.text == ""


def test_a_long_quotation_is_a_block_quote_with_its_citation():
    long_fact = Fact(
        "Collections can be queried by similarity and filtered by metadata so that an application finds the "
        "documents it needs for every question a reader asks.",
        1,
        PASSAGE_A + " Collections can be queried by similarity and filtered by metadata so that an application "
        "finds the documents it needs for every question a reader asks.",
    )
    context = WritingContext.build([long_fact.passage])
    context.total_words = 500
    draft, _model = compose(lambda m: "", facts=[long_fact], context=context)
    assert draft.text.startswith("> Collections can be queried") and draft.text.endswith("[1].")


def test_loops_and_debris_never_reach_the_text_and_repeats_are_dropped_post_wide():
    loop = "They have become a part of the family. " * 6

    def responder(messages):
        return "<|im_start|>assistant\nReply: " + numbered([paraphrase(f) + " " + loop for f in facts_in(messages)])

    context = WritingContext.build([PASSAGE_A, PASSAGE_B])
    first, _ = compose(responder, context=context)
    assert "family" not in first.text and "Reply" not in first.text and "<|" not in first.text
    assert len(first.kept) == 3
    again, _ = compose(lambda m: numbered([paraphrase(f) for f in facts_in(m)]), context=context)
    assert again.kept == []  # every fact was already said in the post


def test_facts_are_prose_sentences_chosen_for_the_query_and_diverse():
    text = (
        "# Install\n\npip install chromadb\n\n```python\nclient = chromadb.Client()\n```\n\n"
        "- Chroma stores embeddings together with their metadata.\n"
        "Chroma stores embeddings together with metadata and documents.\n\n"
        "The pipeline API runs inference on a model in a few lines of code."
    )
    assert candidate_sentences(text) == [
        "Chroma stores embeddings together with their metadata.",
        "Chroma stores embeddings together with metadata and documents.",
        "The pipeline API runs inference on a model in a few lines of code.",
    ]

    class Item:
        n = 4

    item = Item()
    item.text = text
    chosen = select_facts("storing embeddings and metadata in Chroma", [item], count=2)
    assert chosen[0].text.startswith("Chroma stores") and chosen[0].n == 4
    assert len({f.text.split()[0] for f in chosen}) == 2 or len(chosen) == 1  # the near-duplicate is skipped


def test_facts_that_lean_on_missing_text_are_not_chosen():
    text = (
        "Note: If two clients share one System, the System stops when the last client is closed. "
        "It requires an API key and a model name. Inserts a multi-element container as a popover. "
        "Open a terminal and run: If this opens the demo app you are all set. "
        "You can also use the rank method to avoid reranking by hand:. "
        "To train new vocabulary with four ready-made tokenizers. "
        "Streamlit turns Python scripts into shareable web apps in minutes."
    )
    assert candidate_sentences(text) == [
        "If two clients share one System, the System stops when the last client is closed.",
        "Streamlit turns Python scripts into shareable web apps in minutes.",
    ]


def test_an_edit_that_moves_the_facts_words_around_is_refused():
    text = "The training API is optimized to work with PyTorch models provided by Transformers."
    fact = Fact(text, 2, f"{text} {PASSAGE_B}")
    context = WritingContext.build([fact.passage])
    moved = "The PyTorch model is optimized to work with Transformers."  # every word the fact's, the claim not
    assert check_sentence(moved, fact, context).startswith("moves its fact's words around")
    assert check_sentence("The training API is optimized for PyTorch models from Transformers.", fact, context) == ""


def test_an_edit_that_repeats_itself_is_refused():
    text = "A short-lived token obtained via OIDC is used when the resource is set."
    fact, context = lone_fact(text)
    looped = "A short-lived token obtained via OIDC is set to a short-lived token, which is a short-lived token."
    assert check_sentence(looped, fact, context).startswith("repeats itself")


def test_fact_edits_reach_local_models_without_a_repetition_penalty():
    class LocalChatModel:  # the name is what the call keywords look at
        pass

    sent = fact_edit_kwargs(LocalChatModel(), ["a source"])
    assert sent == {"repetition_penalty": 1.0, "avoid_copying": ["a source"]}
    assert fact_edit_kwargs(RecordingChatModel(responder=lambda m: ""), ["a source"]) == {}


def test_facts_opening_with_a_connective_or_a_modal_are_not_chosen():
    text = (
        "Hence, PyTorch is quite fast whether you run small or large networks. "
        "Will also set the device to the CPU on a machine without a GPU. "
        "Examples: simple to understand PyTorch code across all domains. "
        "PyTorch tensors can live on the CPU or on a GPU and move between them."
    )
    assert candidate_sentences(text) == ["PyTorch tensors can live on the CPU or on a GPU and move between them."]


def test_facts_off_the_posts_topic_are_not_chosen_however_close_to_the_heading():
    class Item:
        n = 1
        text = (
            "Streamlit turns data scripts into shareable web apps in minutes. "
            "The official docs of this other library are hosted on PyData.org today."
        )

    vectors = {  # the query matches both sentences; only the first is about the post's topic
        "query": [1.0, 1.0, 0.0],
        "building data apps with Streamlit": [1.0, 0.0, 0.0],
        Item.text.split(". ")[0] + ".": [1.0, 0.9, 0.0],
        Item.text.split(". ")[1]: [0.05, 1.0, 0.0],
    }

    def embed(texts):
        return [vectors[t] for t in texts]

    def chosen(topic: str) -> list[str]:
        facts = select_facts("query", [Item()], count=5, embed=embed, topic=topic)
        return [f.text for f in facts]

    assert len(chosen("")) == 2
    assert chosen("building data apps with Streamlit") == [
        "Streamlit turns data scripts into shareable web apps in minutes."
    ]


def test_a_fact_written_once_is_not_chosen_or_quoted_again_when_its_sentence_was_reworded():
    passage = "Streamlit comes with additional powerful elements to spice up your data apps."
    fact = Fact(passage, 1, passage)
    context = WritingContext.build([passage])
    context.planned_words = 200
    reworded = "Streamlit comes with extra capable elements to spice up your data applications."
    draft, _model = compose(lambda m: numbered([reworded]), facts=[fact], context=context)
    assert len(draft.kept) == 1 and draft.kept[0].origin != "quote"
    assert draft.kept[0].text.split(" [")[0] != passage.rstrip(".")  # reworded (by the model or the rules)

    class Item:
        n = 1
        text = passage

    assert select_facts("Streamlit elements for data apps", [Item()], count=5, used=context.duplicates) == []
    assert quotation(fact, context) is None  # the same fact quoted in a later section would say it twice


def test_a_section_whose_passages_run_out_of_facts_reads_further_down_its_retrieval():
    from editorial.chain.schemas import Blueprint, Evidence, Section
    from editorial.chain.write import write_section

    def evidence(n: int, text: str) -> Evidence:
        return Evidence(n=n, text=text, source_id=n, source_name=f"doc{n}.md")

    first = [evidence(1, PASSAGE_A)]
    further = [*first, evidence(2, PASSAGE_B)]
    asked: list[int] = []

    def widen(limit: int) -> list[Evidence]:
        asked.append(limit)
        return further[:limit]

    section = Section(heading="Vector stores and pipelines", key_points=["Chroma", "pipeline API"], words=120)
    plan = Blueprint(title_candidates=["Chroma and Transformers"], sections=[section], target_words=120)
    model = RecordingChatModel(responder=lambda m: numbered([paraphrase(f) for f in facts_in(m)]))
    context = WritingContext.build([PASSAGE_A])
    context.planned_words = 120
    kwargs = {"site": CallSite(), "context": context}
    written = write_section(ChatTarget(model, "embedded", "fake"), plan, 0, first, widen=widen, **kwargs)
    assert asked and 2 in written.cited  # the pipeline fact came from the second passage
    assert "[2]" in written.text

    context = WritingContext.build([PASSAGE_A])
    context.planned_words = 120
    alone = write_section(ChatTarget(model, "embedded", "fake"), plan, 0, first, site=CallSite(), context=context)
    assert alone.cited == [1] and any("is short" in note for note in alone.notes)


def test_a_sentence_ending_in_a_stray_capital_letter_is_extraction_residue():
    text = "The main purpose is to enhance dataclasses by adding validation A. Pydantic reports all errors at once."
    assert candidate_sentences(text) == ["Pydantic reports all errors at once."]


def test_a_docstring_summary_without_a_subject_is_not_a_fact():
    text = "Has support for streaming, yielding text chunks as produced. The client streams text chunks to the caller."
    assert candidate_sentences(text) == ["The client streams text chunks to the caller."]


def test_a_bullet_item_over_several_lines_is_one_sentence_not_a_cut_fragment():
    text = (
        "* With SQLAlchemy, there's no such thing as\n"
        '  "the ORM generated a bad query" - you\n'
        "  retain full control over the structure of queries.\n"
        "* Migrations are generated from the models you declare.\n"
    )
    assert candidate_sentences(text) == [
        'With SQLAlchemy, there\'s no such thing as "the ORM generated a bad query" - you retain full control over '
        "the structure of queries.",
        "Migrations are generated from the models you declare.",
    ]


def test_a_passage_cut_mid_sentence_gives_no_fact_from_its_last_words():
    text = "Chroma stores embeddings with their metadata. With SQLAlchemy, there's no such thing as"
    assert candidate_sentences(text) == ["Chroma stores embeddings with their metadata."]
    cut_item = "* Chroma stores embeddings with their metadata.\n* With SQLAlchemy, there's no such thing as"
    assert candidate_sentences(cut_item) == ["Chroma stores embeddings with their metadata."]


def test_an_edit_that_drops_a_qualifier_or_changes_code_is_refused():
    cases = {  # the 135M model's edits that passed every other check, read on the benchmark's corpora
        "The section name in toml is always `[tool.alembic]`.": "The section name in toml is always `[alembic]`.",
        "The result is a tuple of one or more identifiers.": "The result is a tuple of one identifier.",
        "If the attribute has been accessed, setting the encoding raises an error.": (
            "The attribute has been accessed, setting the encoding raises an error."
        ),
        "A request for a fragment the session no longer holds is ignored.": (
            "A request for a fragment the session holds is ignored."
        ),
        "Wrapper for a model's forward method to apply FP8 autocast.": "Wrapper for a model's forward method.",
        "The distinction is made between files cached from the Hub and assets.": (
            "The distinction is made between files cached in the Hub and assets."
        ),
    }
    for fact, edit in cases.items():
        assert dropped_meaning(edit, fact), edit
    light = {  # small words, contractions and the rules' equivalents may change
        "Return the segment residences for a given segment ID.": "Return the segment residences for a given ID.",
        "It doesn't support async clients.": "It does not support async clients.",
        "You can use several workers.": "You are able to use multiple workers.",
    }
    for fact, edit in light.items():
        assert dropped_meaning(edit, fact) == "", edit


def test_a_model_whose_sentences_keep_failing_is_asked_for_fewer_facts_and_the_run_says_so():
    texts = [f"Chroma stores collection number {i} with its own metadata and documents." for i in range(45)]
    facts = [Fact(text, 1, " ".join(texts)) for text in texts]
    context = WritingContext.build([facts[0].passage])
    context.planned_words = 2000
    draft, model = compose(lambda m: "HUGGFox was founded in 2017 by Lloyd at Berkeley.", facts, 2000, context)
    asked = context.first_edits.asked + context.retries.asked
    assert len(model.prompts) == asked < 2 * len(facts)  # without the gate: a first try and a retry per fact
    assert context.first_edits.asked == MIN_MODEL_TRIALS + (len(facts) - MIN_MODEL_TRIALS) // PROBE_EVERY
    assert context.first_edits.passed == 0 and all(k.origin in {"paraphrase", "quote"} for k in draft.kept)
    assert f"one fact in {PROBE_EVERY}" in model_note(context.first_edits, context.retries)


def test_a_model_whose_sentences_pass_is_asked_for_every_fact():
    texts = [f"Chroma stores collection number {i} with its own metadata and documents." for i in range(45)]
    facts = [Fact(text, 1, " ".join(texts)) for text in texts]
    context = WritingContext.build([facts[0].passage])
    _draft, model = compose(lambda m: numbered([paraphrase(f) for f in facts_in(m)]), facts, 2000, context)
    assert len(model.prompts) == len(facts) and context.first_edits.passed == len(facts)
    assert model_note(context.first_edits, context.retries) == ""


def test_a_rules_equivalent_counts_only_where_it_replaced_its_word():
    text = "The returning collection contains identical data to the current collection."
    fact, context = lone_fact(text)
    added = "The returning collection contains identical data, including the current collection."
    assert check_sentence(added, fact, context).startswith("adds words its fact does not have: including")
    assert check_sentence("The returning collection includes identical data.", fact, context) == ""


def test_labels_and_gerund_fragments_are_not_facts():
    passage = (
        "Speech to speech generation with Moshi. A Python dictionary for storage of additional state. "
        "Supports streaming, yielding text chunks as they're produced by the model. "
        "Send a single HTTP request and return a response. "
        "Streamlit turns Python scripts into shareable web apps in minutes. "
        "The pipeline API runs inference on a model in a few lines of code. "
        "PyTorch added support for complex tensors. Requests doesn't follow redirects for HEAD."
    )
    assert candidate_sentences(passage) == [
        "Streamlit turns Python scripts into shareable web apps in minutes.",
        "The pipeline API runs inference on a model in a few lines of code.",
        "PyTorch added support for complex tensors.",
        "Requests doesn't follow redirects for HEAD.",
    ]


def test_emoji_are_not_words_of_a_fact():
    passage = (
        "But at the same time, ✨ it is an SQLAlchemy model and a Pydantic model. 🚀 SQLModel is built on top of "
        "Pydantic."
    )
    assert candidate_sentences(passage) == [
        "But at the same time, it is an SQLAlchemy model and a Pydantic model.",
        "SQLModel is built on top of Pydantic.",
    ]


def test_a_model_edit_adds_no_qualifier_but_a_form_of_be():
    fact = "Accelerate supports training on multiple GPUs with DeepSpeed."
    for distorted in (
        "Accelerate only supports training on multiple GPUs with DeepSpeed.",
        "Accelerate always supports training on multiple GPUs with DeepSpeed.",
        "Accelerate supports training on all multiple GPUs with DeepSpeed.",
        "Accelerate may support training on multiple GPUs with DeepSpeed.",
    ):
        assert dropped_meaning(distorted, fact).startswith("adds "), distorted
    assert dropped_meaning("Accelerate is supporting training on multiple GPUs with DeepSpeed.", fact) == ""
    assert dropped_meaning("Accelerate also supports training on several GPUs with DeepSpeed.", fact) == ""  # filler


def test_a_model_edit_keeps_every_content_word_and_adds_no_relative_clause():
    fact = "The divergence guard still runs first, so the resave of a mutated tokenizer is still rejected."
    assert dropped_meaning("The divergence guard runs first, so the resave of a tokenizer is still rejected.", fact)
    assert dropped_meaning(
        "The divergence guard still runs first, so the resave of a mutated tokenizer that is still rejected.", fact
    )
    assert (
        dropped_meaning(
            "The divergence guard still runs first, so a resave of a mutated tokenizer is still rejected.", fact
        )
        == ""
    )
