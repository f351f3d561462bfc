"""`peerdraft search "QUERY"`: ranked passages from the corpus index, as text or JSON."""

from __future__ import annotations

import json
import textwrap

from engine.commands.index import tqdm_progress
from engine.index import ensure_default_corpus
from engine.retrieve import MODES, retrieve_passages
from engine.settings import Settings


def register(subparsers) -> None:
    parser = subparsers.add_parser("search", help="find passages in the corpus")
    parser.add_argument("query")
    parser.add_argument("--k", type=int, default=8, help="number of passages (default 8)")
    parser.add_argument("--mode", choices=MODES, default="hybrid")
    parser.add_argument("--mmr", action="store_true", help="diversify the passages (maximal marginal relevance)")
    parser.add_argument("--doc", action="append", dest="doc_ids", metavar="DOC_ID", help="only this document (repeatable)")
    parser.add_argument("--json", action="store_true", help="print a JSON list of hits on stdout")
    parser.set_defaults(func=run)


def run(args, settings: Settings) -> int:
    with tqdm_progress() as on_event:
        index = ensure_default_corpus(settings, on_event)
    passages = retrieve_passages(index, args.query, k=args.k, mode=args.mode, mmr=args.mmr, doc_ids=args.doc_ids)
    if args.json:
        hits = [{"title": p.title, "authors": list(p.authors), "year": p.year, "page": p.page, "section": p.section,
                 "score": round(p.score, 6), "text": p.text, "doc_id": p.doc_id, "chunk_id": p.chunk_id}
                for p in passages]
        print(json.dumps(hits, ensure_ascii=False, indent=2))
        return 0
    if not passages:
        print("No matching passages.")
    for rank, p in enumerate(passages, start=1):
        where = f"p. {p.page}" + (f", {p.section}" if p.section else "")
        print(f"{rank}. [{p.score:.3f}] {p.title} ({p.year or 'n.d.'}) — {where}  <{p.chunk_id}>")
        print(textwrap.indent(textwrap.fill(p.text, 100), "   "))
    return 0
