"""Markdown structure every stage shares: prose blocks, the sentence splitter, `[n]` citations, reference sections.

One home, so that verify, the checks, drafting, merge and export agree: "See Tab. 2 for numbers." is one
sentence everywhere, `[2-4]` means sources 2, 3 and 4 everywhere (and stays a range when renumbered), and
"## Citations" starts the reference list for every stage alike.

`prose_map` turns a draft into its prose as plain text with a map back to the draft's offsets; the checks
read `ProseMap.text` and report at draft offsets (`ProseMap.to_original`), verify reads the same blocks in
the draft itself (`prose_blocks`, `split_sentences`), citations kept. Excluded from the prose: front
matter, fenced and indented code blocks, inline code, URLs, citation markers ([1], [1-3], [@key], [^1]),
tables, math ($...$, $$...$$, \\(...\\), \\[...\\]), HTML tags and comments, images, link targets,
link-definition lines, horizontal rules, the body of a reference section or of a reference list with no heading
(5 or more list items shaped like entries: "1. Kneser, R., & Ney, H. (1995). ..."), site template tags ({% ... %},
{{ ... }}), kramdown attribute lines ({: ...}, {:toc}) and table-of-contents markers ("* TOC", "[TOC]"),
link texts that are a citation ("[Karpukhin et al., 2020](...)"), a path ("[slides/part4](...)") or a
person's profile link, and raw HTML blocks (<pre> to its closing tag, <div>/<table>/... to the next blank
line, or to the closing tag of a <script>/<style>/<pre> opened inside them). Headings are not prose either; they make up the section structure (`ProseMap.sections`).
"""

from __future__ import annotations

import re
from bisect import bisect_right
from dataclasses import dataclass, replace
from typing import Iterable, Mapping

# ------------------------------------------------------------------------- reference sections
# Headings whose section body is a list of sources, not prose.
REFERENCE_HEADINGS = frozenset({"references", "bibliography", "sources", "works cited", "citations"})
_REFERENCE_NAME = r"[*_]*(?:" + "|".join(sorted(REFERENCE_HEADINGS)) + r")[*_: \t]*"
# A whole Markdown heading naming the reference list: "## References", "### Citations ##", or "References"
# underlined with === or --- after a blank line (a setext heading, as `prose_map` reads it).
REFERENCE_HEADING_LINE = re.compile(
    r"^ {0,3}#{1,6}[ \t]+" + _REFERENCE_NAME + r"#*[ \t]*$"
    r"|(?:\A|(?<=\n\n)) {0,3}" + _REFERENCE_NAME + r"\n {0,3}(?:=+|-+)[ \t]*$", re.I | re.M)


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


# ------------------------------------------------------------------------- prose
REFERENCE_ENTRY = re.compile(r"^\s*\[\d+\]\s")  # "[3] Vaswani et al. ..." outside a References heading
LIST_MARKER = re.compile(r"^(\s*(?:[-*+]|\d{1,3}[.)])\s+)")

@dataclass(frozen=True)
class Heading:
    """One Markdown heading: its level, its text and where its line sits in the draft."""

    level: int
    text: str
    offset: int  # start of the heading line in the draft
    length: int  # length of the heading line (without the newline)


@dataclass(frozen=True)
class Block:
    """One prose block (paragraph, list item, quote paragraph) as a span of `ProseMap.text`."""

    kind: str  # paragraph | list_item | quote
    start: int
    end: int
    section: int  # index into ProseMap.sections
    source_start: int = 0  # the block in the draft: its first line after any list or quote marker ...
    source_end: int = 0  # ... to the end of its last line (inline code, citations and math included)


@dataclass(frozen=True)
class SectionSpan:
    """A heading and the draft text up to the next heading of any level; index 0 may be a preamble."""

    heading: Heading | None  # None: text before the first heading
    offset: int  # draft offset where the section starts (its heading line)
    end: int  # draft offset where it ends
    text_start: int  # span of ProseMap.text holding its prose
    text_end: int

    @property
    def title(self) -> str:
        return self.heading.text if self.heading else "(before the first heading)"


@dataclass(frozen=True)
class Excluded:
    """A span of the draft left out of the prose, and why (code, url, citation, table, math, ...)."""

    kind: str
    offset: int
    length: int


