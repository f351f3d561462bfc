"""Ingest stage: files (PDF, Markdown, text, HTML) in, cleaned documents with metadata and chunks out."""

from __future__ import annotations

import hashlib
import logging
import re
from dataclasses import dataclass, field, replace
from html.parser import HTMLParser
from pathlib import Path
from typing import Iterable

from engine.bibliography import ReferenceEntry
from engine.chunking import Block, Body, assemble_body, chunk_body, clean_text, looks_like_heading
from engine.errors import IngestError
from engine.events import Event, OnEvent, ignore_event
from engine.ingest_pdf import ParseReport
from engine.records import Chunk, Document
from engine.settings import Settings

log = logging.getLogger(__name__)

KINDS = {".pdf": "pdf", ".md": "markdown", ".markdown": "markdown", ".txt": "text", ".text": "text",
         ".html": "html", ".htm": "html"}
_ARXIV = re.compile(r"arXiv:\s*(\d{4}\.\d{4,5})(?:v\d+)?", re.IGNORECASE)
_YEAR = re.compile(r"\b(19[5-9]\d|20[0-4]\d)\b")
_FRONT_MATTER = re.compile(r"\A---[ \t]*\n(.*?)\n(?:---|\.\.\.)[ \t]*(?:\n|\Z)", re.DOTALL)
_MD_HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")
_LIST_OR_TABLE = re.compile(r"^\s*([-*+]\s|\d+[.)]\s|\|)")


@dataclass(frozen=True)
class IngestedDocument:
    """A document ready to index: metadata, cleaned body text, references kept apart, page spans, chunks."""

    document: Document
    body: str
    references: str
    pages: tuple[tuple[int, int, int], ...]
    chunks: tuple[Chunk, ...]
    bibliography: tuple[ReferenceEntry, ...] = ()  # the paper's own reference list, parsed (PDFs)
    report: ParseReport | None = None  # what the PDF reader found: pages, sections, tables, OCR, warnings


@dataclass(frozen=True)
class FileOutcome:
    """What happened to one input file: ok, duplicate or error (with the reason)."""

    name: str
    status: str  # ok | duplicate | unsupported (a folder's file of another type) | error
    reason: str = ""
    ingested: IngestedDocument | None = None

    def line(self) -> str:
        """One human-readable report line."""
        if self.status == "ok" and self.ingested:
            doc = self.ingested.document
            return f"ok       {self.name}: {doc.title!r}, {len(self.ingested.chunks)} chunks"
        if self.status == "duplicate":
            return f"skipped  {self.name}: duplicate of {self.reason}"
        if self.status == "unsupported":
            return f"skipped  {self.name}: {self.reason}"
        return f"error    {self.name}: {self.reason}"


@dataclass
class IngestReport:
    """Per-file outcomes of one ingest run."""

    outcomes: list[FileOutcome] = field(default_factory=list)

    def with_status(self, status: str) -> list[FileOutcome]:
        return [o for o in self.outcomes if o.status == status]

    @property
    def documents(self) -> list[IngestedDocument]:
        return [o.ingested for o in self.outcomes if o.status == "ok" and o.ingested]

    def summary(self) -> str:
        """'3 ingested (41 chunks), 1 duplicate skipped, 2 failed'."""
        chunks = sum(len(d.chunks) for d in self.documents)
        unsupported = len(self.with_status("unsupported"))
        return (f"{len(self.with_status('ok'))} ingested ({chunks} chunks), "
                f"{len(self.with_status('duplicate'))} duplicate skipped, "
                + (f"{unsupported} of an unsupported type skipped, " if unsupported else "")
                + f"{len(self.with_status('error'))} failed")


def check_file_name(name: str) -> str:
    """The name itself if it is a plain file name; IngestError for separators, '..' or control characters."""
    if not name or "/" in name or "\\" in name or "\x00" in name or name.startswith("..") or name == ".":
        raise IngestError(f"File name {name!r} is not allowed: it contains a path separator or '..'.",
                          "Upload the file under a plain name such as paper.pdf.")
    return name


def _file_kind(name: str) -> str:
    kind = KINDS.get(Path(name).suffix.lower())
    if kind is None:
        raise IngestError(f"{name} has an unsupported file type {Path(name).suffix or '(none)'!r}.",
                          "Convert it to PDF, Markdown (.md), plain text (.txt) or HTML.")
    return kind


