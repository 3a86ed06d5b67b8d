"""``grounding --draft ID [--revision N] [--json]``: a revision's groundedness report."""

from __future__ import annotations

import argparse
import json

from db.crud import drafts as drafts_crud
from db.session import session_scope
from editorial.datastore import open_database
from editorial.errors import EditorialError
from editorial.grounding import store
from editorial.grounding.schemas import SentenceStatus
from editorial.settings import get_settings

MARKS = {SentenceStatus.SUPPORTED: "✓", SentenceStatus.UNSUPPORTED: "✗", SentenceStatus.NO_CLAIM: "·"}


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``grounding`` command."""
    command = subparsers.add_parser("grounding", help="show a draft's groundedness report (supported sentences)")
    command.add_argument("--draft", type=int, required=True, help="draft id")
    command.add_argument("--revision", type=int, help="revision number (default: the current one)")
    command.add_argument("--json", action="store_true", help="print the whole report as JSON")
    command.set_defaults(handler=grounding_command)


def grounding_command(args: argparse.Namespace) -> int:
    """Print the report of one revision of a draft (made now if the revision has none yet)."""
    with session_scope(open_database(get_settings())) as session:
        draft = drafts_crud.get_draft(session=session, draft_id=args.draft)
        if draft is None:
            raise EditorialError(f"There is no draft {args.draft}.")
        number = args.revision if args.revision is not None else draft.version
        revision = drafts_crud.get_revision(session=session, draft_id=draft.id, number=number)
        if revision is None:
            raise EditorialError(f"Draft {draft.id} has no revision {number}.")
        stored = store.load_report(session=session, revision_id=revision.id) or store.recheck_revision(
            session=session, revision=revision
        )
    if args.json:
        print(
            json.dumps(
                {
                    "draft_id": stored.draft_id,
                    "revision": stored.revision_number,
                    "checked_by": stored.checked_by,
                    "elapsed_ms": stored.elapsed_ms,
                    "supported_share": round(stored.report.supported_share, 4),
                    "counts": {status.value: stored.report.count(status) for status in SentenceStatus},
                    "acknowledged_at": stored.acknowledged_at.isoformat() if stored.acknowledged_at else None,
                    "report": stored.report.model_dump(mode="json"),
                },
                ensure_ascii=False,
                indent=2,
            )
        )
        return 0
    print(f"Draft {stored.draft_id}, revision {stored.revision_number}: {store.summary_line(stored)}")
    if stored.report.unknown_terms:
        print("Not found in the sources: " + ", ".join(stored.report.unknown_terms))
    for sentence in stored.report.sentences:
        text = " ".join(sentence.text.split())
        print(f"{MARKS[sentence.status]} {sentence.index + 1:>3}. {text}")
        if sentence.reason:
            print(f"        {sentence.reason}")
        passage = stored.report.passages.get(sentence.passage_n) if sentence.passage_n is not None else None
        if passage is not None:
            print(f"        [{passage.n}] {passage.label()} (score {sentence.score:.2f})")
    return 0
