"""Replace one named section of bench/results.md, atomically, leaving the others as they are."""

from __future__ import annotations

import os
import re
import sys
import tempfile
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results.md"


def write_section(name: str, markdown_text: str, path: Path = RESULTS) -> None:
    """Put `markdown_text` between `<!-- name:start -->` and `<!-- name:end -->`, appending if absent."""
    start, end = f"<!-- {name}:start -->", f"<!-- {name}:end -->"
    block = f"{start}\n{markdown_text.strip()}\n{end}"
    old = path.read_text(encoding="utf-8") if path.exists() else "# PeerDraft benchmark results\n"
    pattern = re.compile(re.escape(start) + r".*?" + re.escape(end), re.S)
    new = pattern.sub(lambda _: block, old) if pattern.search(old) else old.rstrip("\n") + "\n\n" + block + "\n"
    handle, tmp = tempfile.mkstemp(dir=path.parent, prefix=".results-", suffix=".md")
    with os.fdopen(handle, "w", encoding="utf-8") as out:
        out.write(new)
    os.replace(tmp, path)
    if path == RESULTS:
        refresh_readme_highlights()


def refresh_readme_highlights() -> None:
    """Redraw README.md's benchmark highlights from results.md; a figure it cannot find is reported, not fatal."""
    from bench import readme_table  # imported here: readme_table is a script that may change independently

    try:
        readme_table.main([])
    except readme_table.MissingFigure as exc:
        print(f"README.md highlights not updated: {exc}", file=sys.stderr)
