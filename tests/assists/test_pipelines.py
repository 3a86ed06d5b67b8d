"""The task-model path of every assist, on tiny models built by the tests (real loading and inference code)."""

from __future__ import annotations

import pytest

from db.crud import usage as usage_crud
from db.session import session_scope
from editorial.assists import pipelines
from editorial.assists.suggest import EditorServices, suggest_description, suggest_tags
from editorial.assists.tone import check_tone
from editorial.frontmatter import validate_front_matter

POST = """# Retrieval notes

Chroma stores embeddings for retrieval and search. LangChain builds chains of model calls for applications.

## Parsing

The tokenizer splits text into pieces before the model reads it. This is absolutely terrible and broken!
"""


def _with(settings, task: str, folder) -> object:
    return settings.model_copy(update={pipelines.TASKS[task].field: str(folder)})


def _calls(engine, stage: str):
    with session_scope(engine) as session:
        return [c for c in usage_crud.list_calls(session=session) if c.stage == stage]


def test_every_task_loads_once_and_runs(settings, tiny_models):
    context = "Chroma stores embeddings for retrieval and search. LangChain builds chains."
    for task, folder in tiny_models.items():
        configured = _with(settings, task, folder)
        model = pipelines.load_task_model(configured, task)
        assert model is pipelines.load_task_model(configured, task), "loaded once, then cached"
        assert model.count("Chroma stores embeddings") >= 3
    qa = pipelines.load_task_model(_with(settings, "qa", tiny_models["qa"]), "qa")
    span = pipelines.answer_span(qa, "What stores embeddings?", context)
    assert span is None or (0 <= span.start < span.end <= len(context) and span.text == context[span.start : span.end])
    summarizer = pipelines.load_task_model(
        _with(settings, "summarization", tiny_models["summarization"]), "summarization"
    )
    assert isinstance(pipelines.summarize(summarizer, context, max_new_tokens=6), str)
    ner = pipelines.load_task_model(_with(settings, "ner", tiny_models["ner"]), "ner")
    for word, group, score in pipelines.entities(ner, context):
        assert word and group in {"ORG", "MISC"} and 0 <= score <= 1
    sentiment = pipelines.load_task_model(_with(settings, "sentiment", tiny_models["sentiment"]), "sentiment")
    labels = pipelines.classify(sentiment, ["Chroma stores embeddings.", "It is broken."])
    assert [label for label, _ in labels] and {label for label, _ in labels} <= {"NEGATIVE", "POSITIVE"}
    zero = pipelines.load_task_model(_with(settings, "zero_shot", tiny_models["zero_shot"]), "zero_shot")
    scores = pipelines.zero_shot(zero, context, ["formal", "casual"], "The tone of this text is {}.")
    assert set(scores) == {"formal", "casual"} and abs(sum(scores.values()) - 1) < 1e-4


def test_a_model_that_is_not_available_offline_gives_one_line_naming_it(settings):
    configured = settings.model_copy(update={"assist_ner_model": "someone/not-a-cached-model", "hf_hub_offline": True})
    with pytest.raises(pipelines.TaskModelUnavailable) as caught:
        pipelines.load_task_model(configured, "ner")
    message = str(caught.value)
    assert "someone/not-a-cached-model" in message and "\n" not in message and "offline" in message


@pytest.mark.parametrize("task", sorted(pipelines.TASKS))
def test_every_task_names_a_missing_model_in_one_line(settings, tmp_path, task):
    """question-answering, summarization, token-, text- and zero-shot-classification: a missing id or folder."""
    for name in (f"someone/missing-{task}-model", str(tmp_path / f"missing-{task}-folder")):
        configured = settings.model_copy(update={pipelines.TASKS[task].field: name, "hf_hub_offline": True})
        with pytest.raises(pipelines.TaskModelUnavailable) as caught:
            pipelines.load_task_model(configured, task)
        message = str(caught.value)
        assert f"'{name}'" in message and "\n" not in message and "not available offline" in message


def test_blank_means_bundled_and_overrides_are_saved(settings, engine, tiny_models):
    assert pipelines.load_task_model(settings, "qa") is None
    pipelines.save_task_override(engine, "qa", str(tiny_models["qa"]))
    applied = pipelines.apply_task_overrides(settings, pipelines.load_task_overrides(engine))
    assert applied.assist_qa_model == str(tiny_models["qa"])
    pipelines.save_task_override(engine, "qa", "  ")
    assert pipelines.load_task_overrides(engine) == {}


def test_description_through_the_summarization_model_is_verified_and_recorded(settings, engine, bow, tiny_models):
    services = EditorServices(
        settings=_with(settings, "summarization", tiny_models["summarization"]), engine=engine, embeddings=bow
    )
    found = suggest_description(services, title="Retrieval notes", body=POST, current="", draft_id=None)
    assert found.suggested and len(found.suggested) <= 150 and "\n" not in found.suggested
    assert validate_front_matter({"title": "t", "description": found.suggested}).get("description") is None
    models = {c.model for c in _calls(engine, "assist description")}
    assert str(tiny_models["summarization"]) in models  # the pipeline ran and was recorded
    # the random model's words are not in the post: the verifier refuses them, the post's own sentence is used
    assert found.suggested.rstrip("…").rstrip(".") in POST.replace("\n", " ") or found.method == str(
        tiny_models["summarization"]
    )


def test_tags_through_the_ner_model_follow_devto_rules(settings, engine, bow, tiny_models):
    services = EditorServices(settings=_with(settings, "ner", tiny_models["ner"]), engine=engine, embeddings=bow)
    found = suggest_tags(services, title="Retrieval notes", body=POST, current=["python"])
    assert found.current == ["python"]
    assert 1 <= len(found.suggested) <= 4
    assert all(tag.isalnum() and tag.islower() and len(tag) <= 30 for tag in found.suggested)
    assert validate_front_matter({"title": "t", "tags": found.suggested}).get("tags") is None
    assert str(tiny_models["ner"]) in {c.model for c in _calls(engine, "assist tags")}


@pytest.mark.parametrize("task", ["zero_shot", "sentiment"])
def test_tone_through_a_classifier_reports_each_section(settings, engine, bow, tiny_models, task):
    report = check_tone(_with(settings, task, tiny_models[task]), engine, bow, body=POST, tone="practical")
    assert [s.heading for s in report.sections] == ["Retrieval notes", "Parsing"]
    assert report.sections[0].sentences == 2 and report.sections[1].sentences == 2
    for section in report.sections:
        for item in section.off:
            assert item.sentence in POST and item.reads_as != "practical"
    assert str(tiny_models[task]) in report.method
    (call,) = _calls(engine, "assist tone")
    assert call.backend == "transformers" and call.prompt_tokens > 0
