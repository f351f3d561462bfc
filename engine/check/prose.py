"""Which parts of a Markdown draft are prose, as plain text with a map back to the draft's offsets.

Every check that reads sentences (readability, style, jargon) works on `ProseMap.text`,
never on the raw Markdown, and reports findings at offsets in the original draft via
`ProseMap.to_original`. Excluded from the prose: front matter, fenced and indented code
blocks, inline code, URLs, citation markers ([1], [1-3], [@key], [^1]), tables, math
($...$, $$...$$, \\(...\\), \\[...\\]), HTML tags and comments, images, link targets,
link-definition lines, horizontal rules, the body of a References/Bibliography section, site
template tags ({% ... %}, {{ ... }}), kramdown attribute lines ({: ...}, {:toc}) and table-of-contents
markers ("* TOC", "[TOC]"), and link texts that are a citation ("[Karpukhin et al., 2020](...)")
or a path ("[slides/part4](...)") or a person's profile link; raw HTML blocks (<pre> to its closing
tag, <div>/<table>/... to the next blank line). `cited_names` gives the people a draft cites.
Headings are not prose either; they make up the section structure (`ProseMap.sections`).
"""

from __future__ import annotations

import re
from bisect import bisect_right
from dataclasses import dataclass

from engine.markup import MATH_OPEN
from engine.markup import display_math_closer, is_reference_heading, sentence_bounds



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
_HTML_BLOCK = re.compile(r"^ {0,3}</?[A-Za-z][\w-]*(?:\s[^>]*)?/?>\s*$|^ {0,3}<!--")
# Raw HTML blocks (CommonMark's kinds 1 and 6): <pre>/<script>/<style>/<textarea> run to their closing
# tag, block-level tags (<div>, <table>, <figure>, <p>, ...) to the next blank line. Neither is prose.
_HTML_RAW_OPEN = re.compile(r"^ {0,3}<(pre|script|style|textarea)(?:\s|>|$)", re.IGNORECASE)
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


def prose_map(draft: str) -> ProseMap:
    """Split a Markdown draft into prose text, blocks and sections, with offsets back into it."""
    lines = _lines(draft)
    builder = _Builder(draft)
    sections: list[dict] = [dict(heading=None, offset=0, text_start=0)]
    blocks: list[Block] = []
    setext = _setext_headings(draft, lines)
    in_references = False
    block: dict | None = None  # the open prose block: kind, text_start

    def close_block() -> None:
        nonlocal block
        if block is not None:
            if builder.size > block["start"]:
                blocks.append(Block(block["kind"], block["start"], builder.size, len(sections) - 1))
            block = None

    def open_block(kind: str) -> None:
        nonlocal block
        close_block()
        builder.separate("\n\n")
        block = {"kind": kind, "start": builder.size}

    def start_section(heading: Heading) -> None:
        nonlocal in_references
        close_block()
        sections.append(dict(heading=heading, offset=heading.offset, text_start=builder.size))
        in_references = is_reference_heading(heading.text)

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
        raw = _HTML_RAW_OPEN.match(line)
        if block is None and (raw or _HTML_BLOCK_OPEN.match(line)):
            n = i
            closing = re.compile(rf"</{raw.group(1)}\s*>", re.IGNORECASE) if raw else None
            while n < len(lines) and (closing.search(draft[slice(*lines[n])]) is None if closing
                                      else draft[slice(*lines[n])].strip()):
                n += 1
            last = min(n, len(lines) - 1) if closing else max(i, n - 1)
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
        if in_references:
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
        blocks = [Block(b.kind, b.start, b.end, b.section - 1) for b in blocks]
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


# --- sentences ---------------------------------------------------------------------------

@dataclass(frozen=True)
class Sentence:
    """One sentence as a span of `ProseMap.text` (no surrounding whitespace) and its section."""

    start: int
    end: int
    section: int


def sentences(mapped: ProseMap) -> tuple[Sentence, ...]:
    """The sentences of the prose, block by block (`engine.markup.sentence_bounds`); a block boundary ends one."""
    return tuple(Sentence(start, end, block.section) for block in mapped.blocks
                 for start, end in sentence_bounds(mapped.text, block.start, block.end))


# --- people cited ------------------------------------------------------------------------

_PERSON = r"[A-Z][a-z'’]+(?:-[A-Z][a-z]+)?"
_PROSE_CITATION = re.compile(
    rf"\b({_PERSON})(?:\s*(?:&|and)\s*({_PERSON}))?(?:,?\s+et\s+al\.?)?,?\s*[(\[]?(?:19|20)\d\d[a-z]?\b"
    rf"|\b({_PERSON})(?:,?\s+et\s+al\b)")
_AUTHOR_WORD = re.compile(r"\b[A-Z][a-z'’]+(?:-[A-Z][a-z]+)?\b")


def cited_names(mapped: ProseMap) -> frozenset[str]:
    """Surnames and given names of the people the draft cites: from citation link texts, the reference
    list's author parts and "Name et al." / "Name (2019)" in the prose. A name is never a term."""
    source = mapped.source
    names: set[str] = set()
    for ex in mapped.excluded:
        piece = source[ex.offset:ex.offset + ex.length]
        if ex.kind == "citation":
            names.update(_AUTHOR_WORD.findall(piece.split("](")[0]))
        elif ex.kind == "references":
            # "[3] Shuohang Wang, et al. ["Title"](url) AAAI 2018.": authors come before the title.
            authors = re.split(r"[\[\"“]|\.\s", re.sub(r"^\s*(?:[-*+]\s+)?\[?\d+\]?\.?\s*", "", piece), maxsplit=1)[0]
            names.update(_AUTHOR_WORD.findall(authors))
    for m in _PROSE_CITATION.finditer(mapped.text):
        names.update(g for g in m.groups() if g)
    return frozenset(n for n in names if n not in ("Et", "Al", "The", "In", "See", "And"))
