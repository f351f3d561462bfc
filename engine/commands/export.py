"""`peerdraft export FILE.md --format md|html|bibtex|docx|pdf [--out PATH]`, or `--article ID` from the workspace."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from engine import export, publish
from engine.errors import PeerDraftError
from engine.records import Document
from engine.settings import Settings


def register(subparsers) -> None:
    parser = subparsers.add_parser("export", help="export an article as Markdown, standalone HTML, BibTeX, DOCX or PDF")
    parser.add_argument("file", nargs="?", type=Path, help="a Markdown draft with [n] citations and ## References")
    parser.add_argument("--article", type=int, help="export the latest version of this workspace article instead")
    parser.add_argument("--user", help="act as this user for --article (team mode; default: the local user)")
    parser.add_argument("--format", choices=export.FORMATS + publish.FORMATS, default="md")
    parser.add_argument("--out", type=Path, help="write here instead of standard output (needed for docx and pdf)")
    parser.set_defaults(func=run)


def run(args, settings: Settings) -> int:
    if (args.file is None) == (args.article is None):
        raise PeerDraftError("Give either a Markdown FILE or --article ID to export.",
                             "e.g. `peerdraft export draft.md --format html --out draft.html`.")
    reader = None  # who the export is for: --article acts as a user; a FILE is the operator's
    if args.article is not None:
        text, title, reader = _article_markdown(settings, args.article, args.user)
    else:
        if not args.file.is_file():
            raise PeerDraftError(f"{args.file} does not exist.", "Check the path of the Markdown draft.")
        text, title = args.file.read_text(encoding="utf-8"), None
    references = None
    if args.format in ("bibtex", *publish.FORMATS):
        # A shared article's reader gets no metadata of the owner's private uploads in the BibTeX.
        documents = [d for d in index_documents(settings) if reader is None or d.readable_by(reader)]
        references = export.with_documents(export.split_references(text)[1], documents)
    if args.format in publish.FORMATS:
        if args.out is None:
            raise PeerDraftError(f"A {args.format.upper()} file is binary, not for the terminal.",
                                 f"Add --out article.{args.format}.")
        data = publish.export_bytes(text, args.format, references, title=title)
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_bytes(data)
        print(f"wrote {args.out} ({args.format}, {len(data):,} bytes)", file=sys.stderr)
        return 0
    output = export.export_text(text, args.format, references, title=title)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(output, encoding="utf-8")
        print(f"wrote {args.out} ({args.format})", file=sys.stderr)
    else:
        sys.stdout.write(output)
    return 0


def _article_markdown(settings: Settings, article_id: int, user_name: str | None) -> tuple[str, str, str]:
    """(latest text, title, reader's name) of an article as `user_name` may see it (the store enforces access)."""
    from engine.auth import LOCAL_USER, local_user
    from engine.store import Store

    store = Store(settings.db_path)
    try:
        if user_name is None and settings.mode == "team":
            raise PeerDraftError("In team mode, say whose article this is.", "Add --user NAME.")
        user = local_user(store) if user_name in (None, LOCAL_USER) else store.user_by_name(user_name)
        if user is None:
            raise PeerDraftError(f"No user named {user_name!r}.", "List users with `peerdraft user list`.")
        article = store.get_article(user, article_id)
        version = store.latest_version(user, article_id)
        return (version.markdown if version else ""), article.title, user.name
    finally:
        store.close()


def index_documents(settings: Settings) -> list[Document]:
    """Documents of the live index generation, read from its files (no embedder needed); [] if none."""
    from engine.index import current_generation

    try:
        name = current_generation(settings.index_dir)
        if name is None:
            return []
        generation = settings.index_dir / name
        stored = json.loads((generation / "store.json").read_text(encoding="utf-8"))
        return [Document(**{**entry["document"], "authors": tuple(entry["document"].get("authors", ()))})
                for entry in stored.get("documents", [])]
    except (OSError, ValueError, KeyError, TypeError):
        return []
