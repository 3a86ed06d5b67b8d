from __future__ import annotations

import pytest
from langchain_core.runnables import RunnableLambda
from pydantic import Field

from editorial.chain.calls import CallSite, ChatTarget
from editorial.chain.plan import (
    PlanOutline,
    PlanRequest,
    allocate_budgets,
    blueprint_problems,
    parse_fields,
    parse_headings,
    parse_points,
    plan_blueprint,
    rescale_budgets,
)
from editorial.chain.research import research
from editorial.chain.schemas import MIN_SECTION_WORDS, Blueprint, Section, default_questions
from tests.unit.chain_fakes import RecordingChatModel, fake_search, good_responder, last_user

TOPIC = "retrieval for documentation"


def _research():
    return research(fake_search(), default_questions(TOPIC))


def test_parse_headings_accepts_lists_and_drops_prose_and_frames():
    text = (
        "Here are the headings:\n1. Why Chunk Size Matters\n2) **Embedding Models Compared**\n"
        "- Introduction\n* Evaluating Retrieval Quality:\nThe world is increasingly reliant on technology that can "
        "make our lives easier.\n3. Why chunk size matters\n## Scaling the Index"
    )
    assert parse_headings(text, TOPIC) == [
        "Why Chunk Size Matters",
        "Embedding Models Compared",
        "Evaluating Retrieval Quality",
        "Scaling the Index",
    ]


def test_parse_fields_and_points():
    fields = parse_fields("**Title**: A Good Title Here\nDescription - One line.\nnoise\nTitle: second")
    assert fields == {"title": "A Good Title Here", "description": "One line."}
    assert parse_points("- one point here\n- two point here\n- one point here") == ["one point here", "two point here"]
    prose = "Chunking decides what the retriever can find. It also changes cost a lot over time."
    assert parse_points(prose) == [
        "Chunking decides what the retriever can find",
        "It also changes cost a lot over time",
    ]


def test_budgets_sum_to_target_and_rescale_keeps_minimum():
    sections = [Section(heading="Intro", kind="intro")] + [Section(heading=f"S{i}") for i in range(4)]
    sections.append(Section(heading="End", kind="conclusion"))
    allocated = allocate_budgets(sections, 1500)
    assert sum(s.words for s in allocated) == 1500
    assert allocated[0].words == 150 and allocated[-1].words == 150
    rescaled = rescale_budgets(allocated, 700)
    assert sum(s.words for s in rescaled) == 700
    assert min(s.words for s in rescaled) >= MIN_SECTION_WORDS


def test_plan_from_a_well_behaved_model_is_valid_and_lean():
    model = RecordingChatModel(responder=good_responder)
    outcome = plan_blueprint(
        ChatTarget(model, "embedded", "fake"), PlanRequest(topic=TOPIC, target_words=1500), _research(), site=CallSite()
    )
    bp = outcome.blueprint
    assert not outcome.is_fallback and outcome.repairs == 0
    assert [s.heading for s in bp.sections] == [
        "Introduction",
        "Why Chunk Size Matters",
        "Embedding Models Compared",
        "Evaluating Retrieval Quality",
        "Scaling the Index",
        "Conclusion",
    ]
    assert bp.title == "Retrieval That Works: A Field Guide"
    assert bp.budget_total == 1500 and blueprint_problems(bp) == []
    assert 1 <= len(bp.tags) <= 4 and all(t.isalnum() and t.islower() for t in bp.tags)
    assert all(s.key_points for s in bp.sections)
    assert all(s.evidence for s in bp.sections)
    assert bp.takeaways == ["Measure recall", "Tune chunk size"]
    # headings, framing, one call per body section, takeaways; every prompt short
    assert len(model.prompts) == 1 + 1 + 4 + 1
    assert max(len(p.split()) for p in model.prompts) < 150


def test_unusable_headings_are_repaired_once():
    answers = iter(["The world is increasingly reliant on technology that can make our lives easier."])

    def responder(messages):
        if "section headings" in last_user(messages) and "numbered 1 to" not in last_user(messages):
            return next(answers)
        return good_responder(messages)

    model = RecordingChatModel(responder=responder)
    outcome = plan_blueprint(ChatTarget(model), PlanRequest(topic=TOPIC), _research(), site=CallSite())
    assert not outcome.is_fallback and outcome.repairs == 1
    assert any("asked again" in note for note in outcome.notes)
    assert len(outcome.blueprint.sections) == 6


