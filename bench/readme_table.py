"""Regenerate README.md's benchmark highlights from bench/results.md.

    python bench/readme_table.py           rewrite the block between <!-- bench:start --> and <!-- bench:end -->
    python bench/readme_table.py --check   exit 1 if README.md is behind bench/results.md

Each headline row reads one figure from one section of results.md. When a benchmark changes
its table so a figure cannot be found, this fails and names the section, rather than keep an
old number in the README.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results.md"
README = ROOT / "README.md"
START, END = "<!-- bench:start -->", "<!-- bench:end -->"


class MissingFigure(ValueError):
    """A headline figure is not where this script looks for it in bench/results.md."""


def section(results: str, name: str) -> str:
    """The text between `<!-- name:start -->` and `<!-- name:end -->` in results.md."""
    match = re.search(rf"<!-- {re.escape(name)}:start -->(.*?)<!-- {re.escape(name)}:end -->", results, re.S)
    if not match:
        raise MissingFigure(f"bench/results.md has no '{name}' section; run bench/{name}.py")
    return match.group(1)


def table_rows(text: str) -> list[dict[str, str]]:
    """Every row of every Markdown table in `text`, as {header: cell} (first column also under '')."""
    rows: list[dict[str, str]] = []
    header: list[str] | None = None
    for line in text.splitlines():
        line = line.strip()
        if not line.startswith("|"):
            header = None
            continue
        cells = [cell.strip() for cell in line.strip("|").split("|")]
        if header is None:
            header = cells
        elif not all(set(cell) <= set("-: ") for cell in cells):
            rows.append({"": cells[0], **dict(zip(header, cells))})
    return rows


def cell(text: str, name: str, first: str, column: str) -> str:
    """The cell in `column` of the row whose first cell is `first`."""
    for row in table_rows(text):
        if row[""] == first and column in row:
            return row[column]
    raise MissingFigure(f"bench/results.md '{name}' section: no row '{first}' with a column '{column}'")


def found(pattern: str, text: str, name: str) -> re.Match:
    match = re.search(pattern, text)
    if not match:
        raise MissingFigure(f"bench/results.md '{name}' section: no text matching {pattern!r}")
    return match


def number(text: str) -> float:
    """The first number in a cell such as '0.84 (46/55)', '5.9% (3/51)' or '1.55x'."""
    match = re.search(r"-?\d+(?:\.\d+)?", text.replace(",", ""))
    if not match:
        raise MissingFigure(f"bench/results.md: no number in the cell {text!r}")
    return float(match.group())


def verdict(met: bool) -> str:
    return "met" if met else "**not met**"


def highlight_rows(results: str) -> list[tuple[str, str, str, str]]:
    """(what, figure, target, met?) for each headline, read from results.md."""
    rows = []

    llm = section(results, "llm")
    # Compare like with like: when the table has raw llama-cpp-python with OMP_WAIT_POLICY=PASSIVE
    # (what our backend sets), that is the reference; its default busy-waiting collapses on shared cores.
    passive = any("÷ raw passive" in row for row in table_rows(llm))
    column, reference = (("÷ raw passive", "raw llama-cpp-python, both OMP_WAIT_POLICY=PASSIVE") if passive
                         else ("÷ raw llama.cpp", "raw llama-cpp-python"))
    ours = number(cell(llm, "llm", "ours: llama-cpp", column))
    rows.append((f"our llama-cpp backend ÷ {reference}, tok/s (200-token greedy)",
                 f"{ours:.2f}", "≥ 0.95", verdict(ours >= 0.95)))
    transformers = [(number(row[column]), row[""].removeprefix("ours: transformers ").strip())
                    for row in table_rows(llm) if row[""].startswith("ours: transformers") and column in row]
    if not transformers:
        raise MissingFigure("bench/results.md 'llm' section: no 'ours: transformers …' rows")
    best, config = max(transformers)
    rows.append((f"best transformers CPU path, {config}, ÷ {reference}", f"{best:.2f}", "≥ 0.5",
                 verdict(best >= 0.5)))

    retrieval = section(results, "retrieval")
    labeled = retrieval[found(r"\*\*Labeled writer queries", retrieval, "retrieval").start():]  # not SciFact's
    ndcg = {mode: number(cell(labeled, "retrieval", mode, "nDCG@10")) for mode in ("bm25", "dense", "hybrid")}
    rows.append(("retrieval, labeled writer queries: nDCG@10 bm25 / dense / hybrid",
                 " / ".join(f"{ndcg[m]:.3f}" for m in ("bm25", "dense", "hybrid")),
                 "hybrid highest", verdict(ndcg["hybrid"] >= max(ndcg["bm25"], ndcg["dense"]))))
    ingest = number(found(r"ratio \*\*([\d.]+)\*\*", retrieval, "retrieval").group(1))
    rows.append(("ingest throughput ÷ raw embedding throughput", f"{ingest:.2f}", "≥ 0.8", verdict(ingest >= 0.8)))

    # What verify does by default in evaluations: the signals, with the drafting model read by its probe where
    # they are unsure (bench/verify_probe.py); without that section, the shipped signal weights alone.
    probe = section(results, "verify-probe") if "<!-- verify-probe:start -->" in results else ""
    real = [row for row in table_rows(probe) if row[""].startswith("AttributionBench dev, report half")
            and row.get("scorer", "").startswith("signals + probe, probe only within")]
    if not real:
        verify = section(results, "verify")
        real = [row for row in table_rows(verify) if row[""].startswith("AttributionBench dev, report half")
                and row.get("scorer") == "signals, shipped weights"]
    if not real:
        raise MissingFigure("bench/results.md 'verify' section: no 'AttributionBench dev, report half' row")
    best = real[0]
    rows.append((f"verify ({best['scorer'].split(' (')[0]}): macro-F1 on AttributionBench dev, report half "
                 "(public benchmark)", best["macro-F1"], "≥ 0.80", verdict(number(best["macro-F1"]) >= 0.80)))
    if probe:
        timed = [row for row in table_rows(probe) if row[""].startswith("signals + probe judge")]
        if timed:
            seconds = number(timed[0]["seconds"])
            rows.append(("verify of an ~800-word article, signals + probe where unsure (2 cores)", f"{seconds:.0f} s",
                         "≤ 60 s", verdict(seconds <= 60)))

    article = section(results, "article")  # the first table is the default model's
    written = cell(article, "article", "**all**", "model-written")
    rows.append(("whole articles, default model: body sentences the model wrote (not quoted or copied)",
                 written, "≥ 70%", verdict(number(written) >= 70)))
    repeats = [cell(article, "article", "**all**", column) for column in ("duplicates", "debris")]
    rows.append(("whole articles, default model: duplicate sentences / debris", " / ".join(repeats), "0 / 0",
                 verdict(all(number(r) == 0 for r in repeats))))
    wrong, words = (cell(article, "article", "**all**", column) for column in ("wrong (read by hand)", "words"))
    if wrong[:1].isdigit():  # else 'not read'
        n_wrong = number(wrong)
        rows.append(("whole articles, default model: sentences a careful reader calls wrong",
                     f"{n_wrong:.0f} in {words} words", "≤ 1 per 200 words",
                     verdict(n_wrong == 0 or number(words) / n_wrong >= 200)))
    else:
        rows.append(("whole articles, default model: sentences a careful reader calls wrong", wrong,
                     "≤ 1 per 200 words", "—"))

    # The default model's table only: the section's first table ends where the second profile's heading starts.
    default_table = article.split("### Profile", 2)[1] if article.count("### Profile") >= 1 else article
    first_token = cell(default_table, "article", "**all**", "first token s (max)")
    rows.append(("whole articles, default model: first streamed token, slowest section (model loaded)",
                 f"{first_token} s", "≤ 10 s", verdict(number(first_token) <= 10)))
    briefs = [r for r in table_rows(default_table) if not r[""].startswith("**") and "article s" in r]
    if not briefs:
        raise MissingFigure("bench/results.md 'article' section: no brief rows with an 'article s' column")
    slowest = max(number(r["article s"]) for r in briefs)
    rows.append(("whole articles, default model: slowest whole article (outline, 8 sections, verify, repair)",
                 f"{slowest:.0f} s", "≤ 240 s", verdict(slowest <= 240)))

    jargon = section(results, "jargon")
    # The whole labeled set: the 'all' split, of the largest set when the table has a 'set' column.
    whole = [row for row in table_rows(jargon) if row.get("split", row[""]) == "all"
             and {"recall of undefined terms", "false-flag rate"} <= set(row)]
    if not whole:
        raise MissingFigure("bench/results.md 'jargon' section: no 'all' row with recall and false-flag rate")
    row = max(whole, key=lambda r: number(r.get("passages", "0")))
    recall, false_flags = row["recall of undefined terms"].split()[0], row["false-flag rate"].split()[0]
    rows.append((f"jargon: recall of undefined terms / false flags ({row.get('passages', 'all')} labeled passages)",
                 f"{recall} / {false_flags}", "≥ 0.85 / ≤ 10%",
                 verdict(number(recall) >= 0.85 and number(false_flags) <= 10)))
    # Real expert posts, held out from tuning (present when bench/jargon.py ran with --posts).
    held = [row for row in table_rows(jargon) if row[""] == "**all held-out posts**"]
    if held:
        precision = held[0]["precision (undefined / labeled)"].split()[0]
        rate = held[0]["flags / 1,000 words"]
        rows.append(("jargon on real expert posts held out from tuning: flag precision / flags per 1,000 words",
                     f"{precision} / {rate}", "≥ 0.8 / ≤ 5",
                     verdict(number(precision) >= 0.8 and number(rate) <= 5)))

    checks = section(results, "checks")
    ratio = number(found(r"textstat alone: \*\*([\d.]+)x\*\*", checks, "checks").group(1))
    rows.append(("all checks on 3,000 words ÷ textstat alone", f"{ratio:.2f}×", "≤ 2×", verdict(ratio <= 2)))

    ui = section(results, "ui")
    for first, what in (("restart: launch → Write page drawn", "app restart → first page drawn in Chromium"),
                        ("page switch, all pages (median of 15)", "page switch in Chromium (median)"),
                        ('"Draft section" → first streamed token, second draft (model warm)',
                         '"Draft section" → first streamed token (model loaded)')):
        seconds = cell(ui, "ui", first, "seconds")
        number(seconds)  # fails loudly if the cell holds no figure
        rows.append((what, f"{seconds} s", "—", "—"))
    return rows


def highlights(results: str) -> str:
    """The Markdown that goes between the README's bench markers."""
    lines = ["Highlights of the latest runs (full tables, conditions and load averages in `bench/results.md`;",
             "regenerated by `python bench/readme_table.py`):", "",
             "| what | figure | target | target met |", "|---|---|---|---|"]
    lines += [f"| {' | '.join(row)} |" for row in highlight_rows(results)]
    return "\n".join(lines)


def readme_with_highlights(readme: str, results: str) -> str:
    """README text with its bench block replaced by the current highlights."""
    if readme.count(START) != 1 or readme.count(END) != 1:
        raise MissingFigure(f"README.md needs exactly one {START} … {END} block")
    head, rest = readme.split(START)
    _, tail = rest.split(END)
    return f"{head}{START}\n{highlights(results)}\n{END}{tail}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if README.md is out of date")
    args = parser.parse_args(argv)
    readme = README.read_text(encoding="utf-8")
    new = readme_with_highlights(readme, RESULTS.read_text(encoding="utf-8"))
    if args.check:
        if new != readme:
            print("README.md's benchmark highlights are out of date: run python bench/readme_table.py",
                  file=sys.stderr)
            return 1
        return 0
    if new != readme:
        README.write_text(new, encoding="utf-8")
        print("README.md: benchmark highlights updated")
    else:
        print("README.md: benchmark highlights already current")
    return 0


if __name__ == "__main__":
    sys.exit(main())
