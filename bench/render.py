"""Rendering cost: engine.render (markdown-it-py) against the renderer it replaced (Python-Markdown + nh3).

Material: inputs built here (our own): drafts of nested brackets (the quadratic case of issue 16),
a list nested 400 levels, and a ~60 KB article made of one peer article with math, a diagram,
code and a table repeated (diagrams not drawn: this times the renderer, not Chromium). The old
path runs in a subprocess with a time cap, so a blow-up shows as "> cap" instead of hanging the run.

    python bench/render.py [--cap 120]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench._results import write_section  # noqa: E402
from engine import render  # noqa: E402

ARTICLE = (REPO / "tests" / "test_publish.py").read_text(encoding="utf-8").split('ARTICLE = r"""', 1)[1] \
    .split('"""', 1)[0].split("## References")[0]

OLD = """
import sys, time, markdown, nh3
text = sys.stdin.read()
start = time.perf_counter()
try:
    nh3.clean(markdown.markdown(text, extensions=["extra", "sane_lists"]))
    print(f"{time.perf_counter() - start:.2f} s")
except RecursionError:
    print("RecursionError")
"""


def cases() -> list[tuple[str, str]]:
    nested = [(f"nested brackets, {n // 1000} KB", "[" * (n // 2) + "]" * (n // 2)) for n in (10_000, 20_000, 40_000)]
    deep_list = "".join("    " * i + f"- item {i}\n" for i in range(400))
    article = (ARTICLE + "\n") * (60_000 // len(ARTICLE) + 1)
    return nested + [("list nested 400 levels", deep_list), (f"article with math, {len(article) // 1000} KB", article)]


def old_renderer(text: str, cap: float) -> str:
    try:
        done = subprocess.run([sys.executable, "-c", OLD], input=text, capture_output=True, text=True, timeout=cap)
    except subprocess.TimeoutExpired:
        return f"> {cap:.0f} s (stopped)"
    if done.returncode != 0:
        return "not installed" if "No module named 'markdown'" in done.stderr else "failed"
    return done.stdout.strip()


def new_renderer(text: str) -> str:
    start = time.perf_counter()
    html = render.render_html(text, diagrams=None)
    elapsed = time.perf_counter() - start
    note = " (shown as text, with a note)" if "render-note" in html else ""
    return f"{elapsed:.2f} s{note}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cap", type=float, default=120.0, help="seconds the old renderer may take per input")
    args = parser.parse_args(argv)
    rows = []
    for name, text in cases():
        rows.append((name, f"{len(text):,}", old_renderer(text, args.cap), new_renderer(text)))
        print(" | ".join(rows[-1]), flush=True)
    table = "\n".join([
        "## Rendering (preview and exports)",
        "",
        "Material: inputs built by `bench/render.py` (our own): nested-bracket drafts, a list nested 400 "
        "levels, a peer article with math, a diagram, code and a table repeated to ~60 KB. One run on "
        "the 2-core reference machine; the old renderer ran in a subprocess capped at "
        f"{args.cap:.0f} s per input. The old path left math unconverted (and `\\\\` broken), so its article time "
        "is for less work.",
        "",
        "| input | characters | Python-Markdown + nh3 (before) | engine.render (markdown-it-py + latex2mathml + nh3) |",
        "|---|---:|---|---|",
        *[f"| {a} | {b} | {c} | {d} |" for a, b, c, d in rows],
    ])
    print(table)
    write_section("render", table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
