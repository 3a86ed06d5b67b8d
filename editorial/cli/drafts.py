"""``drafts list``: the drafts, filtered and paginated like the Drafts page."""

from __future__ import annotations

import argparse
import json

from db.crud.drafts import DEFAULT_SORT, SORTS, count_drafts, list_drafts
from db.models import DraftStatus
from db.session import session_scope
from editorial.datastore import open_database
from editorial.logs import safe_text
from editorial.settings import get_settings
from editorial.workflow import status_label


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``drafts`` command."""
    drafts = subparsers.add_parser("drafts", help="list drafts")
    sub = drafts.add_subparsers(dest="drafts_command", required=True, metavar="ACTION")
    listing = sub.add_parser("list", help="list drafts, newest change first")
    listing.add_argument("--status", choices=[status.value for status in DraftStatus])
    listing.add_argument("--text", help="only drafts whose title or text contains this")
    listing.add_argument("--sort", choices=list(SORTS), default=DEFAULT_SORT)
    listing.add_argument("--limit", type=int, default=50)
    listing.add_argument("--offset", type=int, default=0)
    listing.add_argument("--json", action="store_true", help="print JSON")
    listing.set_defaults(handler=list_command)


def list_command(args: argparse.Namespace) -> int:
    """Print one page of drafts."""
    filters = {"status": args.status, "text": args.text}
    with session_scope(open_database(get_settings())) as session:
        total = count_drafts(session=session, **filters)
        rows = list_drafts(session=session, sort=args.sort, limit=args.limit, offset=args.offset, **filters)
    if args.json:
        print(
            json.dumps(
                {
                    "total": total,
                    "drafts": [
                        {
                            "id": row.id,
                            "title": row.title,
                            "status": DraftStatus(row.status).value,
                            "author": row.author,
                            "collection": row.collection,
                            "updated_at": row.updated_at.isoformat(),
                            "word_count": row.word_count,
                            "revision": row.version,
                        }
                        for row in rows
                    ],
                },
                indent=2,
            )
        )
        return 0
    for row in rows:
        print(
            f"{row.id:>6}  {status_label(row.status):<17} {row.word_count:>6} words  "
            f"{row.updated_at:%Y-%m-%d %H:%M}  {safe_text(row.author or '-'):<12} {safe_text(row.title)}"
        )
    shown = f"{args.offset + 1}-{args.offset + len(rows)}" if rows else "0"
    print(f"{shown} of {total} drafts")
    return 0