def test_plan_that_stays_unusable_falls_back_to_the_questions_and_says_so():
    model = RecordingChatModel(responder=lambda messages: "I am a small model and I like to talk in sentences.")
    found = _research()
    outcome = plan_blueprint(ChatTarget(model), PlanRequest(topic=TOPIC, target_words=1200), found, site=CallSite())
    bp = outcome.blueprint
    assert outcome.is_fallback and bp.is_fallback
    assert "Fallback outline" in outcome.notes[0]
    assert [s.heading for s in bp.sections][1:-1] == [
        "Key concepts of retrieval for documentation",
        "First steps with retrieval for documentation",
        "Main features of retrieval for documentation",
        "Common use cases of retrieval for documentation",
    ]
    assert bp.budget_total == 1200 and blueprint_problems(bp) == []
    assert len(model.prompts) == 2  # the headings call and its repair; nothing more is asked


class StructuredFake(RecordingChatModel):
    outlines: list = Field(default_factory=list)

    def with_structured_output(self, schema, **kwargs):
        def answer(messages):
            self.prompts.append(str(messages[-1].content))
            item = self.outlines.pop(0)
            if isinstance(item, Exception):
                raise item
            return item

        return RunnableLambda(answer)


def _outline(n_sections: int) -> dict:
    return {
        "title_candidates": ["Retrieval, Measured", "Another"],
        "description": "How to measure retrieval.",
        "tags": ["RAG", "search!", "llm", "python", "extra"],
        "angle": "measure first",
        "value": "a checklist",
        "sections": [{"heading": f"Part {i}", "key_points": ["a", "b"]} for i in range(n_sections)],
        "conclusion": "Measure.",
        "takeaways": ["one", "two"],
    }


def test_structured_output_backend_with_one_repair():
    model = StructuredFake(responder=good_responder, outlines=[_outline(1), PlanOutline.model_validate(_outline(4))])
    outcome = plan_blueprint(
        ChatTarget(model, "openai", "served", structured_output=True),
        PlanRequest(topic=TOPIC),
        _research(),
        site=CallSite(),
    )
    assert not outcome.is_fallback and outcome.repairs == 1
    assert outcome.blueprint.tags == ["rag", "search"]  # "llm" and "python" occur in no passage: grounded away
    assert len(outcome.blueprint.sections) == 5  # "Part 3" has no supporting passage: dropped, and said so
    assert any("'Part 3' was dropped" in note for note in outcome.notes)
    assert "unusable" in model.prompts[1]


def test_structured_output_refused_falls_back_to_piecewise_plan():
    model = StructuredFake(responder=good_responder, outlines=[NotImplementedError("no json schema")])
    outcome = plan_blueprint(
        ChatTarget(model, "openai", "served", structured_output=True),
        PlanRequest(topic=TOPIC),
        _research(),
        site=CallSite(),
    )
    assert not outcome.is_fallback
    assert outcome.blueprint.title == "Retrieval That Works: A Field Guide"


def test_blueprint_rejects_duplicate_headings_and_cleans_tags():
    with pytest.raises(ValueError):
        Blueprint(title_candidates=["t"], sections=[Section(heading="A"), Section(heading="a")])
    bp = Blueprint(title_candidates=["t"], sections=[Section(heading="A")], tags=["C++", "Go", "go", "", "x", "y"])
    assert bp.tags == ["c", "go", "x", "y"]


def test_parsing_drops_cut_lines_near_duplicates_and_repeated_markers():
    text = (
        "1. What Is RAG and Why Use It\n2. What is RAG - and why use it?\n3. Chunking Your Documents\n4. Evaluating Ret"
    )
    assert parse_headings(text, truncated=True) == ["What Is RAG and Why Use It", "Chunking Your Documents"]
    assert parse_points("- - first point here\n- second point, cut", truncated=True) == ["first point here"]
    assert parse_points("-# The ability to retrieve is key to RAG systems.") == [
        "The ability to retrieve is key to RAG systems"
    ]
    assert parse_points("A finished sentence about chunks. And a sentence that was cut by the") == [
        "A finished sentence about chunks"
    ]
    from editorial.chain.plan import _valid_title

    assert _valid_title('Title: "The Art of Retrieval"') == "The Art of Retrieval"
    assert (
        _valid_title('Tensors and Autograd in PyTorch" Description: A primer to understanding PyTorch.')
        == "Tensors and Autograd in PyTorch"
    )
