"""`peerdraft bib FILE.bib|FILE.json [--user NAME] [--dry-run] [--json]`: metadata from a Zotero export."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from engine.errors import PeerDraftError
from engine.settings import Settings


def register(subparsers) -> None:
    parser = subparsers.add_parser("bib", help="fill or correct document metadata from a BibTeX or CSL-JSON file")
    parser.add_argument("file", type=Path, help="a .bib (BibTeX) or .json (CSL JSON) export, e.g. from Zotero")
    parser.add_argument("--user", help="act as this user (team mode; default: the local admin, who manages the "
                                       "shared corpus)")
    parser.add_argument("--dry-run", action="store_true", help="say what would change, change nothing")
    parser.add_argument("--json", action="store_true", help="print the outcome per entry as JSON")
    parser.set_defaults(func=run)


def run(args, settings: Settings) -> int:
    from engine.auth import LOCAL_USER, local_user
    from engine.index import open_index
    from engine.ingest_bib import import_bibliography
    from engine.store import Store

    if not args.file.is_file():
        raise PeerDraftError(f"{args.file} does not exist.", "Give the path of a .bib or CSL .json file.")
    store = Store(settings.db_path)
    try:
        if args.user is None and settings.mode == "team":
            raise PeerDraftError("In team mode, say whose documents to update.",
                                 "Add --user NAME (an admin updates the shared corpus).")
        user = local_user(store) if args.user in (None, LOCAL_USER) else store.user_by_name(args.user)
        if user is None:
            raise PeerDraftError(f"No user named {args.user!r}.", "List users with `peerdraft user list`.")
        index = open_index(settings)
        report = import_bibliography(index, user, args.file.read_bytes(), args.file.name, dry_run=args.dry_run)
    finally:
        store.close()
    if args.json:
        print(json.dumps([{"key": m.entry.key, "title": m.entry.title, "outcome": m.outcome,
                           "matched_by": m.matched_by, "doc_id": m.document.doc_id if m.document else None,
                           "message": m.message} for m in report.matches], indent=2))
    else:
        for match in report.matches:
            target = f" -> {match.document.doc_id}" if match.document else ""
            how = f" by {match.matched_by}" if match.matched_by else ""
            print(f"{match.outcome:12} {match.entry.key or match.entry.title[:40]}{target}{how}"
                  + (f": {match.message}" if match.message else ""))
        for skipped in report.skipped:
            print(f"skipped      {skipped}", file=sys.stderr)
        print(("dry run: " if args.dry_run else "") + "summary: " + report.summary())
    return 0
