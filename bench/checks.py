"""Time the check stage (readability + style + jargon) on a 3,000-word draft against textstat alone.

The draft is the first corpus notes (corpus/*.md, sorted) joined until the prose holds at
least 3,000 words. Both sides run warm, in the same process, interleaved: the CMU dictionary
and word lists are loaded before timing, and textstat's per-text caches are cleared before each
of its runs (its dictionary cache is kept), so each textstat run counts the text afresh.
"textstat alone" is textstat computing the seven overall scores on the same stripped text;
the checks compute those plus per-section and per-sentence scores and all findings.

Run: .venv/bin/python bench/checks.py [--runs N] [--no-write]
"""

from __future__ import annotations

import argparse
import importlib
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench._results import write_section  # noqa: E402
from engine.check.readability import readability, textstat_scores  # noqa: E402
from engine.check.style import style_findings  # noqa: E402
from engine.markup import prose_map, sentences  # noqa: E402

TARGET_WORDS = 3000
# textstat's loaders whose caches we keep: clearing them would time dictionary loading, not scoring.
_KEEP_CACHED = {"get_cmudict", "get_pyphen", "get_lang_easy_words", "get_lang_root", "get_lang_cfg"}


def build_draft() -> str:
    """Corpus notes joined until the stripped prose has TARGET_WORDS words; cut to the nearest paragraph."""
    parts: list[str] = []
    for path in sorted((ROOT / "corpus").glob("*.md")):
        parts.append(path.read_text(encoding="utf-8"))
        if len(prose_map("\n\n".join(parts)).text.split()) >= TARGET_WORDS:
            break
    draft = "\n\n".join(parts)
    # Trim whole paragraphs from the end while we stay above the target.
    paragraphs = draft.split("\n\n")
    while len(paragraphs) > 1 and len(prose_map("\n\n".join(paragraphs[:-1])).text.split()) >= TARGET_WORDS:
        paragraphs.pop()
    return "\n\n".join(paragraphs)


def _jargon_runner():
    """The jargon check if it exists yet (issue 5), as a callable on a draft; None otherwise."""
    try:
        checks = importlib.import_module("engine.check")
        run_checks = getattr(checks, "run_checks")
    except (ImportError, AttributeError):
        return None
    return run_checks


def _clear_textstat_caches() -> None:
    import textstat.backend as backend

    for module in list(sys.modules.values()):
        name = getattr(module, "__name__", "")
        if not name.startswith("textstat.backend"):
            continue
        for attr, value in vars(module).items():
            if callable(getattr(value, "cache_clear", None)) and attr not in _KEEP_CACHED:
                value.cache_clear()
    del backend


def _timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--no-write", action="store_true", help="print only; leave bench/results.md alone")
    args = parser.parse_args(argv)

    draft = build_draft()
    text = prose_map(draft).text
    run_checks = _jargon_runner()
    # Warm both sides: dictionaries, word lists, regex compilation, textstat's NLTK import.
    readability(draft), style_findings(draft), textstat_scores("Warm the dictionary up. It loads once.")
    if run_checks:
        run_checks(draft)

    rows: dict[str, list[float]] = {k: [] for k in ("prose map + sentences", "readability", "style",
                                                     "jargon", "total", "textstat alone")}
    for _ in range(args.runs):
        _clear_textstat_caches()
        rows["textstat alone"].append(_timed(lambda: textstat_scores(text)))
        start = time.perf_counter()
        mapped = prose_map(draft)
        split = sentences(mapped)
        t_map = time.perf_counter()
        readability(mapped, split=split)
        t_read = time.perf_counter()
        style_findings(mapped, split=split)
        t_style = time.perf_counter()
        rows["prose map + sentences"].append(t_map - start)
        rows["readability"].append(t_read - t_map)
        rows["style"].append(t_style - t_read)
        if run_checks:
            # The real entry point (what `peerdraft check` runs): all checks on one prose map.
            rows["total"].append(_timed(lambda: run_checks(draft)))
        else:
            rows["total"].append(t_style - start)

    median = {k: statistics.median(v) for k, v in rows.items() if v}
    if run_checks:
        own = median["prose map + sentences"] + median["readability"] + median["style"]
        median["jargon"] = max(0.0, median["total"] - own)
    ratio = median["total"] / median["textstat alone"]
    words = readability(draft).overall.words

    lines = [
        "## Check stage speed (bench/checks.py)",
        "",
        f"Draft: {words} words of prose ({len(draft):,} characters of Markdown) from corpus/*.md; "
        f"median of {args.runs} interleaved warm runs in one process.",
        "",
        "| step | median ms |",
        "|---|---:|",
    ]
    for key in ("prose map + sentences", "readability", "style", "jargon", "total", "textstat alone"):
        if key in median:
            lines.append(f"| {key} | {median[key] * 1000:.1f} |")
        else:
            lines.append(f"| {key} | not measured (jargon check not present yet) |")
    lines += [
        "",
        f"Total / textstat alone: **{ratio:.2f}x** (target <= 2x); total {median['total'] * 1000:.1f} ms "
        f"(target < 300 ms). textstat computes 7 overall scores; the checks compute them plus "
        f"{len(prose_map(draft).sections)} sections, every sentence, and all findings.",
    ]
    table = "\n".join(lines)
    print(table)
    if not args.no_write:
        write_section("checks", table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
