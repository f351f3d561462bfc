"""`peerdraft report FILE.md --out report.md`: a readable evaluation report with its charts as images."""

from __future__ import annotations

import sys
from pathlib import Path

from engine.errors import PeerDraftError
from engine.settings import Settings


def register(subparsers) -> None:
    parser = subparsers.add_parser("report", help="write an evaluation report (Markdown with charts) for a draft")
    parser.add_argument("file", type=Path, help="the Markdown draft to evaluate")
    parser.add_argument("--out", type=Path, required=True, help="where to write the report (charts go to NAME_files/)")
    parser.add_argument("--sources", nargs="+", default=[], metavar="DOC_ID",
                        help="indexed documents to check copying and citations against")
    parser.add_argument("--reference", type=Path, help="a reference text or earlier version to compare with")
    parser.add_argument("--no-model", action="store_true", help="skip the language model (no perplexity, no rubric)")
    parser.add_argument("--rubric", action="store_true", help="ask a capable configured model to grade the draft")
    parser.set_defaults(func=run)


def _read(path: Path, what: str) -> str:
    if not path.is_file():
        raise PeerDraftError(f"{what} {path} does not exist.", "Check the path.")
    return path.read_text(encoding="utf-8")


def run(args, settings: Settings) -> int:
    from tqdm import tqdm

    from engine.check import run_checks
    from engine.evaluate.report import write_report
    from engine.evaluate.workspace import evaluate_with_settings
    from engine.events import Event

    markdown = _read(args.file, "Draft")
    reference = _read(args.reference, "Reference") if args.reference else None
    bar = tqdm(total=8, desc="evaluate", file=sys.stderr, leave=False)

    def on_event(event: Event) -> None:
        if event.done is not None:
            bar.n = event.done
            bar.set_postfix_str(event.message)
            bar.refresh()

    try:
        evaluation = evaluate_with_settings(markdown, settings, doc_ids=args.sources, reference=reference,
                                            load_model=not args.no_model, rubric=args.rubric, on_event=on_event)
    finally:
        bar.close()
    checks = run_checks(markdown)
    write_report(evaluation, args.out, title=args.file.stem, checks=checks)
    print(f"wrote {args.out}", file=sys.stderr)
    return 0
