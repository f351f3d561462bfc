"""Copying: long word-for-word spans the draft shares with its sources (a plagiarism risk), with the source shown.

Method: both texts become lists of lower-cased word tokens (punctuation, case and citation
markers ignored, so "[3]" inside a copied sentence does not hide it). Every run of SHINGLE
consecutive words in the draft is looked up among the source's runs; overlapping hits are
merged into maximal spans, and spans of at least MIN_WORDS words are reported. Eight-word
shingles are rare by chance in technical prose; twelve words is a sentence-length copy, the
point where a quotation mark or a rewrite is due.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from typing import Iterable, Sequence

from engine.markup import CITATION

SHINGLE = 8
MIN_WORDS = 12
_TOKEN = re.compile(r"[A-Za-z0-9]+(?:['\u2019][A-Za-z]+)?")


@dataclass(frozen=True)
class SourceText:
    """A source to compare against: its id, title and full text."""

    doc_id: str
    title: str
    text: str


@dataclass(frozen=True)
class CopiedSpan:
    """A span of the draft found word for word in a source."""

    offset: int
    length: int
    words: int
    text: str
    doc_id: str
    title: str
    source_offset: int
    source_text: str


@dataclass(frozen=True)
class CopyingMeasure:
    """All copied spans, and the share of the draft's words inside them."""

    spans: tuple[CopiedSpan, ...]
    copied_words: int
    total_words: int
    shingle: int = SHINGLE
    min_words: int = MIN_WORDS

    @property
    def copied_share(self) -> float:
        return round(self.copied_words / self.total_words, 4) if self.total_words else 0.0

    def to_dict(self) -> dict:
        data = asdict(self)
        data["copied_share"] = self.copied_share
        return data


def _tokens(text: str, skip_citations: bool) -> list[tuple[str, int, int]]:
    """(lower-cased word, start, end) for each word of `text`."""
    holes = [(m.start(), m.end()) for m in CITATION.finditer(text)] if skip_citations else []
    out = []
    hole = 0
    for m in _TOKEN.finditer(text):
        while hole < len(holes) and holes[hole][1] <= m.start():
            hole += 1
        if hole < len(holes) and holes[hole][0] <= m.start() < holes[hole][1]:
            continue
        out.append((m.group().lower().replace("\u2019", "'"), m.start(), m.end()))
    return out


def _spans_in(draft: str, draft_tokens, source: SourceText, n: int, min_words: int) -> list[CopiedSpan]:
    source_tokens = _tokens(source.text, skip_citations=False)
    if len(source_tokens) < n or len(draft_tokens) < n:
        return []
    where: dict[tuple[str, ...], list[int]] = {}
    for i in range(len(source_tokens) - n + 1):
        where.setdefault(tuple(t[0] for t in source_tokens[i:i + n]), []).append(i)
    words = [t[0] for t in draft_tokens]
    spans: list[CopiedSpan] = []
    i = 0
    while i <= len(words) - n:
        starts = where.get(tuple(words[i:i + n]))
        if not starts:
            i += 1
            continue
        # Extend each match word by word while draft and source agree; keep the longest
        # (overlapping chunks repeat text, so a span may continue in the next copy).
        length, j = 0, starts[0]
        for candidate in starts:
            k = n
            while (i + k < len(words) and candidate + k < len(source_tokens)
                   and words[i + k] == source_tokens[candidate + k][0]):
                k += 1
            if k > length:
                length, j = k, candidate
        if length >= min_words:
            start, end = draft_tokens[i][1], draft_tokens[i + length - 1][2]
            s_start, s_end = source_tokens[j][1], source_tokens[j + length - 1][2]
            spans.append(CopiedSpan(start, end - start, length, draft[start:end], source.doc_id, source.title,
                                    s_start, source.text[s_start:s_end]))
        i += length
    return spans


def find_copied_spans(draft: str, sources: Iterable[SourceText], *, shingle: int = SHINGLE,
                      min_words: int = MIN_WORDS) -> CopyingMeasure:
    """Spans of at least `min_words` words that `draft` shares verbatim with any source, in draft order."""
    draft_tokens = _tokens(draft, skip_citations=True)
    found: list[CopiedSpan] = []
    for source in sources:
        found.extend(_spans_in(draft, draft_tokens, source, shingle, min_words))
    found.sort(key=lambda s: (s.offset, -s.words))
    # A span copied from two sources (or two copies of one) is reported once, with its longest match.
    kept: list[CopiedSpan] = []
    for span in found:
        if kept and span.offset < kept[-1].offset + kept[-1].length:
            continue
        kept.append(span)
    covered = sum(s.words for s in kept)
    return CopyingMeasure(tuple(kept), covered, len(draft_tokens), shingle, min_words)


def sources_from_index(index, doc_ids: Sequence[str] | None = None) -> list[SourceText]:
    """Each indexed document (or the given ones) as one text, its chunks joined in order."""
    by_doc: dict[str, list] = {}
    for chunk in index.chunks.values():
        if doc_ids is None or chunk.doc_id in doc_ids:
            by_doc.setdefault(chunk.doc_id, []).append(chunk)
    out = []
    for doc_id, chunks in by_doc.items():
        chunks.sort(key=lambda c: (c.start, c.chunk_id))
        title = index.documents[doc_id].document.title if doc_id in index.documents else doc_id
        out.append(SourceText(doc_id, title, "\n".join(c.text for c in chunks)))
    return out
