"""Prose sentences of a Markdown draft with exact character offsets, and their `[n]` citations."""

from __future__ import annotations

import re
from dataclasses import dataclass

from engine.check.prose import display_math_closer


@dataclass(frozen=True)
class SentenceSpan:
    """One prose sentence: `markdown[offset:offset + length] == text`."""

    offset: int
    length: int
    text: str


# Words whose trailing period never ends a sentence in technical prose.
_ABBREVIATIONS = frozenset({
    "e.g", "i.e", "cf", "vs", "al", "fig", "figs", "eq", "eqs", "sec", "secs", "tab", "ref", "refs",
    "dr", "mr", "ms", "mrs", "prof", "no", "nos", "approx", "resp", "ch", "vol", "pp", "jr", "sr",
    "st", "inc", "ltd", "co", "ca", "viz", "appx", "def", "thm", "lem", "alg",
})
_REFERENCE_HEADINGS = re.compile(r"^(references|bibliography|sources|works cited|citations)\s*$", re.I)
_HEADING = re.compile(r"^ {0,3}(#{1,6})\s+(.*?)\s*#*\s*$")
_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")
_TABLE = re.compile(r"^\s*\|")
_TABLE_RULE = re.compile(r"^\s*:?-{3,}:?\s*(\|\s*:?-{3,}:?\s*)*\|?\s*$")
_REFERENCE_ENTRY = re.compile(r"^\s*\[\d+\]\s")  # "[3] Vaswani et al. ..." outside a References heading
_IMAGE_ONLY = re.compile(r"^\s*!\[[^\]]*\]\([^)]*\)\s*$")
_RULE = re.compile(r"^\s*([-*_])(\s*\1){2,}\s*$")
_LIST_MARKER = re.compile(r"^(\s*(?:[-*+]|\d{1,3}[.)])\s+)")
_QUOTE_MARKER = re.compile(r"^(\s*(?:>\s?)+)")
_CITATION = re.compile(r"\[(\d{1,4}(?:\s*[-\u2013,;]\s*\d{1,4})*)\]")
# A sentence ends at . ! ? (plus closing quotes/brackets and trailing citations) before whitespace.
_END = re.compile(r"[.!?]+[\"'\u201d\u2019)\]]*(?:\s*\[\d[\d,;\s\-\u2013]*\])*(?=\s|$)")
_MAX_RANGE = 50  # "[1-9999]" is a typo, not 9999 citations


# Quotable prose (strict mode's last resort) needs a finite verb outside parentheses: "Billion-scale
# similarity search with GPUs (FAISS, used for the index)" is a title with a gloss, not a statement.
_FINITE_VERB = re.compile(
    r"\b(?:is|are|was|were|has|have|had|does|do|did|can|cannot|could|will|would|may|might|must|should|shall|"
    r"uses?|makes?|gives?|takes?|keeps?|runs?|needs?|learns?|shows?|trains?|maps?|adds?|cuts?|fits?|sets?|gets?|"
    r"lets?|puts?|finds?|holds?|reads?|sends?|builds?|splits?|drops?|stays?|works?|beats?|helps?|scores?|"
    r"reaches?|matches?|[a-z]{3,}(?:ed|es|izes|ises))\b", re.I)
_PARENTHETICAL = re.compile(r"\([^()]*\)|\[[^\[\]]*\]")
_CAPTION = re.compile(r"^\s*(?:fig(?:ure)?\.?|table|tab\.|algorithm|listing|equation|eq\.)\s*[\dA-Z]", re.I)
_BIBLIOGRAPHIC = re.compile(r"\bet al\.,?\s*\(?(?:19|20)\d\d|\b(?:In )?Proceedings of\b|\barXiv:\d|\bpp\. \d", re.I)
QUOTE_MIN_WORDS = 8


def quotable_prose(sentence: str) -> bool:
    """True for a complete prose sentence that may be quoted as evidence.

    Never a list item, heading, table row, caption, reference entry, 'Title (gloss)' fragment or any
    other line without a finite verb outside its parentheses, and never a fragment without end punctuation.
    """
    text = sentence.strip()
    if not text or text[0] in "#-*+>|•" or "|" in text or _LIST_MARKER.match(text) or _REFERENCE_ENTRY.match(text):
        return False
    if text[-1] not in ".!?" or _CAPTION.match(text) or _BIBLIOGRAPHIC.search(text) or "\n" in text.strip():
        return False
    return len(_PARENTHETICAL.sub(" ", text).split()) >= QUOTE_MIN_WORDS and states_something(text)


