"""The data that crosses module boundaries, as small dataclasses with explicit fields."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

from engine.errors import PeerDraftError


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


SECTION_KINDS = ("opening", "background", "core", "example", "limitations", "further_research", "questions")
KIND_LABELS = {"opening": "Opening", "background": "Background", "core": "Core", "example": "Example",
               "limitations": "Limitations", "further_research": "Further research", "questions": "Questions"}
_LABEL_KINDS = {label.lower(): kind for kind, label in KIND_LABELS.items()}


def new_section_id() -> str:
    """A short random id for a section, kept through renames, moves and saves."""
    return uuid.uuid4().hex[:10]


def kind_from_purpose(purpose: str) -> tuple[str, str]:
    """(kind, rest) of a purpose written as 'Label — text' by outlines older than `Section.kind`; ('', purpose)
    when it names no kind."""
    label, dash, rest = purpose.partition("—")
    kind = _LABEL_KINDS.get(label.strip().lower(), "") if dash else ""
    return (kind, rest.strip()) if kind else ("", purpose)


@dataclass
class Section:
    """One outline entry with a stable `id` and a `kind` (one of SECTION_KINDS); `text` is filled by drafting."""

    heading: str
    level: int = 2
    purpose: str = ""  # what this section does for the reader
    notes: str = ""  # planning notes, e.g. a Mermaid diagram suggestion
    query: str = ""  # retrieval query for its evidence
    text: str = ""
    kind: str = ""  # "" only while constructing: resolved in __post_init__
    id: str = field(default_factory=new_section_id)  # evidence pins and drafted text key on it

    def __post_init__(self) -> None:
        if not self.kind:
            # Outlines stored before `kind` existed named it in the purpose ("Questions — invite …"): read it
            # once here, and from then on the purpose is free text the writer may reword.
            kind, rest = kind_from_purpose(self.purpose)
            self.kind, self.purpose = (kind, rest) if kind else ("core", self.purpose)
        elif self.kind not in SECTION_KINDS:
            raise PeerDraftError(f"A section's kind must be one of {', '.join(SECTION_KINDS)}, but is {self.kind!r}.",
                                 "Pick one of those kinds for the section.")


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
