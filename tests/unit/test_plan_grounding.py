"""Grounded plans: titles, headings, points and tags checked against the evidence."""

from __future__ import annotations

from editorial.chain.plan_grounding import ground_blueprint
from editorial.chain.schemas import Blueprint, Evidence, Section

EVIDENCE = [
    Evidence(
        n=1,
        text="Chroma is the open-source embedding database. Collections are queried by similarity.",
        source_id=1,
        source_name="chromadb.md",
        location="Chroma > Querying collections",
    ),
    Evidence(
        n=2,
        text="Embeddings are stored with metadata; metadata filters narrow a query.",
        source_id=1,
        source_name="chromadb.md",
        location="Chroma > Metadata filters",
    ),
]


def blueprint(headings, titles=("Chroma: Storing Embeddings",)):
    sections = [Section(heading="Introduction", kind="intro", words=60)]
    sections += [Section(heading=h, key_points=[h], words=80) for h in headings]
    sections += [Section(heading="Conclusion", kind="conclusion", words=60)]
    total = sum(s.words for s in sections)
    return Blueprint(title_candidates=list(titles), sections=sections, target_words=total, tags=["chroma", "lloyd"])


def test_supported_plan_is_kept():
    bp, notes = ground_blueprint(blueprint(["Querying collections by similarity"]), "Chroma embeddings", EVIDENCE)
    assert bp.title == "Chroma: Storing Embeddings" and notes == []
    assert [s.heading for s in bp.sections] == ["Introduction", "Querying collections by similarity", "Conclusion"]
    assert bp.tags == ["chroma"]


def test_invented_title_is_dropped_and_unsupported_heading_replaced_by_a_source_heading():
    bp, notes = ground_blueprint(
        blueprint(["Lloyd's Lazy Llama", "Querying collections by similarity"], titles=["Lloyd's Lazy Llama"]),
        "Chroma embeddings",
        EVIDENCE,
    )
    assert "Lloyd" not in bp.title and "Chroma" in bp.title
    headings = [s.heading for s in bp.sections]
    assert "Lloyd's Lazy Llama" not in headings and "Metadata filters" in headings
    assert any("replaced by the source heading" in n for n in notes)
    assert sum(s.words for s in bp.sections) == bp.target_words


def test_heading_without_support_or_replacement_is_dropped_and_budgets_still_sum():
    few = [EVIDENCE[0].model_copy(update={"location": ""})]
    supported = ["Querying collections by similarity", "Chroma embedding database", "Open-source embedding database"]
    bp, notes = ground_blueprint(blueprint([*supported, "Baking sourdough bread at home"]), "Chroma", few)
    assert [s.heading for s in bp.sections] == ["Introduction", *supported, "Conclusion"]
    assert any("was dropped" in n for n in notes)
    assert sum(s.words for s in bp.sections) == bp.target_words


def test_a_plan_too_short_to_lose_a_section_keeps_it_for_the_editor():
    few = [EVIDENCE[0].model_copy(update={"location": ""})]
    bp, notes = ground_blueprint(blueprint(["Querying collections", "Baking sourdough bread at home"]), "Chroma", few)
    assert "Baking sourdough bread at home" in [s.heading for s in bp.sections]
    assert any("kept for the editor to fix" in n for n in notes)


def test_a_replacement_heading_is_a_section_of_a_source_not_its_title_and_loses_its_emoji():
    evidence = [
        Evidence(
            n=1,
            text="Streamlit turns data scripts into web apps.",
            source_id=1,
            source_name="streamlit.md",
            location="Welcome to Streamlit 👋",
        ),
        Evidence(
            n=2,
            text="Streamlit apps rerun the script on every change.",
            source_id=1,
            source_name="streamlit.md",
            location="Welcome to Streamlit 👋 > Why choose Streamlit? 🚀",
        ),
        Evidence(
            n=3,
            text="Streamlit has a cache for data.",
            source_id=2,
            source_name="streamlit-guide.md",
            location="streamlit API guide > streamlit.cache_data",
        ),
    ]
    plan = blueprint(["Lloyd's Lazy Llama", "Baking sourdough bread at home", "Querying Streamlit"])
    bp, _notes = ground_blueprint(plan, "data apps with Streamlit", evidence)
    headings = [s.heading for s in bp.sections]
    assert "Why choose Streamlit?" in headings
    assert not any("Welcome" in h or "API guide" in h or "👋" in h for h in headings), headings


def test_a_heading_that_names_another_product_than_the_topic_is_replaced():
    evidence = [
        Evidence(
            n=1,
            text="TensorFlow and PyTorch both train models on GPUs.",
            source_id=1,
            source_name="torch.md",
            location="PyTorch > Tensors on GPUs",
        ),
        Evidence(
            n=2,
            text="PyTorch tensors record operations for autograd.",
            source_id=1,
            source_name="torch.md",
            location="PyTorch > Autograd mechanics",
        ),
    ]
    plan = blueprint(["How to use TensorFlow to train models on GPUs", "PyTorch tensors and autograd"])
    bp, notes = ground_blueprint(plan, "tensors and autograd in PyTorch", evidence)
    headings = [s.heading for s in bp.sections]
    assert "PyTorch tensors and autograd" in headings
    assert not any("TensorFlow" in h for h in headings), headings
    assert any("names what the topic does not: TensorFlow" in n for n in notes)


def test_a_heading_with_an_invented_name_that_cannot_be_dropped_becomes_the_topic():
    few = [EVIDENCE[0].model_copy(update={"location": ""})]
    plan = blueprint(["Querying collections", "What is Tensorflow's AutoGradient feature?"])
    bp, notes = ground_blueprint(plan, "collections in Chroma", few)
    headings = [s.heading for s in bp.sections]
    assert "Collections in Chroma" in headings and not any("AutoGradient" in h for h in headings), headings
    assert any("was replaced by the topic" in n for n in notes)
