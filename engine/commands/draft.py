"""`peerdraft draft --topic "…" --audience "…"`: brief → outline → evidence → draft → verify, headless."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from engine.events import Event
from engine.settings import Settings


def register(subparsers) -> None:
    parser = subparsers.add_parser("draft", help="plan, draft and verify an article from the corpus")
    parser.add_argument("--topic", required=True, help="what the article is about")
    parser.add_argument("--audience", default="ML/AI engineers and researchers", help="who the peers are")
    parser.add_argument("--goal", default="", help="what the reader should be able to do afterwards")
    parser.add_argument("--key-point", action="append", default=[], dest="key_points",
                        help="a point to cover (repeatable); each becomes a core section")
    parser.add_argument("--assume", action="append", default=[], dest="assumed_terms",
                        help="a term the audience already knows (repeatable; not defined in the background)")
    parser.add_argument("--must-cite", action="append", default=[], dest="must_cite", help="a doc_id to cite")
    parser.add_argument("--length", type=int, default=800, metavar="WORDS", help="target length in words")
    parser.add_argument("--sections", type=int, default=None, metavar="N",
                        help="draft at most N sections (core sections first)")
    parser.add_argument("--strict", action=argparse.BooleanOptionalAction, default=None,
                        help="replace unsupported sentences with evidence (default: the strict setting)")
    parser.add_argument("--out", type=Path, default=None, metavar="FILE.md", help="write the Markdown here")
    parser.add_argument("--json", action="store_true", help="print outline, sections, citations and checks as JSON")
    parser.set_defaults(func=run)


def run(args, settings: Settings) -> int:
    from tqdm import tqdm

    from engine.draft import write_article
    from engine.embed import load_embedder
    from engine.evidence import index_retriever
    from engine.index import ensure_default_corpus
    from engine.llm import GenerationParams, load_llm
    from engine.plan import model_can_plan
    from engine.records import Brief
    from engine.verify.judge import judge_for

    if args.length <= 0 or (args.sections is not None and args.sections <= 0):
        print("peerdraft: error: --length and --sections must be positive numbers.", file=sys.stderr)
        return 2
    strict = settings.strict if args.strict is None else args.strict
    brief = Brief(topic=args.topic, audience=args.audience, goal=args.goal, length_words=args.length,
                  key_points=tuple(args.key_points), assumed_terms=tuple(args.assumed_terms),
                  must_cite=tuple(args.must_cite))
    bars: dict[str, tqdm] = {}

    def on_event(event: Event) -> None:
        bar = bars.get(event.stage)
        if bar is None:
            bar = bars[event.stage] = tqdm(total=event.total, desc=event.stage, unit="step", file=sys.stderr,
                                           leave=True, dynamic_ncols=True)
        if event.total and bar.total != event.total:
            bar.total = event.total
        if event.done is not None:
            bar.n = event.done
        bar.set_postfix_str(event.message[:60], refresh=True)

    embedder = load_embedder(settings)
    index = ensure_default_corpus(settings, on_event, embedder=embedder)
    llm = load_llm(settings)
    try:
        article = write_article(brief, index_retriever(index), llm, embedder,
                                params=GenerationParams.from_settings(settings), strict=strict,
                                n_sections=args.sections, documents={d.doc_id: d for d in index.list_documents()},
                                refine=model_can_plan(settings, llm.model_name), on_event=on_event,
                                nli=judge_for(settings, drafting=True))
    finally:
        for bar in bars.values():
            bar.close()
    if args.out is not None:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(article.markdown, encoding="utf-8")
        print(f"Wrote {args.out} ({len(article.markdown.split())} words, "
              f"{len(article.citations.references())} sources).", file=sys.stderr)
    if args.json:
        print(json.dumps(article.to_json() | {"strict": strict}, indent=2, ensure_ascii=False))
    elif args.out is None:
        print(article.markdown)
    return 0
