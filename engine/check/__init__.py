"""Check stage: pure functions from a Markdown draft to reports with character offsets into it.

`run_checks` runs every check and returns {check name: report}. Each report is a small
dataclass with `to_dict()` (the JSON the CLI prints under the check's name) and
`summary_lines()` (what the CLI prints for humans).
"""

from __future__ import annotations

from typing import Callable, Iterable, Sequence

from engine.check.jargon import JargonReport, check_jargon
from engine.check.readability import DEFAULT_AUDIENCE, TargetBand, readability
from engine.check.style import check_style
from engine.markup import prose_map, sentences
from engine.records import Passage


def run_checks(markdown: str, *, assumed_terms: Iterable[str] = (),
               search: Callable[[str], Sequence[Passage]] | None = None,
               audience: str | None = None,
               readability_target: str | TargetBand = DEFAULT_AUDIENCE) -> dict:
    """Every check on one draft: {"jargon": JargonReport, ...}; later checks add their own keys."""
    pm = prose_map(markdown)
    results: dict = {}
    results["jargon"] = check_jargon(markdown, assumed_terms=assumed_terms, search=search, audience=audience, pm=pm)
    # Further checks (readability, style) add their reports here, each under its own key.
    split = sentences(pm)  # shared by readability and style
    results["readability"] = readability(pm, target=readability_target, split=split)
    results["style"] = check_style(pm, split=split)
    return results


__all__ = ["JargonReport", "check_jargon", "run_checks"]
