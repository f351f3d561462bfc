"""PDF reading for the ingest stage: page text through pypdf, running headers/footers removed, paragraphs rebuilt."""

from __future__ import annotations

import io
import logging
import re
from collections import Counter

from engine.chunking import Block, clean_text, looks_like_heading
from engine.errors import IngestError

log = logging.getLogger(__name__)

_PAGE_NUMBER = re.compile(r"^(page\s*)?\d{1,4}(\s*(of|/)\s*\d{1,4})?$", re.IGNORECASE)
_EDGE_LINES = 3  # running headers/footers sit within the first or last lines of a page


def _edge_key(line: str) -> str:
    return re.sub(r"\d+", "#", line.strip().lower())


def _strip_running_lines(pages: list[list[str]]) -> list[list[str]]:
    """Pages without lines that repeat at the top or bottom of most pages, and without bare page numbers."""
    counts: Counter[str] = Counter()
    for lines in pages:
        edges = {_edge_key(line) for line in lines[:_EDGE_LINES] + lines[-_EDGE_LINES:]}
        counts.update(edges)
    threshold = max(3, (len(pages) + 1) // 2)
    repeated = {key for key, n in counts.items() if n >= threshold and key} if len(pages) >= 3 else set()
    cleaned = []
    for lines in pages:
        keep = []
        for i, line in enumerate(lines):
            at_edge = i < _EDGE_LINES or i >= len(lines) - _EDGE_LINES
            if at_edge and (_edge_key(line) in repeated or _PAGE_NUMBER.match(line.strip())):
                continue
            keep.append(line)
        cleaned.append(keep)
    return cleaned


def _page_blocks(lines: list[str], page: int) -> list[Block]:
    """Paragraph and heading blocks from one page's lines (line breaks inside a paragraph become spaces)."""
    blocks: list[Block] = []
    current: list[str] = []
    lengths = sorted(len(line) for line in lines if line.strip())
    typical = lengths[len(lengths) // 2] if lengths else 0

    def flush() -> None:
        if current:
            blocks.append(Block("para", clean_text("\n".join(current)).replace("\n", " "), page))
            current.clear()

    for line in lines:
        stripped = line.strip()
        if not stripped:
            flush()
            continue
        if looks_like_heading(stripped):
            flush()
            blocks.append(Block("heading", stripped, page))
            continue
        current.append(stripped)
        # A short line ending a sentence usually ends its paragraph in extracted PDF text.
        if stripped[-1] in ".!?:" and len(stripped) < 0.7 * typical:
            flush()
    flush()
    return blocks


def read_pdf(name: str, data: bytes) -> tuple[list[Block], dict, int, str]:
    """(blocks, metadata, page count, first-page text) of a PDF, or IngestError saying why not."""
    from pypdf import PdfReader  # imported on first PDF
    from pypdf.errors import PdfReadError

    if not data.lstrip()[:5].startswith(b"%PDF-"):
        raise IngestError(f"{name} is not a valid PDF (no %PDF header; the file is corrupt or mislabelled).",
                          "Export the PDF again, or upload it with its real file type.")
    try:
        reader = PdfReader(io.BytesIO(data), strict=False)
        if reader.is_encrypted:
            try:
                opened = reader.decrypt("")
            except Exception:  # pypdf raises DependencyError/NotImplementedError for some ciphers
                opened = 0
            if not opened:
                raise IngestError(f"{name} is encrypted (password-protected), so its text cannot be read.",
                                  "Remove the password (e.g. print to a new PDF) and upload it again.")
        raw_pages = [page.extract_text() or "" for page in reader.pages]
        info = reader.metadata or {}
        meta = {"title": str(info.get("/Title") or "").strip(), "authors": str(info.get("/Author") or "").strip()}
    except IngestError:
        raise
    except (PdfReadError, ValueError, KeyError, TypeError, AttributeError, IndexError, OSError) as exc:
        raise IngestError(f"{name} is a corrupt PDF that pypdf cannot read ({exc}).",
                          "Export the PDF again from its source.") from None
    if not raw_pages:
        raise IngestError(f"{name} is a PDF with no pages.", "Check the file.")
    pages = _strip_running_lines([clean_text(text).split("\n") for text in raw_pages])
    blocks = [block for number, lines in enumerate(pages, start=1) for block in _page_blocks(lines, number)]
    log.debug("read %s: %d pages, %d blocks", name, len(pages), len(blocks))
    return blocks, meta, len(pages), clean_text(raw_pages[0])
