"""The data that crosses module boundaries, as small dataclasses with explicit fields."""

from __future__ import annotations

from dataclasses import dataclass, field


SHARED = ""  # Document.owner of the shared team corpus


def owners_readable_by(name: str) -> tuple[str, ...]:
    """The owners whose documents `name` reads: the shared corpus and `name`'s own uploads.

    The one statement of that rule: access checks, retrieval and duplicate detection all use it."""
    return (SHARED, name) if name else (SHARED,)


@dataclass(frozen=True)
class Document:
    """One ingested source (paper, note, web page) and its bibliographic metadata."""

    doc_id: str
    title: str
    authors: tuple[str, ...] = ()
    year: int | None = None
    venue: str = ""
    arxiv_id: str = ""
    source_name: str = ""  # original file name, as uploaded
    kind: str = ""  # pdf | markdown | text | html
    content_hash: str = ""
    n_pages: int = 1
    owner: str = ""  # "" = shared corpus; otherwise the user who uploaded it
    doi: str = ""  # lower case, without https://doi.org/ (set by a bibliography import or by hand)

    def readable_by(self, name: str) -> bool:
        return self.owner in owners_readable_by(name)

    def short_authors(self) -> str:
        """'Vaswani et al.' style author string for citations."""
        if not self.authors:
            return "Anon."
        last = self.authors[0].split()[-1]
        return last if len(self.authors) == 1 else f"{last} et al."


@dataclass(frozen=True)
class Chunk:
    """A passage of a document with exact provenance: page, section, character offsets."""

    chunk_id: str
    doc_id: str
    text: str
    page: int = 1
    section: str = ""
    start: int = 0  # offset in the document's cleaned body text
    end: int = 0
    kind: str = "text"  # text | table | figure | caption | footnote: a table or caption is quoted as one, not prose
    label: str = ""  # "Table 2", "Figure 1" for tables and captions


@dataclass(frozen=True)
class Passage:
    """A retrieved chunk with its score and the metadata a citation needs."""

    chunk_id: str
    doc_id: str
    text: str
    score: float
    title: str
    authors: tuple[str, ...] = ()
    year: int | None = None
    page: int = 1
    section: str = ""
    start: int = 0
    end: int = 0
    kind: str = "text"  # the chunk's kind: a 'table' or 'caption' passage is quoted as one, never as prose
    label: str = ""  # "Table 2", "Figure 1"


@dataclass(frozen=True)
class Brief:
    """What the writer wants: topic, audience and what they know, goal, length, key points."""

    topic: str
    audience: str = "ML/AI engineers and researchers"
    goal: str = ""
    length_words: int = 800
    key_points: tuple[str, ...] = ()
    assumed_terms: tuple[str, ...] = ()
    must_cite: tuple[str, ...] = ()  # doc_ids


@dataclass
class Section:
    """One outline entry; `text` is filled by the draft stage."""

    heading: str
    level: int = 2
    purpose: str = ""  # what this section does for the reader (opening, background, ...)
    notes: str = ""  # planning notes, e.g. a Mermaid diagram suggestion
    query: str = ""  # retrieval query for its evidence
    text: str = ""


@dataclass
class Outline:
    """The planned article: a title and ordered sections."""

    title: str
    sections: list[Section] = field(default_factory=list)


@dataclass(frozen=True)
class Citation:
    """An inline `[n]` marker and the passage it points to."""

    number: int
    doc_id: str
    chunk_id: str


@dataclass(frozen=True)
class Finding:
    """One check result anchored to a character span of the draft."""

    kind: str
    offset: int
    length: int
    message: str
    severity: str = "info"  # info | warning | error