def _check_size(name: str, size: int, settings: Settings) -> None:
    if size == 0:
        raise IngestError(f"{name} is empty (0 bytes).", "Upload a file with content.")
    limit = settings.max_upload_mb * 1024 * 1024
    if size > limit:
        raise IngestError(f"{name} is {size / 1048576:.1f} MB, over the {settings.max_upload_mb} MB limit.",
                          "Split the file, or raise PEERDRAFT_MAX_UPLOAD_MB (and maxUploadSize in "
                          ".streamlit/config.toml).")


def _decode(name: str, data: bytes) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise IngestError(f"{name} is not UTF-8 text (byte 0x{data[exc.start]:02x} at offset {exc.start}).",
                          "Save it as UTF-8 and add it again.") from None


def _text_blocks(text: str, markdown: bool) -> list[Block]:
    """Heading and paragraph blocks from Markdown or plain text (blank lines end paragraphs)."""
    blocks: list[Block] = []
    lines: list[str] = []
    fenced = False

    def flush() -> None:
        if lines:
            joined = "\n".join(lines) if fenced or any(_LIST_OR_TABLE.match(x) for x in lines) else " ".join(lines)
            blocks.append(Block("para", joined))
            lines.clear()

    for raw in clean_text(text).split("\n"):
        line = raw.rstrip()
        if markdown and line.lstrip().startswith("```"):
            flush()  # ends the paragraph before an opening fence, or the code block at a closing one
            fenced = not fenced
            continue
        heading = _MD_HEADING.match(line) if markdown and not fenced else None
        if heading:
            flush()
            blocks.append(Block("heading", heading.group(2), level=len(heading.group(1))))
        elif not line.strip() and not fenced:
            flush()
        elif not markdown and not lines and looks_like_heading(line):
            blocks.append(Block("heading", line.strip()))
        else:
            lines.append(line.strip() if not fenced else line)
    flush()
    return blocks