@dataclass(frozen=True)
class ProseMap:
    """The prose of a draft as plain text, its blocks and sections, and offsets back to the draft."""

    source: str
    text: str
    blocks: tuple[Block, ...]
    sections: tuple[SectionSpan, ...]
    excluded: tuple[Excluded, ...]
    _text_starts: tuple[int, ...]  # where each copied piece starts in `text` ...
    _source_starts: tuple[int, ...]  # ... where it came from in `source` ...
    _lengths: tuple[int, ...]  # ... and how long it is

    @property
    def headings(self) -> tuple[Heading, ...]:
        return tuple(s.heading for s in self.sections if s.heading is not None)

    def to_original(self, index: int) -> int:
        """The draft offset of character `index` of `text` (a separator maps to the end of the piece before it)."""
        if not self._text_starts:
            return 0
        piece = max(0, bisect_right(self._text_starts, index) - 1)
        delta = min(max(0, index - self._text_starts[piece]), self._lengths[piece])
        return self._source_starts[piece] + delta

    def original_span(self, start: int, end: int) -> tuple[int, int]:
        """(offset, length) of the draft span covering text[start:end]."""
        first = self.to_original(start)
        if end <= start:
            return first, 0
        last = self.to_original(end - 1) + 1
        return first, max(0, last - first)

    def section_of(self, index: int) -> int:
        """Index of the section whose prose holds character `index` of `text`."""
        starts = [s.text_start for s in self.sections]
        return max(0, bisect_right(starts, index) - 1)


# --- block level -----------------------------------------------------------------------

_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")
_ATX = re.compile(r"^ {0,3}(#{1,6})(?:[ \t]+(.*?))?(?:[ \t]+#+)?[ \t]*$")
_SETEXT = re.compile(r"^ {0,3}(=+|-+)[ \t]*$")
_HR = re.compile(r"^ {0,3}([-*_])(?:[ \t]*\1){2,}[ \t]*$")
_TABLE_DELIM = re.compile(r"^ {0,3}\|?[ \t]*:?-+:?[ \t]*(\|[ \t]*:?-+:?[ \t]*)*\|?[ \t]*$")
_LIST = re.compile(r"^( {0,3}(?:[-*+]|\d{1,9}[.)])[ \t]+)(?:\[[ xX]\][ \t]+)?")
_QUOTE = re.compile(r"^ {0,3}>[ \t]?")
_LINK_DEF = re.compile(r"^ {0,3}\[[^\]]+\]:[ \t]*\S")
_COMMENT_OPEN = re.compile(r"^ {0,3}<!--")
# CommonMark's HTML blocks of kinds 3 and 4, a page's "<!DOCTYPE html>" and "<?xml ...?>": each runs to its ">".
_DECLARATION_OPEN = re.compile(r"^ {0,3}<(?:![A-Za-z]|\?)")
_HTML_BLOCK = re.compile(r"^ {0,3}</?[A-Za-z][\w-]*(?:\s[^>]*)?/?>\s*$|^ {0,3}<!--")
# Raw HTML blocks (CommonMark's kinds 1 and 6): <pre>/<script>/<style>/<textarea> run to their closing
# tag, block-level tags (<div>, <table>, <figure>, <p>, ...) to the next blank line. Neither is prose.
_HTML_RAW_OPEN = re.compile(r"^ {0,3}<(pre|script|style|textarea)(?:\s|>|$)", re.IGNORECASE)
_HTML_RAW_INSIDE = re.compile(r"<(pre|script|style|textarea)(?:\s[^>]*)?>", re.IGNORECASE)
_HTML_BLOCK_OPEN = re.compile(
    r"^ {0,3}</?(?:address|article|aside|blockquote|center|details|dialog|div|dl|fieldset|figcaption|figure|footer|"
    r"form|h[1-6]|header|hr|iframe|img|li|nav|ol|p|section|summary|table|tbody|td|tfoot|th|thead|tr|ul|video|audio|"
    r"svg|source|picture)(?:\s|/?>|$)",
    re.IGNORECASE)
