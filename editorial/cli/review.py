"""``review submit|approve|request-changes|comment --draft ID --as USER [--revision N] [--note …]``.

``approve`` needs ``--revision N``, the revision the reviewer read: it is refused when the draft
has changed since; and ``--acknowledge-unsupported`` when that revision has unsupported sentences.
"""

from __future__ import annotations

import argparse

from db.session import session_scope
from editorial import reviews
from editorial.cli.users import login_actor
from editorial.datastore import open_database
from editorial.settings import get_settings
from editorial.workflow import status_label

ACTIONS = {
    "submit": reviews.submit,
    "approve": reviews.approve,
    "request-changes": reviews.request_changes,
}


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``review`` command."""
    review = subparsers.add_parser("review", help="move a draft through review, or comment on it")
    sub = review.add_subparsers(dest="review_command", required=True, metavar="ACTION")
    for name in [*ACTIONS, "comment"]:
        command = sub.add_parser(name, help=f"{name.replace('-', ' ')} a draft")
        command.add_argument("--draft", type=int, required=True, help="draft id")
        command.add_argument("--as", dest="actor", required=True, help="who does it (password from EDITORIAL_PASSWORD)")
        command.add_argument("--note", default="", help="a note for the timeline (required to request changes)")
        if name == "comment":
            command.add_argument("--revision", type=int, help="comment on this revision number")
        elif name == "approve":
            command.add_argument("--revision", type=int, required=True, help="the revision you reviewed")
            command.add_argument(
                "--acknowledge-unsupported",
                action="store_true",
                help="approve although sentences are unsupported by the sources (recorded on the timeline)",
            )
        elif name == "request-changes":
            command.add_argument("--revision", type=int, help="the revision you reviewed")
        command.set_defaults(handler=review_command, action=name)


def review_command(args: argparse.Namespace) -> int:
    """Apply one review action as the authenticated user."""
    with session_scope(open_database(get_settings())) as session:
        actor = login_actor(session, args.actor)
        if args.action == "comment":
            reviews.add_comment(
                session=session, draft_id=args.draft, actor=actor, note=args.note, revision_number=args.revision
            )
            print(f"comment added to draft {args.draft}")
            return 0
        extra = {"revision_number": args.revision} if args.action != "submit" else {}
        if args.action == "approve":
            extra["acknowledge_unsupported"] = args.acknowledge_unsupported
        event = ACTIONS[args.action](session=session, draft_id=args.draft, actor=actor, note=args.note, **extra)
        print(f"draft {args.draft}: {status_label(event.from_status)} → {status_label(event.to_status)}")
    return 0