class _HTMLText(HTMLParser):
    """Collects visible text as blocks, skipping scripts, styles and page furniture (nav, header, footer)."""

    SKIP = {"script", "style", "nav", "header", "footer", "aside", "noscript", "form", "svg", "template",
            "button", "iframe", "head"}
    BREAKS = {"p", "div", "section", "article", "li", "tr", "br", "table", "ul", "ol", "blockquote", "pre",
              "figure", "figcaption", "dd", "dt", "main", "body"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.blocks: list[Block] = []
        self.meta: dict[str, list[str]] = {}
        self.title = ""
        self._skip = 0
        self._in_title = False
        self._heading: int | None = None
        self._buffer: list[str] = []

    def _flush(self) -> None:
        text = " ".join("".join(self._buffer).split())
        self._buffer.clear()
        if text:
            kind = "heading" if self._heading else "para"
            self.blocks.append(Block(kind, text, level=self._heading or 1))

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "meta":
            values = dict(attrs)
            key = (values.get("name") or values.get("property") or "").lower()
            if key and values.get("content"):
                self.meta.setdefault(key, []).append(values["content"] or "")
        if tag == "title":
            self._in_title = True
        if tag in self.SKIP and tag != "head":
            self._skip += 1
        elif re.fullmatch(r"h[1-6]", tag):
            self._flush()
            self._heading = int(tag[1])
        elif tag in self.BREAKS:
            self._flush()

    def handle_endtag(self, tag: str) -> None:
        if tag == "title":
            self._in_title = False
        if tag in self.SKIP and tag != "head":
            self._skip = max(0, self._skip - 1)
        elif re.fullmatch(r"h[1-6]", tag):
            self._flush()
            self._heading = None
        elif tag in self.BREAKS:
            self._flush()

    def handle_data(self, data: str) -> None:
        if self._in_title:
            self.title += data
        elif not self._skip:
            self._buffer.append(data)


def _read_html(text: str) -> tuple[list[Block], dict]:
    parser = _HTMLText()
    parser.feed(text)
    parser.close()
    parser._flush()
    meta = parser.meta
    title = (meta.get("citation_title") or meta.get("og:title") or [parser.title.strip()])[0]
    if not title:
        title = next((b.text for b in parser.blocks if b.kind == "heading"), "")
    authors = meta.get("citation_author") or meta.get("author") or []
    date = (meta.get("citation_publication_date") or meta.get("citation_date") or [""])[0]
    return parser.blocks, {"title": title, "authors": authors, "year": date,
                           "arxiv": (meta.get("citation_arxiv_id") or [""])[0]}


def _split_authors(value: object) -> tuple[str, ...]:
    if isinstance(value, (list, tuple)):
        names = [str(v) for v in value]
    else:
        names = re.split(r"\s*(?:;|,|\band\b|&)\s*", str(value or ""))
    return tuple(n.strip() for n in names if n and n.strip())


def _year(value: object) -> int | None:
    match = _YEAR.search(str(value or ""))
    return int(match.group(1)) if match else None


# Front matter holds a handful of metadata fields: anything deeper or longer is a mistake or an attack
# (5,000 nested levels overflow the YAML composer's recursion; nested aliases expand 340 bytes into gigabytes).
FRONT_MATTER_MAX_DEPTH = 8
FRONT_MATTER_MAX_CHARS = 20_000
META_FIELD_MAX_CHARS = {"title": 500, "venue": 300, "arxiv_id": 40, "author": 200, "doi": 200}
META_MAX_AUTHORS = 100


def _front_matter_loader():
    """A yaml SafeLoader that refuses aliases (`*name`) and nesting deeper than FRONT_MATTER_MAX_DEPTH."""
    import yaml

    class FrontMatterLoader(yaml.SafeLoader):
        depth = 0

        def compose_node(self, parent, index):
            if self.check_event(yaml.AliasEvent):
                raise yaml.composer.ComposerError(None, None, "aliases (*name) are not allowed in front matter",
                                                  self.peek_event().start_mark)
            if self.depth >= FRONT_MATTER_MAX_DEPTH:
                raise yaml.composer.ComposerError(None, None, f"front matter nests more than "
                                                  f"{FRONT_MATTER_MAX_DEPTH} levels", self.peek_event().start_mark)
            self.depth += 1
            try:
                return super().compose_node(parent, index)
            finally:
                self.depth -= 1

    return FrontMatterLoader


def _read_front_matter(name: str, text: str) -> tuple[dict, str]:
    match = _FRONT_MATTER.match(text)
    if not match:
        return {}, text
    import yaml  # only Markdown with front matter needs it

    if len(match.group(1)) > FRONT_MATTER_MAX_CHARS:
        raise IngestError(f"{name} has {len(match.group(1)):,} characters of YAML front matter, over the "
                          f"{FRONT_MATTER_MAX_CHARS:,} allowed.", "Keep only title, authors, year, venue and arxiv "
                          "between the '---' lines.")
    try:
        meta = yaml.load(match.group(1), Loader=_front_matter_loader()) or {}
    except yaml.YAMLError as exc:
        raise IngestError(f"{name} has invalid YAML front matter: {exc}".replace("\n", " "),
                          "Fix the block between the '---' lines.") from None
    if not isinstance(meta, dict):
        raise IngestError(f"{name} has front matter that is not a key: value mapping.",
                          "Write it as 'title: ...' lines between '---' lines.")
    return meta, text[match.end():]


def _capped(field_name: str, value: str) -> str:
    """`value` cut to its field's length limit (a metadata field is a label, never a second body)."""
    limit = META_FIELD_MAX_CHARS[field_name]
    return value if len(value) <= limit else value[:limit - 1].rstrip() + "…"


def _pdf_title_guess(first_page: str) -> str:
    for line in first_page.split("\n")[:8]:
        line = line.strip()
        if 3 <= len(line.split()) <= 25 and not _ARXIV.search(line) and not line.lower().startswith("arxiv"):
            return line
    return ""


def _metadata(kind: str, name: str, meta: dict, blocks: list[Block], first_text: str) -> dict:
    """title, authors, year, venue, arxiv_id from the source's metadata, else first-page heuristics."""
    title = str(meta.get("title") or "").strip()
    if kind == "pdf" and (not title or title.lower().startswith(("microsoft word", "untitled")) or
                          title.lower().endswith((".dvi", ".pdf", ".doc", ".tex"))):
        title = _pdf_title_guess(first_text)
    if not title:
        title = next((b.text for b in blocks if b.kind == "heading" and b.level == 1), "")
    if not title and kind == "text" and blocks and len(blocks[0].text) <= 120:
        title = blocks[0].text
    arxiv = str(meta.get("arxiv") or meta.get("arxiv_id") or "").strip()
    found = _ARXIV.search(first_text)
    if not arxiv and found:
        arxiv = found.group(1)
    year = _year(meta.get("year") or meta.get("date"))
    if year is None and arxiv and re.match(r"\d{4}\.", arxiv):
        year = 2000 + int(arxiv[:2])
    if year is None and kind == "pdf":  # the layout reader says which year its header holds, if any
        year = _year(meta["front_year"]) if "front_year" in meta else _year(first_text)
    authors = _split_authors(meta.get("authors") or meta.get("author"))[:META_MAX_AUTHORS]
    return {"title": _capped("title", title or Path(name).stem.replace("_", " ").replace("-", " ")),
            "authors": tuple(_capped("author", a) for a in authors),
            "year": year, "venue": _capped("venue", str(meta.get("venue") or "").strip()),
            "arxiv_id": _capped("arxiv_id", arxiv),
            "doi": _capped("doi", str(meta.get("doi") or "").strip().lower())}


def _doc_id(name: str, content_hash: str, owner: str = "") -> str:
    """Stable id from the file name and content; a private upload's id carries its owner so two users'
    copies of one paper stay apart."""
    slug = re.sub(r"[^a-z0-9]+", "-", Path(name).stem.lower()).strip("-")[:40] or "doc"
    if owner:
        return f"{slug}-{content_hash[:8]}-{hashlib.sha256(owner.encode()).hexdigest()[:6]}"
    return f"{slug}-{content_hash[:8]}"


def ingest_bytes(name: str, data: bytes, settings: Settings, *, owner: str = "") -> IngestedDocument:
    """One file's content, cleaned and chunked; IngestError says what is wrong with this file."""
    check_file_name(name)
    kind = _file_kind(name)
    _check_size(name, len(data), settings)
    first_text = ""
    n_pages = 1
    bibliography, report = (), None
    if kind == "pdf":
        from engine.ingest_pdf import read_pdf

        pdf = read_pdf(name, data)
        blocks, meta, n_pages, first_text = pdf.blocks, pdf.header(), pdf.n_pages, pdf.first_text
        bibliography, report = pdf.references, pdf.report
    else:
        text = _decode(name, data)
        if kind == "html":
            blocks, meta = _read_html(text)
        else:
            meta, text = _read_front_matter(name, text) if kind == "markdown" else ({}, text)
            blocks = _text_blocks(text, markdown=kind == "markdown")
        first_text = clean_text(text[:3000]) if kind != "html" else ""
    body: Body = assemble_body(blocks)
    if not re.search(r"\w", body.text):
        hint = "Its pages hold no text layer or OCR could not read them." if kind == "pdf" else "Add a file with text in it."
        raise IngestError(f"{name} contains no extractable text.", hint)
    content_hash = hashlib.sha256(" ".join((body.text + " " + body.references).lower().split()).encode()).hexdigest()
    fields = _metadata(kind, name, meta, blocks, first_text)
    doc_id = _doc_id(name, content_hash, owner)
    document = Document(doc_id=doc_id, source_name=name, kind=kind, content_hash=content_hash,
                        n_pages=n_pages, owner=owner, **fields)
    chunks = chunk_body(doc_id, body)
    return IngestedDocument(document, body.text, body.references, body.pages, tuple(chunks), bibliography, report)


def ingest_file(path: Path, settings: Settings, *, owner: str = "") -> IngestedDocument:
    """One file from disk, checked for type and size before it is read."""
    path = Path(path)
    _file_kind(path.name)
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise IngestError(f"{path} cannot be read: {exc.strerror}.", "Check the path and permissions.") from None
    if not path.is_file():
        raise IngestError(f"{path} is not a regular file.", "Pass a file or a folder of files.")
    _check_size(path.name, size, settings)
    return ingest_bytes(path.name, path.read_bytes(), settings, owner=owner)


def expand_paths(paths: Iterable[Path]) -> list[Path]:
    """Files named directly, plus the supported files inside named folders (sorted, hidden ones skipped)."""
    paths = list(map(Path, paths))
    return [p for p in _walk(paths) if not _unsupported_in_folder(p, paths)]


def _walk(paths: Iterable[Path]) -> list[Path]:
    """Files named directly, plus every non-hidden file inside named folders (sorted)."""
    files: list[Path] = []
    for path in map(Path, paths):
        if path.is_dir():
            files.extend(sorted(p for p in path.rglob("*") if p.is_file()
                                and not any(part.startswith(".") for part in p.relative_to(path).parts)))
        else:
            files.append(path)
    return files


def _unsupported_in_folder(path: Path, named: Iterable[Path]) -> bool:
    # A file named directly goes on to ingest_file, whose error says its type is unsupported.
    return path.suffix.lower() not in KINDS and path not in {Path(p) for p in named}


def _unreadable(name: str, exc: Exception) -> FileOutcome:
    # A reader failing in an unforeseen way on one file (a parser bug, a pathological file) costs that file
    # only: the batch goes on, and the log keeps the traceback for a bug report.
    log.exception("ingesting %s failed unexpectedly", name)
    return FileOutcome(name, "error", f"{name} could not be read ({type(exc).__name__}: {str(exc)[:200]}). "
                       "The other files were still added; check this file, or report it with the server log.")


def ingest_paths(paths: Iterable[Path], settings: Settings, on_event: OnEvent = ignore_event, *,
                 known_hashes: dict[str, str] | None = None, owner: str = "") -> IngestReport:
    """Ingest every file; each gets an outcome, and one bad file never stops the others.

    Files of an unsupported type inside a named folder are listed as skipped, with the reason."""
    known = dict(known_hashes or {})  # content hash -> name of the document already holding it
    paths = list(map(Path, paths))
    files = expand_paths(paths)
    report = IngestReport()
    for path in (p for p in _walk(paths) if _unsupported_in_folder(p, paths)):
        report.outcomes.append(FileOutcome(path.name, "unsupported", f"unsupported file type "
                                           f"{path.suffix or '(none)'!r} (PeerDraft reads PDF, Markdown, plain "
                                           "text and HTML)"))
    for done, path in enumerate(files, start=1):
        try:
            ingested = ingest_file(path, settings, owner=owner)
        except IngestError as exc:
            report.outcomes.append(FileOutcome(path.name, "error", str(exc)))
        except Exception as exc:  # noqa: BLE001 - see _unreadable
            report.outcomes.append(_unreadable(path.name, exc))
        else:
            report.outcomes.append(_dedupe(path.name, ingested, known))
        on_event(Event("ingest", f"Read {path.name}", done, len(files)))
    return report


def ingest_uploads(files: Iterable[tuple[str, bytes]], settings: Settings, on_event: OnEvent = ignore_event, *,
                   known_hashes: dict[str, str] | None = None, owner: str = "") -> IngestReport:
    """Like ingest_paths, for (name, bytes) pairs from an upload widget."""
    known = dict(known_hashes or {})
    files = list(files)
    report = IngestReport()
    for done, (name, data) in enumerate(files, start=1):
        try:
            ingested = ingest_bytes(name, data, settings, owner=owner)
        except IngestError as exc:
            report.outcomes.append(FileOutcome(name, "error", str(exc)))
        except Exception as exc:  # noqa: BLE001 - see _unreadable
            report.outcomes.append(_unreadable(name, exc))
        else:
            report.outcomes.append(_dedupe(name, ingested, known))
        on_event(Event("ingest", f"Read {name}", done, len(files)))
    return report


def _dedupe(name: str, ingested: IngestedDocument, known: dict[str, str]) -> FileOutcome:
    content_hash = ingested.document.content_hash
    if content_hash in known:
        return FileOutcome(name, "duplicate", known[content_hash])
    known[content_hash] = name
    return FileOutcome(name, "ok", ingested=ingested)


def update_metadata(document: Document, **changes: object) -> Document:
    """A copy of the document with edited metadata (title, authors, year, venue, arxiv_id), validated."""
    allowed = {"title", "authors", "year", "venue", "arxiv_id", "doi"}
    unknown = set(changes) - allowed
    if unknown:
        raise IngestError(f"Cannot edit {', '.join(sorted(unknown))}.", f"Editable fields: {', '.join(sorted(allowed))}.")
    values = dict(changes)
    for key, limit in (("title", META_FIELD_MAX_CHARS["title"]), ("venue", META_FIELD_MAX_CHARS["venue"]),
                       ("arxiv_id", META_FIELD_MAX_CHARS["arxiv_id"]), ("doi", META_FIELD_MAX_CHARS["doi"])):
        if key in values and len(str(values[key] or "")) > limit:
            raise IngestError(f"The {key} is {len(str(values[key])):,} characters long, over the {limit} allowed.",
                              f"Shorten the {key}.")
    if "title" in values:
        values["title"] = str(values["title"]).strip()
        if not values["title"]:
            raise IngestError("The title cannot be empty.", "Enter a title.")
    if "authors" in values:
        values["authors"] = _split_authors(values["authors"])
    if "year" in values and values["year"] not in (None, ""):
        try:
            year = int(values["year"])
        except (TypeError, ValueError):
            raise IngestError(f"Year {values['year']!r} is not a number.", "Enter a year such as 2020.") from None
        if not 1000 <= year <= 2100:
            raise IngestError(f"Year {year} is out of range.", "Enter a year such as 2020.")
        values["year"] = year
    elif "year" in values:
        values["year"] = None
    for key in ("venue", "arxiv_id", "doi"):
        if key in values:
            values[key] = str(values[key] or "").strip()
    if values.get("doi"):
        values["doi"] = re.sub(r"^(?:https?://(?:dx\.)?doi\.org/|doi:\s*)", "", values["doi"], flags=re.I).lower()
    return replace(document, **values)
