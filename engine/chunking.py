"""Text cleaning, body assembly (references kept apart) and structure-aware chunking with exact offsets."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from engine.records import Chunk

# Words per chunk and words shared between neighbours. all-MiniLM-L6-v2 reads 256 word pieces
# (about 190 English words), so a chunk plus its title/section header stays inside that window.
TARGET_WORDS = 150
OVERLAP_WORDS = 30

_LIGATURES = str.maketrans({"\ufb00": "ff", "\ufb01": "fi", "\ufb02": "fl", "\ufb03": "ffi", "\ufb04": "ffl",
                            "\ufb05": "st", "\ufb06": "st"})
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u200b\u200c\u200d\u2060\ufeff]")
_HYPHEN_BREAK = re.compile(r"(\w+)-[ \t]*\n[ \t]*([a-z]\w*)")
_SPACES = re.compile(r"[ \t\u00a0\u2000-\u200a\u202f\u3000]+")
_SENTENCE_END = re.compile(r"(?<=[.!?])[\"')\]]*\s+(?=[A-Z0-9\"'(\[])")
_WORD = re.compile(r"\S+")
REFERENCES_HEADING = re.compile(
    r"^(?:\d+\.?\s+|[A-Z]\.\s+)?(references|bibliography|works cited|literature cited|reference list)\s*:?$",
    re.IGNORECASE)
AFTER_REFERENCES = re.compile(r"^(?:[A-Z]\.?\s+|\d+\.?\s+)?(appendix|appendices|supplementary)", re.IGNORECASE)
_KNOWN_SECTIONS = re.compile(
    r"^(abstract|introduction|related work|background|method|methods|methodology|approach|model|"
    r"experiments?|experimental setup|evaluation|results|discussion|analysis|limitations|conclusions?|"
    r"acknowledge?ments|references|bibliography|appendix)\s*$", re.IGNORECASE)
# a period inside the title only before a digit ('4.2 SQuAD v1.1'), never one that ends a sentence
_NUMBERED_HEADING = re.compile(r"^(?:\d+(?:\.\d+){0,3}\.?|[IVX]{1,5}\.|[A-H]\.?\d*(?:\.\d+)*)\s+[A-Z](?:[^.!?]|\.(?=\d)){1,70}$")


def _rejoin(match: re.Match) -> str:
    """A word hyphenated across a line break, joined ('ex-|perts' -> 'experts'), unless the hyphen is part of the
    compound ('task-|specific', 'left-to-|right': the joined form is no word, the second part is one)."""
    from wordfreq import zipf_frequency  # bundled English word frequencies; loads on first hyphen

    head, tail = match.group(1), match.group(2)
    joined = head.rsplit("-", 1)[-1] + tail
    if zipf_frequency(joined, "en") > 0 or zipf_frequency(tail, "en") == 0:
        return head + tail
    return f"{head}-{tail}"


def unfold_ligatures(text: str) -> str:
    """The text with typographic ligature glyphs written out as their letters ('ﬁ' -> 'fi')."""
    return text.translate(_LIGATURES)


def clean_text(text: str) -> str:
    """Unicode-normalised text without control characters, soft hyphens or line-break hyphenation."""
    # NFC, not NFKC: NFKC would turn "10¹⁸" into "1018". PDF ligatures are unfolded explicitly.
    text = unicodedata.normalize("NFC", text).translate(_LIGATURES).replace("\u00ad", "")
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = _CONTROL.sub("", text)
    text = _HYPHEN_BREAK.sub(_rejoin, text)
    return _SPACES.sub(" ", text)


def looks_like_heading(line: str) -> bool:
    """True for a short line shaped like a paper's section heading ('3.1 Training', 'References')."""
    line = line.strip()
    if not line or len(line) > 80 or len(line.split()) > 10:
        return False
    return bool(_KNOWN_SECTIONS.match(line) or REFERENCES_HEADING.match(line) or _NUMBERED_HEADING.match(line))


@dataclass(frozen=True)
class Block:
    """A heading or a paragraph as read from a source, with its page and heading level."""

    kind: str  # heading | para | table | figure (text inside a diagram) | caption | footnote | equation
    text: str
    page: int = 1
    level: int = 1
    label: str = ""  # "Table 2", "Figure 1": what a table or caption is, for citing it as such


@dataclass(frozen=True)
class Paragraph:
    """A paragraph's span in the cleaned body, with its page and enclosing section heading."""

    start: int
    end: int
    page: int
    section: str
    kind: str = "text"  # text | table | figure | caption | footnote | equation (a chunk never mixes kinds)
    label: str = ""


