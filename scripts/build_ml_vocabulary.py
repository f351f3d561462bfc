"""Build engine/data/ml_vocabulary.json: how often words and two-word phrases occur in ML writing.

The jargon check's default reader (ML/AI engineers and researchers, engine/check/reader.py)
knows what ML writing uses all the time even when general English rarely does ("softmax",
"encoder", "hidden state"). This script measures that from real text instead of a hand list:
it reads Markdown files (their prose only, through engine.markup.prose_map: code, math, URLs and
tables are not counted; Markdown tables are split into rows, each read as a document),
counts each word and each adjacent pair of content words by the jargon check's own term keys,
and keeps those that ML writing uses clearly more than general English does (wordfreq).

The committed table was built from two public bodies of ML writing, neither of them a post of
the real-article test set (bench/jargon.py):
- "Dive into Deep Learning" (d2l-ai/d2l-en, CC BY-SA 4.0): the book's 208 Markdown chapters;
- "ML Papers of the Week" (dair-ai/ML-Papers-of-the-Week): ~1,500 paper summaries, one table row each.
Only counts are kept (facts about the text), no prose.

Run: .venv/bin/python scripts/build_ml_vocabulary.py SOURCE_DIR [SOURCE_DIR ...] [--out PATH]
"""

from __future__ import annotations

import argparse
import json
import math
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from engine.markup import prose_map  # noqa: E402
from engine.check.terms import STOPWORDS, term_key  # noqa: E402

OUT = ROOT / "engine" / "data" / "ml_vocabulary.json"
MIN_DOCUMENTS = 4  # a word used in fewer documents is one author's term, not the field's
MIN_COUNT = 6
MIN_LIFT = 0.7  # keep entries whose ML Zipf exceeds general English Zipf by this much ...
MAX_GENERAL_ZIPF = 5.0  # ... and that are not everyday words anyway

_WORD = re.compile(r"[A-Za-z][A-Za-z0-9]*(?:[-'][A-Za-z0-9]+)*")
_ROW_NOISE = re.compile(r"<[^>]+>|\]\([^)]*\)|https?://\S+|[|●]")


def documents(paths: list[Path]):
    """(name, prose text) for each Markdown file, or each table row of a file that is mostly a table."""
    for base in paths:
        files = sorted(base.rglob("*.md")) if base.is_dir() else [base]
        for path in files:
            text = path.read_text(encoding="utf-8", errors="replace")
            rows = [line for line in text.splitlines() if line.startswith("|")]
            if len(rows) > 50:
                for n, row in enumerate(rows):
                    yield f"{path.name}#{n}", prose_map(_ROW_NOISE.sub(" ", row)).text
            else:
                yield path.name, prose_map(text).text


def count(paths: list[Path]) -> tuple[dict[str, int], dict[str, int], int, int]:
    """Occurrences and document counts by term key (words and adjacent content-word pairs), tokens, documents."""
    occurrences: dict[str, int] = {}
    in_documents: dict[str, int] = {}
    tokens = docs = 0
    for _, text in documents(paths):
        docs += 1
        seen: set[str] = set()
        for sentence in re.split(r"(?<=[.!?:;])\s+|\n\n", text):
            words = [w for w in _WORD.findall(sentence) if not w.isupper() or len(w) > 1]
            tokens += len(words)
            keys = [term_key(w) for w in words]
            for i, key in enumerate(keys):
                grams = [key]
                if i + 1 < len(keys) and key not in STOPWORDS and keys[i + 1] not in STOPWORDS:
                    grams.append(term_key(words[i] + " " + words[i + 1]))
                for gram in grams:
                    occurrences[gram] = occurrences.get(gram, 0) + 1
                    seen.add(gram)
        for gram in seen:
            in_documents[gram] = in_documents.get(gram, 0) + 1
    return occurrences, in_documents, tokens, docs


def build(paths: list[Path], sources: list[str]) -> dict:
    from wordfreq import zipf_frequency

    occurrences, in_documents, tokens, docs = count(paths)
    terms = {}
    for key, n in occurrences.items():
        if n < MIN_COUNT or in_documents[key] < MIN_DOCUMENTS or key in STOPWORDS or len(key) < 2:
            continue
        ml_zipf = math.log10(n / tokens * 1e9)
        general = zipf_frequency(key, "en")
        if general <= MAX_GENERAL_ZIPF and ml_zipf - general >= MIN_LIFT:
            terms[key] = [round(ml_zipf, 2), round(in_documents[key] / docs, 4)]
    return {"about": "Zipf frequency (log10 per billion words) of term keys in ML writing, and the share of "
                     "documents using each; only keys ML writing uses clearly more than general English.",
            "sources": sources, "documents": docs, "tokens": tokens,
            "built_by": "scripts/build_ml_vocabulary.py", "terms": dict(sorted(terms.items()))}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("paths", nargs="+", type=Path, help="folders or files of Markdown ML writing")
    parser.add_argument("--source", action="append", default=[], help="a line naming a source (repeatable)")
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args(argv)
    missing = [p for p in args.paths if not p.exists()]
    if missing:
        parser.error(f"no such file or folder: {', '.join(map(str, missing))} (give folders of Markdown files)")
    table = build(args.paths, args.source or [str(p) for p in args.paths])
    args.out.write_text(json.dumps(table, indent=0, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"{len(table['terms'])} entries from {table['documents']} documents, {table['tokens']} words -> {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
