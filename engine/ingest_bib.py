"""Bibliography import: a BibTeX or CSL-JSON file (Zotero's exports) fills or corrects the metadata of corpus documents.

bibtexparser (v2, MIT) reads BibTeX, LaTeX accents included; CSL-JSON is plain JSON. Each entry is
matched to a document by DOI, then arXiv id, then normalized title; a matched document takes the
entry's title, authors, year, venue, arXiv id and DOI (fields the entry leaves empty are kept).
The reference list and BibTeX export read document metadata, so they follow.
"""

from __future__ import annotations

import json
import re
import unicodedata
from dataclasses import dataclass, field
from typing import Iterable

from engine.errors import IngestError, PeerDraftError
from engine.records import Document

MAX_BYTES = 5_000_000  # a Zotero library of ~10,000 entries
_ARXIV_ID = re.compile(r"(\d{4}\.\d{4,5})(?:v\d+)?")
_ARXIV_DOI = re.compile(r"^10\.48550/arxiv\.(\d{4}\.\d{4,5})", re.I)
_DOI = re.compile(r"\b(10\.\d{4,9}/[^\s\"<>{}]+)", re.I)


@dataclass(frozen=True)
class BibEntry:
    """One bibliography entry, reduced to the metadata a document carries."""

    key: str
    title: str
    authors: tuple[str, ...] = ()
    year: int | None = None
    venue: str = ""
    arxiv_id: str = ""
    doi: str = ""


@dataclass(frozen=True)
class BibMatch:
    """An entry and the document it matched (None: no document), how it matched, and what happened."""

    entry: BibEntry
    document: Document | None
    matched_by: str = ""  # doi | arxiv | title
    outcome: str = ""  # updated | unchanged | no match | not allowed | error
    message: str = ""


@dataclass
class BibImport:
    """What an import did, entry by entry."""

    matches: list[BibMatch] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # entries the parser could not read

    def count(self, outcome: str) -> int:
        return sum(1 for m in self.matches if m.outcome == outcome)

    def summary(self) -> str:
        parts = [f"{self.count('updated')} documents updated", f"{self.count('unchanged')} already up to date",
                 f"{self.count('no match')} entries match no document"]
        if self.count("not allowed"):
            parts.append(f"{self.count('not allowed')} not yours to change")
        if self.count("error"):
            parts.append(f"{self.count('error')} failed")
        if self.skipped:
            parts.append(f"{len(self.skipped)} unreadable entries skipped")
        return ", ".join(parts) + "."


# ----------------------------------------------------------------------- reading
def read_bibliography(data: bytes | str, name: str = "bibliography") -> tuple[list[BibEntry], list[str]]:
    """(entries, descriptions of unreadable parts) from BibTeX or CSL-JSON text; IngestError when it is neither."""
    if isinstance(data, bytes):
        if len(data) > MAX_BYTES:
            raise IngestError(f"{name} is {len(data):,} bytes, over the {MAX_BYTES:,} a bibliography may have.",
                              "Export only the collection the articles cite.")
        try:
            data = data.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise IngestError(f"{name} is not UTF-8 text.", "Export it from Zotero as BibTeX or CSL JSON (UTF-8).") \
                from None
    text = data.strip()
    if text.startswith(("[", "{")) and not text.startswith("{@"):
        return _read_csl_json(text, name), []
    if "@" not in text:
        raise IngestError(f"{name} holds neither BibTeX entries (@article{{...}}) nor CSL JSON.",
                          "Export the collection from Zotero as BibTeX or CSL JSON.")
    return _read_bibtex(text, name)


def _read_bibtex(text: str, name: str) -> tuple[list[BibEntry], list[str]]:
    import bibtexparser
    from bibtexparser.middlewares import LatexDecodingMiddleware, SeparateCoAuthors

    try:
        library = bibtexparser.parse_string(text, append_middleware=[LatexDecodingMiddleware(), SeparateCoAuthors()])
    except Exception as exc:  # the parser raises several kinds on malformed input
        raise IngestError(f"{name} could not be read as BibTeX ({type(exc).__name__}: {exc}).",
                          "Check the file, or export it from Zotero again.") from exc
    entries = []
    for item in library.entries:
        fields = {k.lower(): v for k, v in item.fields_dict.items()}

        def value(*names: str) -> str:
            return next((_clean(fields[n].value) for n in names if n in fields and fields[n].value), "")

        authors = fields["author"].value if "author" in fields else []
        if isinstance(authors, str):
            authors = [authors]
        entries.append(BibEntry(
            key=item.key, title=value("title"), authors=tuple(_first_last(a) for a in authors if str(a).strip()),
            year=_year(value("year", "date")), venue=value("journal", "booktitle", "publisher", "howpublished"),
            arxiv_id=_arxiv_of(value("eprint") if value("archiveprefix").lower() in ("arxiv", "") else "",
                               value("arxiv"), value("url"), value("doi"), value("journal")),
            doi=_doi_of(value("doi"))))
    skipped = [f"{type(block).__name__} at line {getattr(block, 'start_line', '?')}"
               for block in library.failed_blocks]
    return [e for e in entries if e.title], skipped