def states_something(text: str) -> bool:
    """True when `text` has a finite verb outside its parentheses (a statement, not a title or a list of names)."""
    return bool(_FINITE_VERB.search(_PARENTHETICAL.sub(" ", text)))


def citations_in(sentence: str) -> list[int]:
    """Citation numbers in `sentence`, in order, without repeats: `[1]`, `[1, 3]`, `[2-4]` forms."""
    numbers: list[int] = []
    for match in _CITATION.finditer(sentence):
        for part in re.split(r"\s*[,;]\s*", match.group(1)):
            bounds = re.split(r"\s*[-\u2013]\s*", part)
            if len(bounds) == 2 and bounds[0] and bounds[1]:
                low, high = int(bounds[0]), int(bounds[1])
                span = range(low, high + 1) if 0 <= high - low <= _MAX_RANGE else (low, high)
            else:
                span = [int(b) for b in bounds if b]
            for number in span:
                if number not in numbers:
                    numbers.append(number)
    return numbers


def strip_citations(text: str) -> str:
    """`text` without its `[n]` markers (for scoring the claim itself)."""
    return re.sub(r"\s+([.,;:!?])", r"\1", _CITATION.sub("", text)).strip()


def _prose_blocks(markdown: str) -> list[tuple[int, int]]:
    """(start, end) character ranges of prose paragraphs and list items, skipping non-prose."""
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
            if _REFERENCE_HEADINGS.match(heading.group(2).strip("*_ :")):
                in_references, references_level = True, level
            elif in_references and level <= references_level:
                in_references = False
            continue
        if body.lstrip().startswith("<!--"):
            close()
            in_comment = "-->" not in body
            continue
        if (in_references or not body.strip() or _TABLE.match(body) or _TABLE_RULE.match(body)
                or _REFERENCE_ENTRY.match(body) or _IMAGE_ONLY.match(body) or _RULE.match(body)
                or body.lstrip().startswith("<")):
            close()
            continue
        prefix = _LIST_MARKER.match(body) or _QUOTE_MARKER.match(body)
        text_start = start + (prefix.end() if prefix else len(body) - len(body.lstrip()))
        if _LIST_MARKER.match(body):
            close()  # each list item is its own block
        if current is None:
            current = [text_start, start + len(body)]
        else:
            current[1] = start + len(body)
    close()
    return blocks


def _is_abbreviation(block: str, period_at: int) -> bool:
    """True when the period at `period_at` closes an abbreviation or an initial, not a sentence."""
    word_match = re.search(r"([A-Za-z][A-Za-z.]*)$", block[:period_at])
    if word_match is None:
        return False
    word = word_match.group(1).rstrip(".").lower()
    if word in _ABBREVIATIONS:
        return True
    # Initials such as "J. Smith" or "A. Vaswani" (one capital letter).
    return len(word_match.group(1)) == 1 and word_match.group(1).isupper()


def _split_block(markdown: str, start: int, end: int) -> list[SentenceSpan]:
    block = markdown[start:end]
    spans: list[SentenceSpan] = []
    cursor = 0
    for match in _END.finditer(block):
        if block[match.start()] == "." and match.group().startswith(".") and len(match.group()) >= 1 \
                and _is_abbreviation(block, match.start()):
            continue
        rest = block[match.end():].lstrip()
        if rest and not (rest[0].isupper() or rest[0].isdigit() or rest[0] in "\"'\u201c*_`([$"):
            continue  # "the k. nearest" or lower-case continuation: not a boundary
        _append(spans, markdown, start + cursor, start + match.end())
        cursor = match.end()
    _append(spans, markdown, start + cursor, end)
    return spans


def _append(spans: list[SentenceSpan], markdown: str, begin: int, finish: int) -> None:
    text = markdown[begin:finish]
    stripped = text.strip()
    if not stripped or not re.search(r"[A-Za-z]", stripped):
        return
    lead = len(text) - len(text.lstrip())
    spans.append(SentenceSpan(offset=begin + lead, length=len(stripped), text=stripped))


def split_sentences(markdown: str) -> list[SentenceSpan]:
    """Prose sentences of `markdown` in order; headings, code, tables, comments and references skipped."""
    spans: list[SentenceSpan] = []
    for start, end in _prose_blocks(markdown):
        spans.extend(_split_block(markdown, start, end))
    return spans
