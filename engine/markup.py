"""Markdown structure every stage shares: prose blocks, the sentence splitter, `[n]` citations, reference sections.

One home, so that verify, the checks, drafting, merge and export agree: "See Tab. 2 for numbers." is one
sentence everywhere, `[2-4]` means sources 2, 3 and 4 everywhere (and stays a range when renumbered), and
"## Citations" starts the reference list for every stage alike.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Iterable, Mapping

# ------------------------------------------------------------------------- reference sections
# Headings whose section body is a list of sources, not prose.
REFERENCE_HEADINGS = frozenset({"references", "bibliography", "sources", "works cited", "citations"})
# A whole Markdown heading line naming the reference list ("## References", "### Citations ##").
REFERENCE_HEADING_LINE = re.compile(
    r"^ {0,3}#{1,6}[ \t]+[*_]*(?:" + "|".join(sorted(REFERENCE_HEADINGS)) + r")[*_: \t]*#*[ \t]*$", re.I | re.M)


def is_reference_heading(text: str) -> bool:
    """True when a heading's text ("References", "**Bibliography:**") names a reference list."""
    return text.strip().strip("*_ :").strip().lower() in REFERENCE_HEADINGS


# ------------------------------------------------------------------------- citations
# "[1]", "[1, 3]", "[2-4]", "[2–4]", "[1; 5]": numbers, ranges and lists inside one pair of brackets.
CITATION = re.compile(r"\[(\d{1,4}(?:\s*[-\u2013,;]\s*\d{1,4})*)\]")
_PART_SEPARATOR = re.compile(r"\s*[,;]\s*")
_RANGE_DASH = re.compile(r"\s*[-\u2013]\s*")
_MAX_RANGE = 50  # "[1-9999]" is a typo, not 9999 citations


def _parts(group: str) -> list[tuple[int, ...]]:
    """The parts of one citation's inside: (n,) for a number, (low, high) for a range."""
    parts: list[tuple[int, ...]] = []
    for part in _PART_SEPARATOR.split(group):
        bounds = tuple(int(b) for b in _RANGE_DASH.split(part) if b)
        if bounds:
            parts.append(bounds[:2] if len(bounds) >= 2 else bounds)
    return parts


def _expand(part: tuple[int, ...]) -> Iterable[int]:
    if len(part) == 2 and 0 <= part[1] - part[0] <= _MAX_RANGE:
        return range(part[0], part[1] + 1)
    return part


def citation_numbers(group: str) -> list[int]:
    """The numbers one citation's inside ('1, 3', '2-4') stands for, in order, without repeats."""
    numbers: list[int] = []
    for part in _parts(group):
        numbers.extend(n for n in _expand(part) if n not in numbers)
    return numbers


def citations_in(text: str) -> list[int]:
    """Citation numbers in `text`, in order, without repeats: `[1]`, `[1, 3]`, `[2-4]` forms."""
    numbers: list[int] = []
    for match in CITATION.finditer(text):
        numbers.extend(n for n in citation_numbers(match.group(1)) if n not in numbers)
    return numbers


def strip_citations(text: str) -> str:
    """`text` without its `[n]` markers (for scoring the claim itself)."""
    return re.sub(r"\s+([.,;:!?])", r"\1", CITATION.sub("", text)).strip()


def format_citation(numbers: Iterable[int]) -> str:
    """One citation marker for `numbers` in the given order: runs of three or more as ranges ('[1-3, 7]')."""
    ordered = list(dict.fromkeys(numbers))
    pieces: list[str] = []
    i = 0
    while i < len(ordered):
        j = i
        while j + 1 < len(ordered) and ordered[j + 1] == ordered[j] + 1:
            j += 1
        if j - i >= 2:
            pieces.append(f"{ordered[i]}-{ordered[j]}")
        else:
            pieces.extend(str(n) for n in ordered[i:j + 1])
        i = j + 1
    return "[" + ", ".join(pieces) + "]" if pieces else ""


def renumber_citations(text: str, numbers: Mapping[int, int]) -> str:
    """Every citation in `text` with its numbers mapped through `numbers` (numbers not in it kept).

    Every source a marker stands for survives: a range whose new numbers are still consecutive stays a
    range ('[2-4]' → '[1-3]'), otherwise it becomes the list of the new numbers; plain lists stay lists.
    """
    def renumber(match: re.Match) -> str:
        pieces: list[str] = []
        for part in _parts(match.group(1)):
            if len(part) == 2 and 0 <= part[1] - part[0] <= _MAX_RANGE:
                mapped = [numbers.get(n, n) for n in range(part[0], part[1] + 1)]
                consecutive = all(b == a + 1 for a, b in zip(mapped, mapped[1:]))
                pieces.append(f"{mapped[0]}-{mapped[-1]}" if consecutive and len(mapped) > 1
                              else ", ".join(str(n) for n in mapped))
            else:
                pieces.extend(str(numbers.get(n, n)) for n in part)
        return "[" + ", ".join(pieces) + "]"

    return CITATION.sub(renumber, text)


