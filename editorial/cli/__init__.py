"""``python -m editorial``: the command-line interface.

Each sub-command lives in its own module with a ``register(subparsers)`` function that adds its
parser and sets ``handler`` (a function taking the parsed args and returning an exit code).
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys

from editorial.errors import EditorialError
from editorial.logs import configure_logging, log_path, safe_text
from editorial.settings import get_settings

logger = logging.getLogger("editorial.cli")

COMMAND_MODULES = [
    "editorial.cli.setup",
    "editorial.cli.users",
    "editorial.cli.drafts",
    "editorial.cli.review",
    "editorial.cli.grounding",
    "editorial.cli.export",
    "editorial.cli.sources",
    "editorial.cli.chain",
    "editorial.cli.ask",
    "editorial.cli.worker",
]


def build_parser() -> argparse.ArgumentParser:
    """The top-level parser with every registered sub-command."""
    parser = argparse.ArgumentParser(prog="python -m editorial", description="Editorial Desk command line.")
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module_name in COMMAND_MODULES:
        importlib.import_module(module_name).register(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run one command; user-facing errors print one line to stderr and exit 1."""
    args = build_parser().parse_args(argv)
    try:
        if get_settings().resolved_data_dir.is_dir():
            configure_logging(get_settings())
        return int(args.handler(args) or 0)
    except EditorialError as exc:
        print(f"error: {safe_text(exc, 2000)}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # one line for people, the traceback in the log
        logger.exception("command %s failed", args.command)
        where = log_path(get_settings())
        print(f"error: unexpected {type(exc).__name__}; the traceback is in {where}", file=sys.stderr)
        return 1
