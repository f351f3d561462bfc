"""A paper's own reference list, parsed: one entry per cited work (authors, title, year, venue), so a '[12]'
inside a paper can be traced to the work it means."""

from __future__ import annotations

import re
from dataclasses import dataclass

from engine.markup import citations_in

_LABEL = re.compile(r"^\s*(?:\[(\d{1,3})\]|(\d{1,3})\.(?=\s+[A-Z]))\s*")
_YEAR = re.compile(r"\b((?:19|20)\d{2})[a-z]?\b")
_YEAR_ONLY = re.compile(r"^\(?((?:19|20)\d{2})[a-z]?\)?[.,]?$")
_INITIAL = re.compile(r"(?:^|[\s\-.(])(?:[A-Z]|al|Jr|Sr|St|vs|eds?|[Vv]ol|pp|[Nn]o|Proc|Conf|Int|Comput)$")
_VENUE_START = re.compile(r"^(In\s|Proc|Advances|arXiv|CoRR|Journal|Transactions|IEEE|ACM|Neural|Conference)", re.I)


@dataclass(frozen=True)
class ReferenceEntry:
    """One entry of a paper's reference list: its label number, authors, title, year, venue and full text."""

    number: int
    text: str
    authors: tuple[str, ...] = ()
    title: str = ""
    year: int | None = None
    venue: str = ""

    @classmethod
    def from_dict(cls, data: dict) -> "ReferenceEntry":
        """An entry from its stored JSON form."""
        return cls(**{**data, "authors": tuple(data.get("authors", ()))})


def _segments(text: str) -> list[str]:
    """The entry cut at sentence periods (not after initials such as 'A.' or 'et al.')."""
    parts, start = [], 0
    for match in re.finditer(r"\.\s+|\?\s+", text):
        before = text[start:match.start()]
        if match.group(0).startswith(".") and _INITIAL.search(before):
            continue
        parts.append(text[start:match.start() + 1].strip())
        start = match.end()
    tail = text[start:].strip()
    if tail:
        parts.append(tail)
    return [p for p in parts if p]


def _authors(segment: str) -> tuple[str, ...]:
    segment = re.sub(r"\(?(?:19|20)\d{2}[a-z]?\)?[.,]?\s*$", "", segment).strip(" .,")
    names = re.split(r"\s*,\s*and\s+|\s*,\s*|\s+and\s+|\s*&\s*", segment)
    names = [n.strip(" .") for n in names if n.strip(" .")]
    # 'Vaswani, A., Shazeer, N.' style: surname and initials alternate
    if len(names) >= 2 and all(re.fullmatch(r"(?:[A-Z]\.?\s?-?)+", n) for n in names[1::2]):
        names = [f"{names[i + 1]} {names[i]}".strip() for i in range(0, len(names) - 1, 2)]
    return tuple(n for n in names if n.lower() not in {"et al", "others"} and len(n) > 1)


def parse_reference(text: str, position: int) -> ReferenceEntry:
    """One reference-list entry parsed into authors, title, year and venue (its own [n] label if it has one)."""
    text = " ".join(text.split())
    label = _LABEL.match(text)
    number = int(label.group(1) or label.group(2)) if label else position
    rest = text[label.end():] if label else text
    segments = _segments(rest)
    year_match = _YEAR.search(rest)
    year = int(year_match.group(1)) if year_match else None
    if not segments:
        return ReferenceEntry(number, text, year=year)
    authors = _authors(segments[0])
    others = [s for s in segments[1:] if not _YEAR_ONLY.match(s)]
    title = others[0].rstrip(".") if others else ""
    if title and _VENUE_START.match(title) and len(others) == 1:
        title = ""
    venue = " ".join(others[1:]).strip().rstrip(".") if len(others) > 1 else ""
    venue = re.sub(r"^In\s+", "", venue)
    return ReferenceEntry(number, text, authors, title, year, venue)


def reference_for(marker: str, entries: tuple[ReferenceEntry, ...]) -> ReferenceEntry | None:
    """The entry a citation marker inside a paper means ('[12]' or '12'), or None."""
    digits = re.sub(r"\D", "", marker)
    if not digits:
        return None
    number = int(digits)
    return next((entry for entry in entries if entry.number == number), None)


def cited_entries(text: str, entries: tuple[ReferenceEntry, ...]) -> list[ReferenceEntry]:
    """The works a passage of a paper cites by number ('[12]', '[3, 5]', '[7-9]'), in order of first citation."""
    numbers = citations_in(text)
    by_number = {entry.number: entry for entry in entries}
    return [by_number[n] for n in numbers if n in by_number]


def as_document(entry: ReferenceEntry, paper_id: str = "ref"):
    """The entry as a Document (title, authors, year, venue), so BibTeX export and citations treat it like any
    other source."""
    from engine.records import Document

    arxiv = re.search(r"arXiv:?\s*(\d{4}\.\d{4,5})", entry.text, re.IGNORECASE)
    return Document(doc_id=f"{paper_id}-ref{entry.number}", title=entry.title or entry.text[:120],
                    authors=entry.authors, year=entry.year, venue=entry.venue,
                    arxiv_id=arxiv.group(1) if arxiv else "")


def bibliography_bibtex(entries: tuple[ReferenceEntry, ...], paper_id: str = "ref") -> str:
    """A paper's parsed reference list as BibTeX (through the export stage's one BibTeX writer)."""
    from engine.export import to_bibtex

    return to_bibtex(as_document(entry, paper_id) for entry in entries)