_ATTRIBUTE_LINE = re.compile(r"^ {0,3}\{:[^}]*\}\s*$")  # kramdown: {: class="table-of-content"}, {:toc}
_TOC_MARKER = re.compile(r"^ {0,3}(?:[-*+]\s+TOC|\[TOC\]|\[\[_?TOC_?\]\]|\{:toc\})\s*$", re.IGNORECASE)
# A link text that cites people ("Karpukhin et al., 2020", "Baudis & Sedivy (2015)", "Yih, et al., 2011").
_NAME = r"[A-Z][A-Za-z'’-]+"
CITATION_TEXT = re.compile(
    rf"^\s*(?:{_NAME}(?:\s+{_NAME})?)(?:\s*(?:&|and)\s*{_NAME})?(?:,?\s+et\s+al\.?)?,?\s*[(\[]?(?:19|20)\d\d[a-z]?[)\]]?\s*$")
# A link to a person's profile: its text is a name or a handle ("[Yoav Goldberg](https://twitter.com/yoavgo)").
_PROFILE_TARGET = re.compile(r"^\s*<?https?://(?:www\.)?(?:twitter\.com|x\.com|github\.com|linkedin\.com/in|medium\.com/@|"
                             r"instagram\.com|facebook\.com)/[^/\s)]+/?\s*>?\s*$", re.IGNORECASE)
_PATH_TEXT = re.compile(r"^[\w.-]+(?:/[\w.-]+)+/?$|^[\w-]+\.(?:pdf|html?|md|py|ipynb|txt)$", re.IGNORECASE)

# --- inline level ----------------------------------------------------------------------

# The lookahead lets the scanner skip ordinary characters without trying every alternative.
_INLINE = re.compile(
    r"(?=[`!\[<$\\*_~hfwHFW{])(?:"
    r"(?P<code>(?P<ticks>`+)[^`].*?(?P=ticks))"
    r"|(?P<template>\{%.*?%\}|\{\{.*?\}\}|\{:[^}\n]*\})"
    r"|(?P<image>!\[[^\]\n]*\]\([^)\n]*\))"
    r"|(?P<link>\[(?P<link_text>[^\]\n]+)\](?:\((?P<link_target>[^)\n]*)\)|\[[^\]\n]*\]))"
    r"|(?P<citation>\[(?:\d+(?:\s*[-–,;]\s*\d+)*|@[^\]\n]+|\^[^\]\n]+)\])"
    r"|(?P<url><(?:https?|ftp|mailto):[^>\s]+>|\b(?:https?|ftp)://[^\s<>)\]]+|\bwww\.[^\s<>)\]]+\.[^\s<>)\]]+)"
    r"|(?P<math>\$\$.+?\$\$|\$(?=[^\s$])[^$\n]*?(?<=[^\s\\])\$(?!\d)|\\\(.+?\\\))"
    r"|(?P<html><!--.*?-->|</?[A-Za-z][\w-]*(?:\s[^<>]*)?/?>)"
    r"|(?P<emphasis>(?<!\w)(?:\*{1,3}|_{1,3}|~~)(?=\S)|(?<=\S)(?:\*{1,3}|_{1,3}|~~)(?!\w)))"
)
_TRAILING_URL_PUNCT = ".,;:!?'\""


