"""Build engine/data/ml_vocabulary.json: how often words and two-word phrases occur in ML writing.

The jargon check's default reader (ML/AI engineers and researchers, engine/check/reader.py)
knows what ML writing uses all the time even when general English rarely does ("softmax",
"encoder", "hidden state"). This script measures that from real text instead of a hand list:
it reads Markdown files (their prose only, through engine.markup.prose_map: code, math, URLs and
tables are not counted; Markdown tables are split into rows, each read as a document),
counts each word and each adjacent pair of content words by the jargon check's own term keys,
and keeps those that ML writing uses at least as often as general English does (wordfreq).

The committed table was built from 27 public bodies of ML writing (books, courses, course notes, guides, a
blog, library documentation in Markdown; the `sources` list in its header names each), none of them a post of
the real-article test set (bench/jargon.py) nor from those posts' blogs. Only counts are kept (facts about
the text), no prose.

Publishers: each source is given as PUBLISHER=PATH (a bare PATH is its own publisher), and each entry
records how many publishers' writing uses it. Frequency and document share cannot tell a field basic that
every author mentions now and then (AlexNet: 69 uses, 0.4% of documents) from a library's term that its
own documentation repeats on many pages (cross-encoder: 88 uses, 0.5%, almost all in Sentence Transformers'
and Hugging Face's pages); how many independent authors use a term can. The 13 Hugging Face bodies count as one
publisher, dair-ai's three as one (the table's "publishers" field lists the 13):
`scripts/build_ml_vocabulary.py huggingface=DIR ... dair-ai=DIR ... d2l=DIR ... --source LINE ...`.

A path may also be an installed Python package (a folder with __init__.py, e.g. site-packages/transformers):
its docstrings are read, through `ast` (nothing is imported), as ML writing. Each package folder is one
document; parameter lines, doctest examples, code blocks and dotted or snake_case identifiers are not
counted, and a docstring repeated word for word (transformers copies them between models) counts once.
The committed table leaves docstrings out: adding 1.5M words of them (transformers, torch, scikit-learn and
10 more) made the default reader know library internals a peer would look up (WordPiece, SwiGLU, RMSNorm,
codebook, cross-encoder) and lowered the labeled set's recall from 0.88 to 0.85 with no fewer false flags.

Glossaries: `--glossary DIR` (Markdown or reStructuredText files of an ML glossary or cheat sheet) adds the
table's "glossary" field: every word, pair and triple of content words the glossary's prose uses (term keys,
common English words left out). A term a glossary of the field's basics names is shared vocabulary however
rarely the books above use it: label smoothing (3 uses in their 1.9M words), RMSProp, MSE. Frequency cannot
tell those from one paper's coinage (QLoRA is used as often and as widely as BLEU); a glossary does. With
no SOURCE_DIR, `--glossary` replaces only the glossary field of the table at --out.

Run: .venv/bin/python scripts/build_ml_vocabulary.py [PUBLISHER=]SOURCE_DIR [...] [--source LINE ...] [--out PATH]
     .venv/bin/python scripts/build_ml_vocabulary.py --glossary DIR --glossary-source "LINE" [--out PATH]
"""

from __future__ import annotations

import argparse
import ast
import gzip
import json
import math
import re
import sys
from functools import lru_cache
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from engine.markup import prose_map  # noqa: E402
from engine.check.terms import STOPWORDS, term_key  # noqa: E402

OUT = ROOT / "engine" / "data" / "ml_vocabulary.json"
MIN_DOCUMENTS = 4  # a word used in fewer documents is one author's term, not the field's
MIN_COUNT = 6
# Keep entries ML writing uses at least as often as general English does: a phrase of everyday words
# ("reward model", "scaling laws") is the field's when ML writing uses it, however common its words are.
MIN_LIFT = 0.0
MAX_GENERAL_ZIPF = 5.0  # and not everyday words anyway
# A key that this many independent publishers' writing uses is kept whatever its lift: the field's shared words
# include phrases of everyday words that English as a whole uses about as often ("representation learning",
# 4.21 in ML writing against wordfreq's 4.24 for the pair) and names that are English words ("SQuAD").
KEEP_PUBLISHERS = 4

_WORD = re.compile(r"[A-Za-z][A-Za-z0-9]*(?:[-'][A-Za-z0-9]+)*")
_ROW_NOISE = re.compile(r"<[^>]+>|\]\([^)]*\)|https?://\S+|[|●]")


_SKIP_PACKAGE_PARTS = {"tests", "test", "testing", "_vendor", "vendor", "benchmarks", "examples"}
_DOCTEST = re.compile(r"^\s*(?:>>>|\.\.\.\s|\$ )")
_PARAMETER_LINE = re.compile(
    r"^\s*\**[A-Za-z_][\w.]*\**\s*(?:\([^)]*\)\s*)?:(?:\s|$)"  # "input_ids (`torch.LongTensor`):", "Args:"
    r"|^\s*[\w*, ]+ : "  # numpydoc "X : array-like of shape (n_samples, n_features)"
    r"|^\s*[-=~^]{3,}\s*$"  # numpydoc section underlines
    r"|^\s*\.\. \w")  # RST directives