def appearance_order(text: str) -> dict[int, int]:
    """Old citation number → new number, 1, 2, … in order of first appearance in `text` (ranges expanded)."""
    return {number: n for n, number in enumerate(citations_in(text), start=1)}


# ------------------------------------------------------------------------- display math
MATH_ENVIRONMENTS = ("equation", "align", "aligned", "alignat", "alignedat", "gather", "gathered", "multline",
                     "eqnarray", "split", "cases", "matrix", "pmatrix", "bmatrix", "vmatrix", "Vmatrix", "array",
                     "displaymath", "math")
# Display math: $$ … $$, \[ … \], or a bare LaTeX math environment (\begin{aligned} … \end{aligned}).
MATH_OPEN = re.compile(r"^ {0,3}(\$\$|\\\[|\\begin\{(" + "|".join(MATH_ENVIRONMENTS) + r")\*?\})")


def display_math_closer(line: str) -> str | None:
    """What closes the display math that `line` opens ('$$', '\\]' or '\\end{env}'), or None if it opens none."""
    match = MATH_OPEN.match(line)
    if match is None:
        return None
    opener = match.group(1)
    if opener.startswith("\\begin"):
        return "\\end" + opener[len("\\begin"):]
    return "$$" if opener == "$$" else "\\]"


# ------------------------------------------------------------------------- prose blocks
_HEADING = re.compile(r"^ {0,3}(#{1,6})\s+(.*?)\s*#*\s*$")
_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")
_TABLE = re.compile(r"^\s*\|")
_TABLE_RULE = re.compile(r"^\s*:?-{3,}:?\s*(\|\s*:?-{3,}:?\s*)*\|?\s*$")
REFERENCE_ENTRY = re.compile(r"^\s*\[\d+\]\s")  # "[3] Vaswani et al. ..." outside a References heading
_IMAGE_ONLY = re.compile(r"^\s*!\[[^\]]*\]\([^)]*\)\s*$")
_RULE = re.compile(r"^\s*([-*_])(\s*\1){2,}\s*$")
LIST_MARKER = re.compile(r"^(\s*(?:[-*+]|\d{1,3}[.)])\s+)")
_QUOTE_MARKER = re.compile(r"^(\s*(?:>\s?)+)")


def prose_blocks(markdown: str) -> list[tuple[int, int]]:
    """(start, end) character ranges of prose paragraphs and list items, skipping non-prose.

    Skipped: headings, fenced code, display math, HTML comments and tags, tables, rules, images alone on a
    line, `[n] entry` lines and the body of a reference section."""
    blocks: list[tuple[int, int]] = []
    current: list[int] | None = None  # [start, end]
    fence: str | None = None
    math_closer: str | None = None  # what ends the display math block being skipped
    in_references = False
    references_level = 0
    in_comment = False
    offset = 0

    def close() -> None:
        nonlocal current
        if current is not None:
            blocks.append((current[0], current[1]))
            current = None

    for line in markdown.splitlines(keepends=True):
        start, body = offset, line.rstrip("\r\n")
        offset += len(line)
        if fence is not None:
            if body.strip().startswith(fence):
                fence = None
            continue
        if math_closer is not None:  # display math is not prose: never a sentence to verify
            if math_closer in body:
                math_closer = None
            continue
        math_open = display_math_closer(body)
        if math_open is not None:
            close()
            opened = body.lstrip()
            rest = opened[len(opened.split("}", 1)[0]) + 1:] if opened.startswith("\\begin") else opened[2:]
            math_closer = None if math_open in rest else math_open
            continue
        if in_comment:
            if "-->" in body:
                in_comment = False
            continue
        fence_match = _FENCE.match(body)
        if fence_match:
            close()
            fence = fence_match.group(1)[0] * 3
            continue
        heading = _HEADING.match(body)
        if heading:
            close()
            level = len(heading.group(1))
            if is_reference_heading(heading.group(2)):
                in_references, references_level = True, level
            elif in_references and level <= references_level:
                in_references = False
            continue
        if body.lstrip().startswith("<!--"):
            close()
            in_comment = "-->" not in body
            continue
        if (in_references or not body.strip() or _TABLE.match(body) or _TABLE_RULE.match(body)
                or REFERENCE_ENTRY.match(body) or _IMAGE_ONLY.match(body) or _RULE.match(body)
                or body.lstrip().startswith("<")):
            close()
            continue
        prefix = LIST_MARKER.match(body) or _QUOTE_MARKER.match(body)
        text_start = start + (prefix.end() if prefix else len(body) - len(body.lstrip()))
        if LIST_MARKER.match(body):
            close()  # each list item is its own block
        if current is None:
            current = [text_start, start + len(body)]
        else:
            current[1] = start + len(body)
    close()
    return blocks