class _Builder:
    """Accumulates copied pieces of the draft into the prose text."""

    def __init__(self, source: str):
        self.source = source
        self.parts: list[str] = []
        self.size = 0
        self.text_starts: list[int] = []
        self.source_starts: list[int] = []
        self.lengths: list[int] = []
        self.excluded: list[Excluded] = []

    def copy(self, start: int, end: int) -> None:
        if end <= start:
            return
        self.text_starts.append(self.size)
        self.source_starts.append(start)
        self.lengths.append(end - start)
        self.parts.append(self.source[start:end])
        self.size += end - start

    def separate(self, sep: str) -> None:
        if self.size and sep:
            self.parts.append(sep)
            self.size += len(sep)

    def exclude(self, kind: str, start: int, end: int) -> None:
        if end > start:
            self.excluded.append(Excluded(kind, start, end - start))

    def copy_inline(self, start: int, end: int) -> None:
        """Copy draft[start:end], leaving out inline code, URLs, citations, math and tags."""
        pos = start
        for match in _INLINE.finditer(self.source, start, end):
            kind = match.lastgroup if match.lastgroup != "ticks" else "code"
            kind = "code" if match.group("code") else kind
            m_start, m_end = match.span()
            if kind == "url":
                # A sentence-final full stop is not part of the URL.
                while m_end > m_start and self.source[m_end - 1] in _TRAILING_URL_PUNCT:
                    m_end -= 1
            self.copy(pos, m_start)
            target = match.group("link_target") or ""
            if match.group("link") and (CITATION_TEXT.match(match.group("link_text")) or _PROFILE_TARGET.match(target)
                                        or _PATH_TEXT.match(match.group("link_text").strip())):
                citation = CITATION_TEXT.match(match.group("link_text")) or _PROFILE_TARGET.match(target)
                self.exclude("citation" if citation else "url", m_start, m_end)
            elif match.group("link"):
                self.copy(*match.span("link_text"))
                if match.group("link_target") is not None:
                    self.exclude("url", match.end("link_text") + 1, m_end)
            elif kind != "emphasis":
                self.exclude(kind, m_start, m_end)
            pos = m_end
        self.copy(pos, end)


# A list item that reads as a reference entry: authors, then the year in brackets ("1. Kneser, R., & Ney, H.
# (1995, May). Improved backing-off …", "[12] Mikolov, T. et al. (2013a).").
_REFERENCE_ITEM = re.compile(r"^\s{0,8}(?:<li\b[^>]*>\s*)?(?:(?:\d{1,4}[.)]|\[\d{1,4}\]|[-*+])\s+)?[A-Z][^\n()]{0,300}?[(\[](?:19|20)\d\d[a-z]?\b")
# Its authors as reference lists write them: "Kneser, R.,", "Nivre, J., De Marneffe, M. C.", "Mikolov et al."
_REFERENCE_AUTHORS = re.compile(r"[A-Z][\w'’-]+,\s+(?:[A-Z]\.\s?-?)+|\bet\s+al\b|[A-Z][\w'’-]+,?\s+&\s+[A-Z]")
# What else a rendered reference list holds between its entries: "85. <div id=\"fn85\">", "</div>".
_REFERENCE_WRAPPER = re.compile(r"^\s*(?:(?:\d{1,4}[.)]|\[\d{1,4}\])\s+)?</?[A-Za-z][^>]*>\s*$")
UNHEADED_REFERENCES_MIN = 5  # so many entries in a row, with nothing else between them, make a reference list


def _unheaded_references(draft: str, lines: list[tuple[int, int]]) -> set[int]:
    """The line indices of reference lists with no heading of their own: a run of at least
    UNHEADED_REFERENCES_MIN list items shaped like reference entries, separated only by blank lines or the
    entries' own continuation lines. Their names, venues and title words are no prose."""
    found: set[int] = set()
    run: list[int] = []  # lines of the current run
    entries = 0

    def close() -> None:
        nonlocal run, entries
        if entries >= UNHEADED_REFERENCES_MIN:
            found.update(run)
        run, entries = [], 0

    for i, (start, end) in enumerate(lines):
        line = draft[start:end]
        entry = _REFERENCE_ITEM.match(line)
        if entry and _REFERENCE_AUTHORS.search(entry.group(0)):
            run.append(i)
            entries += 1
        elif run and (not line.strip() or line.startswith((" ", "\t")) or _REFERENCE_WRAPPER.match(line)):
            run.append(i)  # a blank line or an entry's continuation
        else:
            close()
    close()
    return found