# inline code, RST roles, snake_case, dotted names, calls, tags, and class names in CamelCase of 3+ parts
_IDENTIFIER = re.compile(r"`+[^`]*`+|:\w+:`[^`]*`|\S*(?:_|\w\.\w|\(\))\S*|<[^>]*>"
                         r"|\b[A-Z]\w*[a-z][A-Z]\w*[a-z][A-Z]\w*")


def docstring_prose(doc: str) -> str:
    """A docstring's prose as Markdown paragraphs: doctests, code blocks, parameter lines and identifiers dropped."""
    lines: list[str] = []
    skipping_indent = None  # indentation of a code block being skipped (after "::" or a doctest)
    for line in doc.splitlines():
        indent = len(line) - len(line.lstrip())
        if skipping_indent is not None:
            if not line.strip() or indent > skipping_indent or _DOCTEST.match(line):
                continue
            skipping_indent = None
        if _DOCTEST.match(line) or line.strip().startswith("```"):
            skipping_indent = -1 if line.strip().startswith("```") else indent
            if line.strip().startswith("```"):
                skipping_indent = None
                lines.append("\n")  # a fenced block: the fence pair is dropped by prose_map anyway
                lines.append(line.strip())
            continue
        if _PARAMETER_LINE.match(line):
            lines.append("")
            continue
        text = line.strip()
        if text.endswith("::"):
            skipping_indent = indent
            text = text[:-1]
        lines.append(_IDENTIFIER.sub(" ", text))
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines))


def package_documents(package: Path, seen: set[str]):
    """(folder name, prose) for each folder of an installed package: its modules' docstrings, read with `ast`."""
    folders: dict[Path, list[str]] = {}
    for path in sorted(package.rglob("*.py")):
        if _SKIP_PACKAGE_PARTS & set(path.relative_to(package).parts[:-1]) or path.name.startswith("test_"):
            continue
        try:
            tree = ast.parse(path.read_text(encoding="utf-8", errors="replace"))
        except (SyntaxError, ValueError):
            continue
        for node in ast.walk(tree):
            if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
                doc = ast.get_docstring(node)
                if doc and len(doc) > 40 and doc not in seen:
                    seen.add(doc)
                    folders.setdefault(path.parent, []).append(docstring_prose(doc))
    for folder, docs in folders.items():
        yield f"{package.name}/{folder.relative_to(package)}", prose_map("\n\n".join(docs)).text


def publisher_paths(args: list[str]) -> list[tuple[str, Path]]:
    """(publisher, path) for each command-line source: "PUBLISHER=PATH", or a bare PATH that is its own publisher."""
    out = []
    for arg in args:
        publisher, sep, path = arg.partition("=")
        out.append((publisher, Path(path)) if sep else (Path(arg).name, Path(arg)))
    return out


def documents(paths: list[Path]):
    """(name, prose text) for each Markdown file, or each table row of a file that is mostly a table.

    An installed Python package gives one document per folder, from its docstrings (`package_documents`).
    """
    seen_docstrings: set[str] = set()
    for base in paths:
        if (base / "__init__.py").is_file():
            yield from package_documents(base, seen_docstrings)
            continue
        files = sorted(base.rglob("*.md")) if base.is_dir() else [base]
        for path in files:
            text = path.read_text(encoding="utf-8", errors="replace")
            rows = [line for line in text.splitlines() if line.startswith("|")]
            if len(rows) > 50:
                for n, row in enumerate(rows):
                    yield f"{path.name}#{n}", prose_map(_ROW_NOISE.sub(" ", row)).text
            else:
                yield path.name, prose_map(text).text


def count(paths: list[Path] | list[tuple[str, Path]]) -> tuple[dict[str, int], dict[str, int], int, int, dict[str, int]]:
    """Occurrences, document counts and publisher counts by term key (words and adjacent content-word pairs),
    tokens, documents. `paths` are paths, each its own publisher, or (publisher, path) pairs."""
    by_publisher: dict[str, list[Path]] = {}
    for source in paths:
        publisher, path = source if isinstance(source, tuple) else (Path(source).name, Path(source))
        by_publisher.setdefault(publisher, []).append(path)
    occurrences: dict[str, int] = {}
    in_documents: dict[str, int] = {}
    publishers: dict[str, int] = {}
    tokens = docs = 0
    for group in by_publisher.values():
        used: set[str] = set()
        for _, text in documents(group):
            docs += 1
            seen, words = _count_document(text, occurrences)
            tokens += words
            for gram in seen:
                in_documents[gram] = in_documents.get(gram, 0) + 1
            used |= seen
        for gram in used:
            publishers[gram] = publishers.get(gram, 0) + 1
    return occurrences, in_documents, tokens, docs, publishers


