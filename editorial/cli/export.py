"""``export --draft ID [--draft ID …] --out DIR --as USER [--zip NAME] [--force]``."""

from __future__ import annotations

import argparse
from pathlib import Path

from db.session import session_scope
from editorial.cli.users import login_actor
from editorial.datastore import open_database
from editorial.export import build_zip, export_drafts, slugify, write_exports
from editorial.settings import get_settings


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``export`` command."""
    export = subparsers.add_parser("export", help="write approved drafts as dev.to Markdown (.md or .zip)")
    export.add_argument("--draft", type=int, action="append", required=True, help="draft id (repeat for several)")
    export.add_argument("--out", type=Path, required=True, help="folder to write to")
    export.add_argument("--as", dest="actor", required=True, help="who exports (password from EDITORIAL_PASSWORD)")
    export.add_argument("--zip", metavar="NAME", help="write one zip archive with this name instead of .md files")
    export.add_argument("--force", action="store_true", help="export drafts that are not approved (admins; recorded)")
    export.set_defaults(handler=export_command)


def export_command(args: argparse.Namespace) -> int:
    """Export, record on the timelines, and print the written paths."""
    with session_scope(open_database(get_settings())) as session:
        actor = login_actor(session, args.actor)
        where = str(args.out.resolve())
        posts = export_drafts(session=session, draft_ids=args.draft, actor=actor, force=args.force, where=where)
        if args.zip:
            args.out.mkdir(parents=True, exist_ok=True)
            path = args.out / f"{slugify(args.zip.removesuffix('.zip'), fallback='drafts')}.zip"
            path.write_bytes(build_zip(posts))
            paths = [path]
        else:
            paths = write_exports(posts, args.out)
    for path in paths:
        print(path)
    return 0