def prose_map(draft: str) -> ProseMap:
    """Split a Markdown draft into prose text, blocks and sections, with offsets back into it."""
    lines = _lines(draft)
    builder = _Builder(draft)
    sections: list[dict] = [dict(heading=None, offset=0, text_start=0)]
    blocks: list[Block] = []
    setext = _setext_headings(draft, lines)
    unheaded_references = _unheaded_references(draft, lines)
    in_references = False
    references_level = 0  # a subsection of the reference list ("### Books") is part of it
    block: dict | None = None  # the open prose block: kind, text_start

    def close_block() -> None:
        nonlocal block
        if block is not None:
            if builder.size > block["start"]:
                blocks.append(Block(block["kind"], block["start"], builder.size, len(sections) - 1,
                                    block["source_start"], block["source_end"]))
            block = None

    def open_block(kind: str) -> None:
        nonlocal block
        close_block()
        builder.separate("\n\n")
        block = {"kind": kind, "start": builder.size, "source_start": None, "source_end": None}

    def start_section(heading: Heading) -> None:
        nonlocal in_references, references_level
        close_block()
        sections.append(dict(heading=heading, offset=heading.offset, text_start=builder.size))
        if is_reference_heading(heading.text):
            in_references, references_level = True, heading.level
        elif heading.level <= references_level or not in_references:
            in_references = False

    i = _front_matter_end(draft, lines, builder)
    prev_blank = True
    list_context = False
    while i < len(lines):
        start, end = lines[i]
        line = draft[start:end]
        stripped = line.strip()
        if not stripped:
            close_block()
            prev_blank = True
            i += 1
            continue
        fence = _FENCE.match(line)
        if fence:
            close_block()
            i = _skip_fence(draft, lines, i, fence.group(1), builder)
            prev_blank = True
            continue
        if MATH_OPEN.match(line):
            close_block()
            i = _skip_display_math(draft, lines, i, builder)
            prev_blank = True
            continue
        if i in setext:
            level, heading_end_line = setext[i]
            text = stripped
            start_section(Heading(level, _heading_text(text), start, end - start))
            i = heading_end_line + 1
            prev_blank = True
            continue
        atx = _ATX.match(line)
        if atx:
            start_section(Heading(len(atx.group(1)), _heading_text(atx.group(2) or ""), start, end - start))
            i += 1
            prev_blank = True
            continue
        if _HR.match(line):
            close_block()
            builder.exclude("rule", start, end)
            i += 1
            prev_blank = True
            continue
        if "|" in line and i + 1 < len(lines) and _TABLE_DELIM.match(draft[slice(*lines[i + 1])]) \
                and "|" in draft[slice(*lines[i + 1])] + line:
            close_block()
            i = _skip_table(draft, lines, i, builder)
            prev_blank = True
            continue
        if prev_blank and not list_context and (line.startswith("    ") or line.startswith("\t")):
            close_block()
            i = _skip_indented_code(draft, lines, i, builder)
            prev_blank = True
            continue
        if _ATTRIBUTE_LINE.match(line) or _TOC_MARKER.match(line):
            close_block()
            builder.exclude("table of contents" if _TOC_MARKER.match(line) else "attribute", start, end)
            i += 1
            prev_blank = True
            continue
        # An HTML comment interrupts a paragraph and runs to its "-->"; a saved web page's "<!DOCTYPE html>" or an
        # "<?xml ...?>" to its ">" (the jargon check had read "DOCTYPE" as a term).
        if opened := (_COMMENT_OPEN.match(line) or _DECLARATION_OPEN.match(line)):
            close_block()
            end_mark = "-->" if opened.group().endswith("<!--") else ">"
            n, rest = i, line[opened.end():]
            while end_mark not in rest and n + 1 < len(lines):
                n += 1
                rest = draft[slice(*lines[n])]
            builder.exclude("html", start, lines[n][1])
            i = n + 1
            prev_blank = True
            continue
        raw = _HTML_RAW_OPEN.match(line)
        if block is None and (raw or _HTML_BLOCK_OPEN.match(line)):
            n = i
            closing = re.compile(rf"</{raw.group(1)}\s*>", re.IGNORECASE) if raw else None
            while n < len(lines) and (closing.search(draft[slice(*lines[n])]) is None if closing
                                      else draft[slice(*lines[n])].strip()):
                n += 1
            last = min(n, len(lines) - 1) if closing else max(i, n - 1)
            if not closing:
                # A <script>/<style>/<pre> opened inside a block-level run ("<div …></div>" then "<script>" on the
                # next line) runs to its own closing tag past blank lines, as kramdown and browsers read it.
                inner = list(_HTML_RAW_INSIDE.finditer(draft[start:lines[last][1]]))
                tag_end = re.compile(rf"</{inner[-1].group(1)}\s*>", re.IGNORECASE) if inner else None
                if tag_end and tag_end.search(draft, start + inner[-1].end(), lines[last][1]) is None:
                    closing = tag_end
                    while last + 1 < len(lines) and closing.search(draft[slice(*lines[last])]) is None:
                        last += 1
            builder.exclude("html", start, lines[last][1])
            i = last + 1
            prev_blank = not closing
            continue
        if _HTML_BLOCK.match(line) and (block is None):
            builder.exclude("html", start, end)
            i += 1
            prev_blank = False
            continue
        if _LINK_DEF.match(line):
            close_block()
            builder.exclude("link definition", start, end)
            i += 1
            prev_blank = False
            continue
        if in_references or i in unheaded_references:
            close_block()
            builder.exclude("references", start, end)
            i += 1
            prev_blank = False
            continue

        content = start
        kind = "paragraph"
        quote = _QUOTE.match(line)
        if quote:
            content = start + quote.end()
            kind = "quote"
        item = _LIST.match(draft[content:end])
        if item:
            content += item.end()
            kind = "list_item"
            list_context = True
        elif prev_blank and not line.startswith((" ", "\t")):
            list_context = False
        if item or block is None or (quote and block["kind"] != "quote") or (prev_blank):
            open_block(kind)
        else:
            builder.separate("\n")
        # Leading indentation is layout, not prose.
        while content < end and draft[content] in " \t":
            content += 1
        if block["source_start"] is None:
            block["source_start"] = content
        block["source_end"] = end
        builder.copy_inline(content, end)
        prev_blank = False
        i += 1
    close_block()

    spans = []
    for n, sec in enumerate(sections):
        next_offset = sections[n + 1]["offset"] if n + 1 < len(sections) else len(draft)
        next_text = sections[n + 1]["text_start"] if n + 1 < len(sections) else builder.size
        spans.append(SectionSpan(sec["heading"], sec["offset"], next_offset, sec["text_start"], next_text))
    if len(spans) > 1 and spans[0].heading is None and not any(b.section == 0 for b in blocks):
        spans = spans[1:]
        blocks = [replace(b, section=b.section - 1) for b in blocks]
    return ProseMap(
        source=draft,
        text="".join(builder.parts),
        blocks=tuple(blocks),
        sections=tuple(spans),
        excluded=tuple(builder.excluded),
        _text_starts=tuple(builder.text_starts),
        _source_starts=tuple(builder.source_starts),
        _lengths=tuple(builder.lengths),
    )


