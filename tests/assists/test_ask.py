"""Ask your sources with a recording fake generator and the tiny QA model: verified, cited, declined, stored."""

from __future__ import annotations

from db.crud import usage as usage_crud
from db.crud.sources import create_collection
from db.session import session_scope
from editorial.assists import conversations, pipelines
from editorial.assists.ask import DECLINED, AskCallbacks, AskServices, ask
from editorial.chain.calls import ChatTarget
from tests.assists.conftest import fake_search
from tests.unit.chain_fakes import RecordingChatModel

SOURCES = {
    "httpx.md": "HTTPX is a fully featured HTTP client library for Python 3. It supports HTTP/1.1 and HTTP/2.",
    "rich.md": "Rich works with Linux, macOS and Windows. Rich requires Python 3.8 or later.",
    "alembic.md": "Alembic is a database migrations tool written by the author of SQLAlchemy.",
}


def _services(settings, engine, bow, answer: str | None = None, qa=None):
    model = RecordingChatModel(responder=lambda messages: answer or "")
    return (
        AskServices(
            settings=settings,
            engine=engine,
            embeddings=bow,
            chroma_name="unused",
            target=None if qa is not None else ChatTarget(model, "embedded", "fake-writer"),
            qa=qa,
            search=fake_search(SOURCES, bow, min_score=0.3),
        ),
        model,
    )


def _calls(engine):
    with session_scope(engine) as session:
        return usage_crud.list_calls(session=session)


def test_a_supported_answer_streams_with_its_citation_and_is_recorded(settings, engine, bow):
    services, model = _services(
        settings, engine, bow, "Rich requires Python 3.8 or later [1]. Rich is written by aliens on Mars."
    )
    streamed: list[str] = []
    answer = ask(
        services, "Which Python version does Rich require?", callbacks=AskCallbacks(on_sentence=streamed.append)
    )
    assert not answer.declined and answer.method == "phrased"
    assert answer.text == "Rich requires Python 3.8 or later [1]."
    assert streamed == [answer.text]
    assert answer.passages[1].source_name == "rich.md" and answer.cited == [1]
    assert answer.dropped == ["Rich is written by aliens on Mars."]  # not in the sources: never shown
    assert answer.report is not None and not answer.report.unsupported
    (call,) = _calls(engine)
    assert call.stage == "ask" and call.prompt_tokens > 0 and call.completion_tokens > 0
    assert "[1] Rich requires Python 3.8 or later." in model.prompts[0]  # only the evidence reaches the model
    assert "Linux" not in model.prompts[0]
    assert answer.with_citation() == "Rich requires Python 3.8 or later (source: rich.md)."


def test_an_uncited_sentence_gets_the_passage_it_comes_from(settings, engine, bow):
    services, _ = _services(settings, engine, bow, "HTTPX supports HTTP/1.1 and HTTP/2.")
    answer = ask(services, "Which HTTP versions does HTTPX support?")
    assert answer.text == "HTTPX supports HTTP/1.1 and HTTP/2 [1]." and answer.cited == [1]


def test_nothing_supported_quotes_the_closest_source_sentence(settings, engine, bow):
    services, _ = _services(settings, engine, bow, "Alembic was written in 1850 by Napoleon.")
    answer = ask(services, "Who wrote Alembic, the database migrations tool?")
    assert answer.method == "quoted" and not answer.declined
    assert answer.text == "Alembic is a database migrations tool written by the author of SQLAlchemy [1]."
    assert "Napoleon" not in answer.text


def test_unanswerable_questions_are_declined_clearly(settings, engine, bow):
    services, model = _services(settings, engine, bow, "Jupiter has 95 moons [1].")
    answer = ask(services, "How many moons does Jupiter have?")
    assert answer.declined and answer.text.startswith(DECLINED) and answer.method == "none"
    assert not model.prompts  # no passage is close: the model is not even asked
    services, _ = _services(settings, engine, bow, "The sources don't say.")
    answer = ask(services, "Does Rich support the Amiga operating system with Python?")
    assert answer.declined and answer.text == DECLINED


def test_follow_ups_keep_the_conversation_and_turns_are_stored(settings, engine, bow):
    with session_scope(engine) as session:
        collection_id = create_collection(session=session, name="Docs", chroma_name="ed-docs-1").id
    conversation = conversations.conversation_id(engine, user_id=None, collection_id=collection_id)
    assert conversation == conversations.conversation_id(engine, user_id=None, collection_id=collection_id)
    services, model = _services(settings, engine, bow, "Rich works with Linux, macOS and Windows [1].")
    first = ask(services, "Which operating systems does Rich work with?")
    conversations.store(engine, conversation=conversation, answer=first)
    stored = conversations.turns(engine, conversation=conversation)
    follow = ask(services, "And which Python version does Rich require?", conversations.history(stored))
    assert "Which operating systems does Rich work with?" in model.prompts[1]  # earlier turn in the prompt
    assert follow.passages[1].source_name == "rich.md"  # retrieval used the previous question too
    conversations.store(engine, conversation=conversation, answer=follow)
    stored = conversations.turns(engine, conversation=conversation)
    assert [t.question for t in stored] == [first.question, follow.question]
    assert stored[0].passages[1].source_name == "rich.md" and stored[0].report is not None
    assert stored[0].as_answer().cited == [1]
    assert conversations.clear(engine, conversation=conversation) == 2


def test_hostile_questions_are_bounded(settings, engine, bow):
    services, _ = _services(settings, engine, bow, "")
    assert ask(services, "   ").declined
    answer = ask(services, "Rich " * 5000)
    assert len(answer.question) <= 1000


def test_the_extractive_qa_model_answers_with_a_verified_source_sentence(settings, engine, bow, tiny_models):
    configured = settings.model_copy(update={"assist_qa_model": str(tiny_models["qa"])})
    qa = pipelines.load_task_model(configured, "qa")
    services, _ = _services(configured, engine, bow, qa=qa)
    answer = ask(services, "Which Python version does Rich require?")
    assert answer.method in ("extractive", "quoted", "none")  # a random model may find no span
    if not answer.declined:
        assert answer.report is not None and not answer.report.unsupported
        assert answer.cited and answer.passages[answer.cited[0]].source_name == "rich.md"
    (call,) = [c for c in _calls(engine) if c.backend == "transformers"]
    assert call.stage == "ask" and call.model == str(tiny_models["qa"]) and call.prompt_tokens > 0
