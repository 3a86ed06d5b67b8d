"""``ask``: a question over a collection, answered from its passages (streamed, verified, stored)."""

from __future__ import annotations

import argparse
import json
import sys

from db.crud import sources as source_crud
from db.crud import users as users_crud
from db.session import session_scope
from editorial.assists import conversations
from editorial.assists.ask import AskCallbacks, ask
from editorial.assists.services import ask_services
from editorial.datastore import open_database
from editorial.embeddings import build_embeddings
from editorial.errors import EditorialError
from editorial.settings import get_settings


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``ask`` command."""
    parser = subparsers.add_parser("ask", help="ask a collection a question; the answer cites its passages")
    parser.add_argument("--collection", required=True, help="collection name or id")
    parser.add_argument("question", help="the question")
    parser.add_argument("--user", help="whose conversation (username; default: a shared command-line one)")
    parser.add_argument("--new", action="store_true", help="start the conversation over (forget earlier turns)")
    parser.add_argument("--json", action="store_true", help="print the answer, passages and tokens as JSON")
    parser.set_defaults(handler=ask_command)


def _collection(engine, value: str):
    with session_scope(engine) as session:
        found = source_crud.get_collection(session=session, collection_id=int(value)) if value.isdigit() else None
        found = found or source_crud.get_collection_by_name(session=session, name=value)
        if found is None:
            names = ", ".join(c.name for c in source_crud.list_collections(session=session)) or "none yet"
            raise EditorialError(f"No collection '{value}' (collections: {names}).")
        return found


def _user_id(engine, username: str | None) -> int | None:
    if not username:
        return None
    with session_scope(engine) as session:
        user = users_crud.get_user_by_name(session=session, username=username)
    if user is None:
        raise EditorialError(f"No user '{username}'.")
    return user.id


def ask_command(args: argparse.Namespace) -> int:
    """Answer one question; follow-ups in the same collection (and user) see the earlier turns."""
    settings = get_settings()
    engine = open_database(settings)
    collection = _collection(engine, args.collection)
    conversation = conversations.conversation_id(
        engine, user_id=_user_id(engine, args.user), collection_id=collection.id
    )
    if args.new:
        conversations.clear(engine, conversation=conversation)
    history = conversations.history(conversations.turns(engine, conversation=conversation))
    services = ask_services(
        settings, engine, build_embeddings(settings), chroma_name=collection.chroma_name, collection_id=collection.id
    )
    streamed = AskCallbacks(on_sentence=lambda text: print(text, end=" ", flush=True))
    answer = ask(services, args.question, history, None if args.json else streamed)
    conversations.store(engine, conversation=conversation, answer=answer)
    if args.json:
        data = {
            "question": answer.question,
            "answer": answer.text,
            "declined": answer.declined,
            "method": answer.method,
            "cited": answer.cited,
            "passages": [p.model_dump() for p in answer.passages.values()],
            "supported_share": answer.report.supported_share if answer.report else None,
            "dropped": answer.dropped,
            "prompt_tokens": answer.prompt_tokens,
            "completion_tokens": answer.completion_tokens,
            "latency_ms": answer.latency_ms,
        }
        print(json.dumps(data, indent=2))
        return 0
    if answer.declined:
        print(answer.text, flush=True)
    else:
        print()
        for n in answer.cited:
            print(f"  [{n}] {answer.passages[n].label()}")
    tokens = answer.prompt_tokens + answer.completion_tokens
    print(f"({answer.method}, {tokens} tokens, {answer.latency_ms / 1000:.1f} s)", file=sys.stderr)
    return 0