def _lines(draft: str) -> list[tuple[int, int]]:
    """(start, end) of each line, end excluding the newline."""
    spans = []
    pos = 0
    for line in draft.splitlines(keepends=True):
        body = line.rstrip("\r\n")
        spans.append((pos, pos + len(body)))
        pos += len(line)
    return spans


def _heading_text(raw: str) -> str:
    # Headings may hold inline Markdown; keep the words, drop the markers.
    return re.sub(r"[`*_]|\[([^\]]*)\]\([^)]*\)", lambda m: m.group(1) or "", raw).strip()


def _front_matter_end(draft: str, lines: list[tuple[int, int]], builder: _Builder) -> int:
    if not lines:
        return 0
    first = draft[slice(*lines[0])].strip()
    if first not in ("---", "+++"):
        return 0
    for n in range(1, len(lines)):
        if draft[slice(*lines[n])].strip() in (first, "..."):
            builder.exclude("front matter", 0, lines[n][1])
            return n + 1
    return 0  # no closing line: it was a horizontal rule, not front matter


def _skip_fence(draft: str, lines, i: int, fence: str, builder: _Builder) -> int:
    start = lines[i][0]
    closing = re.compile(r"^ {0,3}" + re.escape(fence[0]) + "{" + str(len(fence)) + r",}[ \t]*$")
    n = i + 1
    while n < len(lines) and not closing.match(draft[slice(*lines[n])]):
        n += 1
    end_line = min(n, len(lines) - 1)
    builder.exclude("code", start, lines[end_line][1])
    return n + 1