def _count_document(text: str, occurrences: dict[str, int]) -> tuple[set[str], int]:
    """Add one document's words and content-word pairs to `occurrences`: the keys it uses and its word count."""
    seen: set[str] = set()
    tokens = 0
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
    return seen, tokens


def build(paths: list[tuple[str, Path]], sources: list[str]) -> dict:
    """The vocabulary table of the Markdown files and packages under `paths`, (publisher, path) pairs."""
    return table(count(paths), sources, paths)


def table(counts: tuple[dict[str, int], dict[str, int], int, int, dict[str, int]], sources: list[str],
          paths: list[tuple[str, Path]] = ()) -> dict:
    """The vocabulary table from `count`'s occurrences, document, token and publisher counts."""
    from wordfreq import zipf_frequency

    occurrences, in_documents, tokens, docs, publishers = counts
    terms = {}
    for key, n in occurrences.items():
        if n < MIN_COUNT or in_documents[key] < MIN_DOCUMENTS or key in STOPWORDS or len(key) < 2:
            continue
        ml_zipf = math.log10(n / tokens * 1e9)
        general = zipf_frequency(key, "en")
        if general <= MAX_GENERAL_ZIPF and (ml_zipf - general >= MIN_LIFT or publishers[key] >= KEEP_PUBLISHERS):
            terms[key] = [round(ml_zipf, 2), round(in_documents[key] / docs, 4), publishers[key]]
    return {"about": "Zipf frequency (log10 per billion words) of term keys in ML writing, the share of documents "
                     "using each, and how many independent publishers' writing uses it; only keys ML writing uses at "
                     f"least as often as general English, or that {KEEP_PUBLISHERS} publishers use.",
            "publishers": sorted({publisher for publisher, _ in paths}),
            "sources": sources, "documents": docs, "tokens": tokens,
            "built_by": "scripts/build_ml_vocabulary.py", "terms": dict(sorted(terms.items()))}


GLOSSARY_COMMON_ZIPF = 4.5  # a single word this common in English is never a candidate term: not stored
_RST_NOISE = re.compile(r"https?://\S+|`[^`]*`_*|:\w+:|^\.\. [^\n]*|::|^[=\-~^*\"+#]{3,}\s*$", re.MULTILINE)


def content_grams(words: list[str], key=term_key):
    """(term key, words) of each word and each run of two or three words with no stopword at either end."""
    parts = [key(w) for w in words]
    for i in range(len(words)):
        for n in (1, 2, 3):
            gram = parts[i:i + n]
            if len(gram) == n and gram[0] not in STOPWORDS and gram[-1] not in STOPWORDS:
                yield (gram[0] if n == 1 else key(" ".join(words[i:i + n]))), words[i:i + n]


def glossary_keys(paths: list[Path]) -> list[str]:
    """Term keys of every content word, and run of two or three words without a stopword at either end,
    in the prose of the glossary files under `paths` (Markdown through prose_map; reStructuredText with its
    roles, directives, links and underlines removed)."""
    from wordfreq import zipf_frequency

    keys: set[str] = set()
    files = [f for p in paths for f in (sorted(p.rglob("*")) if p.is_dir() else [p]) if f.suffix in (".md", ".rst")]
    for path in files:
        raw = path.read_text(encoding="utf-8", errors="replace")
        text = prose_map(raw).text if path.suffix == ".md" else _RST_NOISE.sub(" ", raw)
        for piece in re.split(r"(?<=[.!?:;,])\s+|\n\s*\n|[()\[\]]", text):
            for key, gram in content_grams(_WORD.findall(piece)):
                if len(gram) == 1 and zipf_frequency(key.replace(" ", ""), "en") >= GLOSSARY_COMMON_ZIPF:
                    continue
                keys.add(key)
    return sorted(keys)


ABSTRACTS_OUT = ROOT / "engine" / "data" / "ml_abstracts.json.gz"
# A word fewer abstracts use, or a phrase, is stored as absent: rare, one paper's or a few papers' term.
ABSTRACT_MIN_DOCUMENTS = {"word": 5, "phrase": 10}
_LATEX = re.compile(r"\$[^$]*\$|\\[A-Za-z]+\*?(?:\[[^\]]*\])?|[{}]")


def _capitals(word: str) -> bool:
    """Written as a name or acronym: two capitals or more ("MADE", "CIFAR-100", "RMSNorm", "VQ-VAE")."""
    return sum(c.isupper() for c in word) >= 2