# ------------------------------------------------------------------------- sentences
# Words whose trailing period never ends a sentence in technical prose. "etc." is not one: before a
# capital it ends the sentence more often than not.
ABBREVIATIONS = frozenset({
    "e.g", "i.e", "cf", "vs", "al", "et", "fig", "figs", "eq", "eqs", "sec", "secs", "tab", "ref", "refs",
    "dr", "mr", "ms", "mrs", "prof", "no", "nos", "approx", "resp", "ch", "vol", "pp", "jr", "sr", "incl", "esp",
    "st", "inc", "ltd", "co", "ca", "viz", "appx", "def", "thm", "lem", "alg",
})
# A sentence ends at . ! ? (plus closing quotes/brackets and trailing citations) before whitespace.
_END = re.compile(r"[.!?]+[\"'\u201d\u2019)\]]*(?:\s*\[\d[\d,;\s\-\u2013]*\])*(?=\s|$)")
_LAST_WORD = re.compile(r"([A-Za-z][A-Za-z.]*)$")


@dataclass(frozen=True)
class SentenceSpan:
    """One prose sentence: `markdown[offset:offset + length] == text`."""

    offset: int
    length: int
    text: str


def _is_abbreviation(text: str, start: int, period_at: int) -> bool:
    """True when the period at `period_at` closes an abbreviation or an initial, not a sentence."""
    word_match = _LAST_WORD.search(text, start, period_at)
    if word_match is None:
        return False
    word = word_match.group(1).rstrip(".").lower()
    if word in ABBREVIATIONS:
        return True
    # Initials such as "J. Smith" or "A. Vaswani" (one capital letter).
    return len(word_match.group(1)) == 1 and word_match.group(1).isupper()


def sentence_bounds(text: str, start: int = 0, end: int | None = None) -> list[tuple[int, int]]:
    """(start, end) of each sentence in text[start:end], surrounding whitespace trimmed: the one splitter.

    A sentence ends at '.', '!' or '?' (with closing quotes, brackets and `[n]` markers) before whitespace,
    unless the period closes an abbreviation ('Tab.', 'e.g.', 'et al.') or an initial, or the next word
    starts in lower case."""
    end = len(text) if end is None else end
    bounds: list[tuple[int, int]] = []
    cursor = start
    for match in _END.finditer(text, start, end):
        if match.group().startswith(".") and _is_abbreviation(text, cursor, match.start()):
            continue
        nxt = match.end()
        while nxt < end and text[nxt].isspace():
            nxt += 1
        if nxt < end and not (text[nxt].isupper() or text[nxt].isdigit() or text[nxt] in "\"'\u201c*_`([$"):
            continue  # "the k. nearest" or a lower-case continuation: not a boundary
        _add_bounds(bounds, text, cursor, match.end())
        cursor = match.end()
    _add_bounds(bounds, text, cursor, end)
    return bounds


def _add_bounds(bounds: list[tuple[int, int]], text: str, start: int, end: int) -> None:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    if end > start:
        bounds.append((start, end))


def sentences_of_text(text: str) -> list[SentenceSpan]:
    """The sentences of plain text (a passage, one paragraph) with offsets into it; letterless pieces dropped."""
    return [SentenceSpan(s, e - s, text[s:e]) for s, e in sentence_bounds(text) if re.search(r"[A-Za-z]", text[s:e])]


def split_sentences(markdown: str) -> list[SentenceSpan]:
    """Prose sentences of `markdown` in order; headings, code, tables, comments and references skipped."""
    spans: list[SentenceSpan] = []
    for start, end in prose_blocks(markdown):
        spans.extend(SentenceSpan(s, e - s, markdown[s:e]) for s, e in sentence_bounds(markdown, start, end)
                     if re.search(r"[A-Za-z]", markdown[s:e]))
    return spans