def _skip_display_math(draft: str, lines, i: int, builder: _Builder) -> int:
    start, end = lines[i]
    line = draft[start:end]
    closer = display_math_closer(line) or "$$"
    opened = MATH_OPEN.match(line).end()
    if closer in line[opened:]:
        builder.exclude("math", start, end)
        return i + 1
    n = i + 1
    while n < len(lines) and closer not in draft[slice(*lines[n])]:
        n += 1
    end_line = min(n, len(lines) - 1)
    builder.exclude("math", start, lines[end_line][1])
    return n + 1


def _skip_table(draft: str, lines, i: int, builder: _Builder) -> int:
    start = lines[i][0]
    n = i + 2
    while n < len(lines) and "|" in draft[slice(*lines[n])] and draft[slice(*lines[n])].strip():
        n += 1
    builder.exclude("table", start, lines[n - 1][1])
    return n


def _skip_indented_code(draft: str, lines, i: int, builder: _Builder) -> int:
    start = lines[i][0]
    n = i
    last = i
    while n < len(lines):
        text = draft[slice(*lines[n])]
        if text.startswith("    ") or text.startswith("\t"):
            last = n
        elif text.strip():
            break
        n += 1
    builder.exclude("code", start, lines[last][1])
    return last + 1


def _setext_headings(draft: str, lines) -> dict[int, tuple[int, int]]:
    """{line index of heading text: (level, index of underline)} for `Title` + `===`/`---` pairs."""
    found = {}
    for n in range(1, len(lines)):
        under = _SETEXT.match(draft[slice(*lines[n])])
        if not under:
            continue
        text = draft[slice(*lines[n - 1])]
        before = draft[slice(*lines[n - 2])] if n >= 2 else ""
        if text.strip() and not before.strip() and not _ATX.match(text) and not _FENCE.match(text) \
                and not _LIST.match(text) and "|" not in text and not text.startswith(("    ", "\t")):
            if n - 1 == 0 and text.strip() in ("---", "+++"):
                continue
            found[n - 1] = (1 if under.group(1)[0] == "=" else 2, n)
    return found


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
    # Initials such as "J. Smith" or "A. Vaswani" (one capital letter standing alone: the "M" of "JFT-300M."
    # or "GPT-4V." ends a name, and the sentence).
    before = text[word_match.start() - 1] if word_match.start() > start else " "
    initial = len(word_match.group(1)) == 1 and word_match.group(1).isupper() and not (before.isalnum() or before in "-_")
    # ... but a name follows an initial, never "The" or "We": "a meta-parameter called T. The value of T is ..."
    # ends at "T." (session 16's distillation draft was verified as one sentence there).
    return initial and _OPENER_AFTER.match(text, period_at + 1) is None


_OPENER_AFTER = re.compile(r"\s+(?:The|This|These|Those|It|Its|We|Our|They|Their|In|For|With|When|Each|However|"
                           r"Thus|Then|Here|There|If|On)\b")


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


@dataclass(frozen=True)
class Sentence:
    """One sentence as a span of `ProseMap.text` (no surrounding whitespace) and its section."""

    start: int
    end: int
    section: int


def sentences(mapped: ProseMap) -> tuple[Sentence, ...]:
    """The sentences of the prose text, block by block; a block boundary always ends a sentence."""
    return tuple(Sentence(start, end, block.section) for block in mapped.blocks
                 for start, end in sentence_bounds(mapped.text, block.start, block.end))


def prose_blocks(markdown: str) -> list[tuple[int, int]]:
    """(start, end) in `markdown` of each prose block of `prose_map`, inline code and citations included.

    A block that opens with a `[n] entry` (a source listed outside a reference heading) is left out: it
    names a source, it claims nothing to verify."""
    return [(b.source_start, b.source_end) for b in prose_map(markdown).blocks
            if not REFERENCE_ENTRY.match(markdown[b.source_start:b.source_end])]


def split_sentences(markdown: str) -> list[SentenceSpan]:
    """Prose sentences of `markdown` in order; headings, code, tables, comments and references skipped."""
    spans: list[SentenceSpan] = []
    for start, end in prose_blocks(markdown):
        spans.extend(SentenceSpan(s, e - s, markdown[s:e]) for s, e in sentence_bounds(markdown, start, end)
                     if re.search(r"[A-Za-z]", markdown[s:e]))
    return spans