def abstract_counts(path: Path) -> dict:
    """Document frequencies of term keys in research abstracts (a JSONL file of {"title", "abstract"} rows):
    each word, and each run of two or three words without a stopword at either end; `names` counts only the
    abstracts that write the key with two capitals or more, so "MADE" (a model) is not "made"."""
    key = lru_cache(maxsize=None)(term_key)  # a word's key, once per distinct word of 18M

    terms: dict[str, int] = {}
    names: dict[str, int] = {}
    docs = tokens = 0
    with path.open(encoding="utf-8") as rows:
        for line in rows:
            if not line.strip():
                continue
            row = json.loads(line)
            text = _LATEX.sub(" ", f"{row.get('title', '')}. {row.get('abstract', '')}")
            docs += 1
            seen: set[str] = set()
            named: set[str] = set()
            for piece in re.split(r"(?<=[.!?:;,])\s+|[()\[\]]", text):
                words = [w for w in _WORD.findall(piece) if not w.isupper() or len(w) > 1]
                tokens += len(words)
                for k, gram in content_grams(words, key):
                    seen.add(k)
                    if any(_capitals(w) for w in gram):
                        named.add(k)
            for k in seen:
                terms[k] = terms.get(k, 0) + 1
            for k in named:
                names[k] = names.get(k, 0) + 1
    keep = ABSTRACT_MIN_DOCUMENTS

    def kept(counts: dict[str, int]) -> dict[str, int]:
        return dict(sorted((k, v) for k, v in counts.items() if v >= keep["phrase" if " " in k else "word"]))

    return {"about": "How many research abstracts use each term key (a word, or two or three words without a stopword "
                     "at either end); `names`: how many write it with two capitals or more. Words fewer than "
                     f"{keep['word']} abstracts use, and phrases fewer than {keep['phrase']} use, are left out (absent: "
                     "rare in research writing).",
            "documents": docs, "tokens": tokens, "min_documents": keep, "built_by": "scripts/build_ml_vocabulary.py --abstracts",
            "terms": kept(terms), "names": kept(names)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("paths", nargs="*", help="folders or files of Markdown ML writing, each PATH or PUBLISHER=PATH "
                        "(sources of one publisher count once in the table's publisher spread)")
    parser.add_argument("--source", action="append", default=[], help="a line naming a source (repeatable)")
    parser.add_argument("--glossary", action="append", type=Path, default=[],
                        help="a folder or file of an ML glossary (Markdown or reStructuredText; repeatable)")
    parser.add_argument("--glossary-source", action="append", default=[], help="a line naming a glossary (repeatable)")
    parser.add_argument("--abstracts", type=Path, help="a JSONL file of research abstracts ({\"title\", \"abstract\"} "
                        f"rows): write their term keys' document frequencies to --out (default {ABSTRACTS_OUT.name})")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args(argv)
    if args.abstracts:
        if not args.abstracts.is_file():
            parser.error(f"--abstracts {args.abstracts}: no such file (give a JSONL file of title/abstract rows)")
        out = args.out or ABSTRACTS_OUT
        table = abstract_counts(args.abstracts)
        table["sources"] = args.source or [str(args.abstracts)]
        data = json.dumps(table, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        out.write_bytes(gzip.compress(data, mtime=0) if out.suffix == ".gz" else data)
        print(f"{len(table['terms'])} keys ({len(table['names'])} written as names) from {table['documents']} "
              f"abstracts, {table['tokens']} words -> {out}")
        return 0
    args.out = args.out or OUT
    if not args.paths and not args.glossary:
        parser.error("give folders of Markdown ML writing, or --glossary DIR to replace the table's glossary")
    sources = publisher_paths(args.paths)
    missing = [p for p in [path for _, path in sources] + args.glossary if not p.exists()]
    if missing:
        parser.error(f"no such file or folder: {', '.join(map(str, missing))} (give folders of Markdown files)")
    if not args.paths:
        if not args.out.exists():
            parser.error(f"{args.out} does not exist: build the table from SOURCE_DIRs first, then add --glossary")
        table = json.loads(args.out.read_text(encoding="utf-8"))
        table["glossary"] = {"sources": args.glossary_source or [str(p) for p in args.glossary],
                             "keys": glossary_keys(args.glossary)}
        args.out.write_text(json.dumps(table, indent=0, ensure_ascii=False) + "\n", encoding="utf-8")
        print(f"glossary: {len(table['glossary']['keys'])} keys -> {args.out}")
        return 0
    table = build(sources, args.source or [str(p) for p in args.paths])
    if args.glossary:
        table["glossary"] = {"sources": args.glossary_source or [str(p) for p in args.glossary],
                             "keys": glossary_keys(args.glossary)}
    args.out.write_text(json.dumps(table, indent=0, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"{len(table['terms'])} entries from {table['documents']} documents, {table['tokens']} words -> {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
