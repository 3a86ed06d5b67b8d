"""``python -m editorial``: the command-line interface.

Each sub-command lives in its own module with a ``register(subparsers)`` function that adds its
parser and sets ``handler`` (a function taking the parsed args and returning an exit code).
"""

from __future__ import annotations

import argparse
import importlib
import sys

from editorial.errors import EditorialError

COMMAND_MODULES = [
    "editorial.cli.setup",
    "editorial.cli.users",
    "editorial.cli.drafts",
    "editorial.cli.review",
    "editorial.cli.grounding",
    "editorial.cli.export",
    "editorial.cli.sources",
    "editorial.cli.chain",
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
        return int(args.handler(args) or 0)
    except EditorialError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
