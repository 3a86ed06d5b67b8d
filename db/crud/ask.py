"""Persistence of Ask conversations: one per user and collection, with their turns."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session, col, select

from db.models import AskConversation, AskTurn, utcnow


def get_or_create_conversation(*, session: Session, user_id: int | None, collection_id: int) -> AskConversation:
    """The conversation of ``user_id`` with ``collection_id``, created when missing."""
    found = session.exec(
        select(AskConversation).where(
            AskConversation.user_id == user_id, AskConversation.collection_id == collection_id
        )
    ).first()
    if found is None:
        found = AskConversation(user_id=user_id, collection_id=collection_id)
        session.add(found)
        session.flush()
    return found


def add_turn(*, session: Session, conversation_id: int, **fields: Any) -> AskTurn:
    """Store one answered (or declined) question; fields of :class:`AskTurn`."""
    turn = AskTurn(conversation_id=conversation_id, **fields)
    session.add(turn)
    conversation = session.get(AskConversation, conversation_id)
    if conversation is not None:
        conversation.updated_at = utcnow()
        session.add(conversation)
    session.flush()
    return turn


def list_turns(*, session: Session, conversation_id: int, limit: int = 200) -> list[AskTurn]:
    """The conversation's turns, oldest first (the newest ``limit``)."""
    rows = session.exec(
        select(AskTurn).where(AskTurn.conversation_id == conversation_id).order_by(col(AskTurn.id).desc()).limit(limit)
    ).all()
    return list(reversed(rows))


def clear_turns(*, session: Session, conversation_id: int) -> int:
    """Delete every turn of a conversation (start over); return how many."""
    rows = session.exec(select(AskTurn).where(AskTurn.conversation_id == conversation_id)).all()
    for row in rows:
        session.delete(row)
    session.flush()
    return len(rows)
