"""`peerdraft` command line: one verb per module under engine/commands, all on the same engine."""

from __future__ import annotations

import argparse
import importlib
import logging
import sys

from engine import __version__
from engine.errors import PeerDraftError
from engine.settings import load_settings

# Each module defines register(subparsers): it adds its verb and sets `func(args, settings) -> int`.
COMMAND_MODULES = (
    "engine.commands.run",
    "engine.commands.doctor",
    "engine.commands.model",
    "engine.commands.generate",
    "engine.commands.export",
    "engine.commands.user",
    "engine.commands.backup",
    "engine.commands.index",
    "engine.commands.bib",
    "engine.commands.search",
    "engine.commands.check",
    "engine.commands.report",
    "engine.commands.draft",
)


def build_parser() -> argparse.ArgumentParser:
    """The full argument parser with every verb registered."""
    parser = argparse.ArgumentParser(prog="peerdraft", description="Grounded technical writing for peers.")
    parser.add_argument("--version", action="version", version=f"peerdraft {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug messages to stderr")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Parse arguments, build Settings, run one verb; domain errors become one clear line."""
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.WARNING,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        settings = load_settings()
        return int(args.func(args, settings) or 0)
    except PeerDraftError as exc:
        print(f"peerdraft: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("peerdraft: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
