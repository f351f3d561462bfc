"""`peerdraft index [PATH ...] [--rebuild]`: ingest files or folders into the corpus index."""

from __future__ import annotations

import json
import shutil
import sys
import time
from contextlib import contextmanager
from dataclasses import asdict
from pathlib import Path
from typing import Iterator

from engine.embed import load_embedder
from engine.errors import IndexStateError
from engine.events import Event, OnEvent
from engine.index import CorpusIndex, default_corpus_dir, index_paths, open_index, restore_stored_uploads
from engine.settings import Settings


def register(subparsers) -> None:
    parser = subparsers.add_parser("index", help="add papers (PDF, Markdown, text, HTML) to the corpus index")
    parser.add_argument("paths", nargs="*", type=Path, metavar="PATH",
                        help="files or folders (default: the bundled corpus/ notes)")
    parser.add_argument("--rebuild", action="store_true",
                        help="re-embed every indexed chunk with the configured embedding model first")
    parser.add_argument("--json", action="store_true",
                        help="print one JSON object: each file's outcome, metadata and parse report")
    parser.set_defaults(func=run)


@contextmanager
def tqdm_progress() -> Iterator[OnEvent]:
    """An on_event callback drawing one tqdm bar per stage on stderr."""
    from tqdm import tqdm

    bars: dict[str, tqdm] = {}

    def on_event(event: Event) -> None:
        if event.total is None or event.done is None:
            return
        bar = bars.get(event.stage)
        if bar is None:
            bar = bars[event.stage] = tqdm(total=event.total, desc=event.stage, file=sys.stderr, leave=False)
        bar.total = event.total
        bar.n = event.done
        bar.set_postfix_str(event.message[-40:], refresh=True)

    try:
        yield on_event
    finally:
        for bar in bars.values():
            bar.close()


def _open_for_rebuild(settings: Settings, embedder) -> CorpusIndex:
    try:
        return open_index(settings, embedder, check_embedder=False)
    except IndexStateError as exc:
        # The stored chunks are unreadable: keep the broken files for inspection, start empty.
        aside = settings.index_dir.with_name(f"index.broken-{time.strftime('%Y%m%d-%H%M%S')}")
        shutil.move(str(settings.index_dir), str(aside))
        print(f"warning: {exc.reason} Moved it to {aside}; starting a new index.", file=sys.stderr)
        return open_index(settings, embedder)


def _outcome_json(outcome) -> dict:
    """One file's outcome as JSON: status, reason, the metadata found and the parse report."""
    item = {"name": outcome.name, "status": outcome.status, "reason": outcome.reason}
    if outcome.ingested:
        doc = outcome.ingested.document
        item.update(doc_id=doc.doc_id, title=doc.title, authors=list(doc.authors), year=doc.year, venue=doc.venue,
                    arxiv_id=doc.arxiv_id, chunks=len(outcome.ingested.chunks),
                    references_parsed=len(outcome.ingested.bibliography),
                    report=asdict(outcome.ingested.report) if outcome.ingested.report else None)
    return item


def run(args, settings: Settings) -> int:
    embedder = load_embedder(settings)
    restored = None
    with tqdm_progress() as on_event:
        if args.rebuild:
            index = _open_for_rebuild(settings, embedder)
            if len(index):
                index.rebuild(on_event)
                print(f"rebuilt  {len(index.documents)} documents, {len(index)} chunks re-embedded with {embedder.name}")
            # Uploads the index lost (a fallback generation, a fresh start) come back from their kept copies.
            restored = restore_stored_uploads(index, settings, on_event)
        else:
            index = open_index(settings, embedder)
        if index.recovered:
            print(f"warning: {index.recovered}", file=sys.stderr)
        report = index_paths(index, args.paths or [default_corpus_dir()], settings, on_event)
    if args.json:
        print(json.dumps({"files": [_outcome_json(o) for o in report.outcomes], "summary": report.summary(),
                          "documents": len(index.documents), "chunks": len(index)}, ensure_ascii=False, indent=2))
        return 0
    for outcome in (restored.outcomes if restored else []):
        print(f"{outcome.line()} (a stored upload)")
    for outcome in report.outcomes:
        print(outcome.line())
        parsed = outcome.ingested.report if outcome.ingested else None
        if parsed:
            print(f"         {parsed.describe()}")
    print(f"summary: {report.summary()}; index holds {len(index.documents)} documents, "
          f"{len(index)} chunks in {settings.index_dir}")
    return 0
