"""Ask conversations: load the history a follow-up needs, store each answer with its passages and tokens."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine

from db.crud import ask as ask_crud
from db.session import session_scope
from editorial.assists.ask import HISTORY_TURNS, AskAnswer
from editorial.grounding.schemas import GroundednessReport, Passage


@dataclass(frozen=True)
class StoredTurn:
    """A stored question and answer, as pages and the CLI show it."""

    id: int
    question: str
    answer: str
    declined: bool
    method: str
    passages: dict[int, Passage]
    report: GroundednessReport | None
    prompt_tokens: int
    completion_tokens: int
    latency_ms: int

    def as_answer(self) -> AskAnswer:
        """The turn as an :class:`AskAnswer` (for copying into a draft)."""
        return AskAnswer(
            question=self.question,
            text=self.answer,
            declined=self.declined,
            passages=self.passages,
            report=self.report,
            method=self.method,
            prompt_tokens=self.prompt_tokens,
            completion_tokens=self.completion_tokens,
            latency_ms=self.latency_ms,
        )


def conversation_id(engine: Engine, *, user_id: int | None, collection_id: int) -> int:
    """The id of the user's conversation with the collection (created when missing)."""
    with session_scope(engine) as session:
        return ask_crud.get_or_create_conversation(session=session, user_id=user_id, collection_id=collection_id).id


def turns(engine: Engine, *, conversation: int) -> list[StoredTurn]:
    """Every stored turn of a conversation, oldest first."""
    with session_scope(engine) as session:
        rows = ask_crud.list_turns(session=session, conversation_id=conversation)
        return [
            StoredTurn(
                id=row.id,
                question=row.question,
                answer=row.answer,
                declined=row.declined,
                method=row.method,
                passages={int(p["n"]): Passage.model_validate(p) for p in row.passages or []},
                report=GroundednessReport.model_validate(row.report) if row.report else None,
                prompt_tokens=row.prompt_tokens,
                completion_tokens=row.completion_tokens,
                latency_ms=row.latency_ms,
            )
            for row in rows
        ]


def history(stored: list[StoredTurn]) -> list[tuple[str, str]]:
    """The recent answered turns a follow-up question sees (declined ones add nothing)."""
    return [(turn.question, turn.answer) for turn in stored if not turn.declined][-HISTORY_TURNS:]


def store(engine: Engine, *, conversation: int, answer: AskAnswer) -> int:
    """Store an answer as a new turn; return its id."""
    with session_scope(engine) as session:
        turn = ask_crud.add_turn(
            session=session,
            conversation_id=conversation,
            question=answer.question,
            answer=answer.text,
            declined=answer.declined,
            method=answer.method,
            passages=[p.model_dump() for p in answer.passages.values()],
            report=answer.report.model_dump(mode="json") if answer.report else None,
            dropped=answer.dropped[:20],
            prompt_tokens=answer.prompt_tokens,
            completion_tokens=answer.completion_tokens,
            latency_ms=answer.latency_ms,
        )
        return turn.id


def clear(engine: Engine, *, conversation: int) -> int:
    """Forget a conversation's turns; return how many were deleted."""
    with session_scope(engine) as session:
        return ask_crud.clear_turns(session=session, conversation_id=conversation)
