"""`peerdraft check FILE.md [--json] [--assume TERM ...]`: every check on a draft, for people or scripts."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from engine.check import run_checks
from engine.errors import NotFound, PeerDraftError
from engine.settings import Settings


def register(subparsers) -> None:
    parser = subparsers.add_parser("check", help="check a Markdown draft (jargon: terms defined at first use)")
    parser.add_argument("file", type=Path, help="the Markdown draft")
    parser.add_argument("--json", action="store_true", help="print one JSON object with a key per check")
    parser.add_argument("--assume", nargs="+", action="extend", default=[], metavar="TERM",
                        help="terms the audience knows: never flagged")
    parser.add_argument("--audience", default=None, metavar="TEXT",
                        help="who reads it (default: ML/AI engineers and researchers; e.g. 'software engineers new "
                             "to ML' or 'general readers' flag more)")
    parser.add_argument("--no-suggestions", action="store_true",
                        help="skip corpus definition suggestions (no index is loaded)")
    # Evaluation (issue 7): with --json the output gains an `evaluation` object (engine.evaluate).
    parser.add_argument("--sources", nargs="+", action="extend", default=[], metavar="DOC_ID",
                        help="indexed documents the draft draws on: copying and citation checks use them")
    parser.add_argument("--reference", type=Path, metavar="REF.md",
                        help="a reference text or earlier version: ROUGE, BLEU and section similarity")
    parser.add_argument("--no-model", action="store_true",
                        help="evaluation without the language model (perplexity left out)")
    parser.add_argument("--no-evaluation", action="store_true", help="leave the `evaluation` object out of --json")
    parser.set_defaults(func=run)


def evaluation_json(markdown: str, args, settings: Settings) -> dict:
    """The `evaluation` object of --json: every measure engine.evaluate can run here."""
    from engine.evaluate.workspace import evaluate_with_settings

    reference = None
    if args.reference is not None:
        if not args.reference.is_file():
            raise NotFound(f"No reference text at {args.reference}.", "Give the path of a Markdown or text file.")
        reference = args.reference.read_text(encoding="utf-8")
    return evaluate_with_settings(markdown, settings, doc_ids=args.sources, reference=reference,
                                  load_model=not args.no_model).to_dict()


def corpus_search(settings: Settings):
    """A search function over the corpus index, or (None, why not) when there is no index yet."""
    from engine.index import has_index

    if not has_index(settings.index_dir):
        return None, "no corpus index yet: no definition suggestions (run 'peerdraft index' to build one)"
    from engine.index import open_index  # loads the embedder: only when an index exists
    from engine.retrieve import retrieve_passages

    index = open_index(settings)
    return (lambda query: retrieve_passages(index, query, k=8, mode="hybrid")), ""


def run(args, settings: Settings) -> int:
    path: Path = args.file
    if not path.is_file():
        raise NotFound(f"No draft at {path}.", "Give the path of a Markdown file: peerdraft check draft.md")
    try:
        markdown = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise PeerDraftError(f"Cannot read {path}: {exc}.", "Save the draft as UTF-8 text and try again.") from None
    search, note = (None, "") if args.no_suggestions else corpus_search(settings)
    results = run_checks(markdown, assumed_terms=args.assume, search=search, audience=args.audience)
    if args.json:
        output = {name: report.to_dict() for name, report in results.items()}
        if not args.no_evaluation:
            output["evaluation"] = evaluation_json(markdown, args, settings)
        print(json.dumps(output, indent=2))
        return 0
    for name, report in results.items():
        lines = report.summary_lines() if hasattr(report, "summary_lines") else [f"{name}: {report.to_dict()}"]
        print("\n".join(lines))
    if note:
        print(f"note: {note}", file=sys.stderr)
    return 0