@dataclass(frozen=True)
class Body:
    """The cleaned body text, the references kept apart, page spans and paragraph spans."""

    text: str
    references: str
    pages: tuple[tuple[int, int, int], ...]  # (page, start, end) in `text`
    paragraphs: tuple[Paragraph, ...]


def assemble_body(blocks: list[Block]) -> Body:
    """Join blocks into one body text (paragraphs separated by blank lines); references go aside."""
    parts: list[str] = []
    references: list[str] = []
    paragraphs: list[Paragraph] = []
    page_spans: dict[int, list[int]] = {}
    offset = 0
    section = ""
    refs_level: int | None = None
    for block in blocks:
        text = _SPACES.sub(" ", block.text).strip()
        if not text:
            continue
        if block.kind == "heading":
            if refs_level is not None and (block.level <= refs_level or AFTER_REFERENCES.match(text)):
                refs_level = None
            if REFERENCES_HEADING.match(text):
                refs_level = block.level
                continue
        if refs_level is not None:
            references.append(text)
            continue
        if block.kind == "equation":
            text = f"[Equation: {text}]"  # kept recognisable as math, not read as a sentence
        if parts:
            offset += 2  # the "\n\n" separator
        start, offset = offset, offset + len(text)
        parts.append(text)
        span = page_spans.setdefault(block.page, [start, offset])
        span[1] = offset
        if block.kind == "heading":
            section = text
        else:
            kind = block.kind if block.kind in ("table", "figure", "caption", "footnote", "equation") else "text"
            paragraphs.append(Paragraph(start, offset, block.page, section, kind, block.label))
    pages = tuple((page, s, e) for page, (s, e) in sorted(page_spans.items()))
    return Body("\n\n".join(parts), "\n\n".join(references), pages, tuple(paragraphs))


def _sentence_spans(text: str, start: int, end: int) -> list[tuple[int, int]]:
    spans = []
    cursor = start
    for match in _SENTENCE_END.finditer(text, start, end):
        spans.append((cursor, match.start()))
        cursor = match.end()
    spans.append((cursor, end))
    return [(s, e) for s, e in spans if text[s:e].strip()]


def _split_long(text: str, start: int, end: int, limit: int) -> list[tuple[int, int]]:
    words = [(m.start(), m.end()) for m in _WORD.finditer(text, start, end)]
    if len(words) <= limit:
        return [(start, end)]
    return [(words[i][0], words[min(i + limit, len(words)) - 1][1]) for i in range(0, len(words), limit)]


def chunk_body(doc_id: str, body: Body, target_words: int = TARGET_WORDS,
               overlap_words: int = OVERLAP_WORDS) -> list[Chunk]:
    """Chunks of at most ~target_words, packed by sentence inside each section, overlapping their neighbours."""
    text = body.text
    groups: list[list[tuple[int, int, int, str]]] = []  # per section: (start, end, page, section)
    kinds: list[tuple[str, str]] = []  # per group: (kind, label)
    for para in body.paragraphs:
        units = [(s, e, para.page, para.section)
                 for ss, se in (_sentence_spans(text, para.start, para.end) if para.kind == "text"
                                else [(para.start, para.end)])
                 for s, e in _split_long(text, ss, se, target_words)]
        # prose packs across paragraphs of one section; a table, caption or footnote is a unit of its own
        if para.kind == "text" and groups and groups[-1] and groups[-1][-1][3] == para.section \
                and kinds[-1][0] == "text":
            groups[-1].extend(units)
        else:
            groups.append(units)
            kinds.append((para.kind, para.label))
    chunks: list[Chunk] = []
    for units, (kind, label) in zip(groups, kinds):
        counts = [len(text[s:e].split()) for s, e, _, _ in units]
        i = 0
        while i < len(units):
            j, words = i, 0
            while j < len(units) and (j == i or words + counts[j] <= target_words):
                words += counts[j]
                j += 1
            start, end = units[i][0], units[j - 1][1]
            chunks.append(Chunk(chunk_id=f"{doc_id}:{len(chunks):04d}", doc_id=doc_id, text=text[start:end],
                                page=units[i][2], section=units[i][3], start=start, end=end, kind=kind,
                                label=label))
            if j >= len(units):
                break
            k, shared = j, 0
            while k - 1 > i and shared + counts[k - 1] <= overlap_words:
                shared += counts[k - 1]
                k -= 1
            i = k
    return chunks