def _read_csl_json(text: str, name: str) -> list[BibEntry]:
    try:
        items = json.loads(text)
    except ValueError as exc:
        raise IngestError(f"{name} is not valid JSON ({exc}).", "Export it from Zotero as CSL JSON again.") from exc
    if isinstance(items, dict):
        items = items.get("items", [items])
    if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
        raise IngestError(f"{name} is JSON but not a CSL JSON list of items.", "Export it from Zotero as CSL JSON.")
    entries = []
    for item in items:
        authors = []
        for person in item.get("author") or []:
            if isinstance(person, dict):
                authors.append(_clean(person.get("literal") or " ".join(
                    str(p) for p in (person.get("given"), person.get("family")) if p)))
        issued = item.get("issued") or {}
        parts = issued.get("date-parts") if isinstance(issued, dict) else None
        year = _year(parts[0][0] if parts and parts[0] else (issued.get("raw", "") if isinstance(issued, dict) else ""))
        doi = _doi_of(str(item.get("DOI") or ""))
        entries.append(BibEntry(
            key=str(item.get("id") or ""), title=_clean(str(item.get("title") or "")),
            authors=tuple(a for a in authors if a), year=year,
            venue=_clean(str(item.get("container-title") or item.get("event-title") or item.get("publisher") or "")),
            arxiv_id=_arxiv_of(str(item.get("number") or ""), str(item.get("URL") or ""), doi), doi=doi))
    return [e for e in entries if e.title]


def _clean(text: object) -> str:
    return re.sub(r"\s+", " ", str(text).replace("{", "").replace("}", "")).strip()


def _first_last(name: object) -> str:
    """'Vaswani, Ashish' → 'Ashish Vaswani' (the corpus's form); other forms unchanged."""
    text = _clean(name)
    if text.count(",") == 1:
        last, first = (p.strip() for p in text.split(","))
        return f"{first} {last}".strip()
    return text


def _year(value: object) -> int | None:
    match = re.search(r"\b(1[89]\d\d|20\d\d)\b", str(value or ""))
    return int(match.group(1)) if match else None


def _doi_of(value: str) -> str:
    match = _DOI.search(value)
    return match.group(1).rstrip(".,;").lower() if match else ""


def _arxiv_of(*values: str) -> str:
    for value in values:
        if not value:
            continue
        doi = _ARXIV_DOI.match(_doi_of(value) or "")
        if doi:
            return doi.group(1)
        if "arxiv" in value.lower() or _ARXIV_ID.fullmatch(value.strip()):
            match = _ARXIV_ID.search(value)
            if match:
                return match.group(1)
    return ""


# ----------------------------------------------------------------------- matching
def normal_title(title: str) -> str:
    """A title folded for matching: accents, case, punctuation and spacing ignored."""
    folded = unicodedata.normalize("NFKD", title).encode("ascii", "ignore").decode().lower()
    return re.sub(r"[^a-z0-9]+", " ", folded).strip()


def match_entries(entries: Iterable[BibEntry], documents: Iterable[Document]) -> list[BibMatch]:
    """Each entry with the document it describes: same DOI, else same arXiv id, else the same normalized title."""
    documents = list(documents)
    by_doi = {d.doi.lower(): d for d in documents if d.doi}
    by_arxiv = {_ARXIV_ID.sub(r"\1", d.arxiv_id): d for d in documents if d.arxiv_id}
    by_title = {normal_title(d.title): d for d in documents if d.title}
    out = []
    for entry in entries:
        if entry.doi and entry.doi in by_doi:
            out.append(BibMatch(entry, by_doi[entry.doi], "doi"))
        elif entry.arxiv_id and entry.arxiv_id in by_arxiv:
            out.append(BibMatch(entry, by_arxiv[entry.arxiv_id], "arxiv"))
        elif normal_title(entry.title) in by_title:
            out.append(BibMatch(entry, by_title[normal_title(entry.title)], "title"))
        else:
            out.append(BibMatch(entry, None, outcome="no match", message="no document with its DOI, arXiv id or title"))
    return out


def changes_for(entry: BibEntry, document: Document) -> dict[str, object]:
    """The metadata fields the entry sets differently from the document (empty entry fields change nothing)."""
    proposed = {"title": entry.title, "authors": entry.authors, "year": entry.year, "venue": entry.venue,
                "arxiv_id": entry.arxiv_id, "doi": entry.doi}
    return {k: v for k, v in proposed.items() if v not in ("", (), None) and v != getattr(document, k)}


def import_bibliography(index, user, data: bytes | str, name: str = "bibliography", *,
                        dry_run: bool = False) -> BibImport:
    """Read a bibliography and update the metadata of the documents `user` may change that its entries match."""
    from engine import corpus_access as access

    entries, skipped = read_bibliography(data, name)
    report = BibImport(skipped=skipped)
    for match in match_entries(entries, access.visible_documents(index, user)):
        if match.document is None:
            report.matches.append(match)
            continue
        changes = changes_for(match.entry, match.document)
        if not changes:
            report.matches.append(BibMatch(match.entry, match.document, match.matched_by, "unchanged"))
            continue
        if not access.can_manage(user, match.document):
            report.matches.append(BibMatch(match.entry, match.document, match.matched_by, "not allowed",
                                           "in the shared corpus, which only admins change"))
            continue
        if dry_run:
            report.matches.append(BibMatch(match.entry, match.document, match.matched_by, "updated",
                                           "would set " + ", ".join(sorted(changes))))
            continue
        try:
            updated = access.update_metadata(index, user, match.document.doc_id, **changes)
        except PeerDraftError as exc:
            report.matches.append(BibMatch(match.entry, match.document, match.matched_by, "error", str(exc)))
        else:
            report.matches.append(BibMatch(match.entry, updated, match.matched_by, "updated",
                                           "set " + ", ".join(sorted(changes))))
    return report
