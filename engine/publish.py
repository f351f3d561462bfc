"""DOCX and PDF of an article, made by external programs: pandoc for DOCX, headless Chromium for PDF.

Both are separate programs PeerDraft runs, never libraries it links: pandoc (GPL-2.0+, from
Debian's `pandoc` package) and Chromium (BSD-style) keep their licences to themselves.

- **DOCX**: pandoc reads the article's Markdown (with its reference list) and writes Word
  equations (OMML) from the LaTeX math, native tables and lists; Mermaid diagrams go in as the PNG
  pictures `engine.diagrams` drew. A Lua filter turns every other image into a link first, so a
  draft's `![x](/etc/passwd)` or remote image is never read or fetched into the file.
- **PDF**: Chromium prints the same standalone HTML file as the HTML export (MathML, diagrams,
  highlighted code, the reference list with anchors). Chosen over pandoc + LaTeX because the
  browser is already needed to draw diagrams and run the browser tests (a TeX Live able to typeset
  this is 0.5-2 GB more), and the PDF then matches what the writer previewed; LaTeX would typeset
  formulas better, but could not draw the Mermaid diagrams without the browser anyway.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

from engine import export, render
from engine.diagrams import INSTALL_CHROMIUM, chromium_command, chromium_path
from engine.errors import PeerDraftError

FORMATS = ("docx", "pdf")
LABELS = {"docx": "Word (.docx)", "pdf": "PDF (.pdf)"}
MIME = {"docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document", "pdf": "application/pdf"}
INSTALL_PANDOC = ("Install pandoc (Debian/Ubuntu: `sudo apt-get install pandoc`; macOS: `brew install pandoc`; "
                  "or run `sudo scripts/setup.sh`).")
_TIMEOUT_S = 120

# Every image except the data: pictures PeerDraft put in becomes a link: nothing is read from disk or fetched.
_IMAGES_AS_LINKS = """
function Image(el)
  if el.src:sub(1, 5) ~= "data:" then
    return pandoc.Link(el.caption, el.src)
  end
end
"""


class ExportToolMissing(PeerDraftError):
    """The program a format needs (pandoc, Chromium) is not installed."""


def missing_tool(fmt: str) -> str | None:
    """Why `fmt` (docx | pdf) cannot be made here and how to fix it, or None when its program is installed."""
    if fmt == "docx" and shutil.which("pandoc") is None:
        return f"DOCX export needs pandoc, which is not installed. {INSTALL_PANDOC}"
    if fmt == "pdf" and chromium_path() is None:
        return f"PDF export needs Chromium, which is not installed. {INSTALL_CHROMIUM}"
    return None


def _require(fmt: str) -> None:
    reason = missing_tool(fmt)
    if reason is not None:
        raise ExportToolMissing(reason)


def pandoc_markdown(markdown: str, references: list[export.Reference] | None = None, *,
                    diagrams: render.DiagramRenderer | None = render.draw_diagrams) -> str:
    """The article as pandoc Markdown: one reference list, diagrams as pictures, bare environments as $$ math."""
    text = export.to_markdown(markdown, references)
    lines = text.splitlines(keepends=True)
    tokens = [t for t in render.parse_blocks(text) if t.map and t.level == 0]
    fences = [t for t in tokens if t.type == "fence" and t.info.strip().lower().startswith("mermaid")]
    drawn = list(diagrams([t.content for t in fences])) if fences and diagrams is not None else []
    replacements: dict[int, tuple[int, str]] = {}  # first line → (end line, new text)
    for number, (token, diagram) in enumerate(zip(fences, drawn), start=1):
        start, end = token.map
        if diagram.png:
            new = f"![Diagram {number}](data:image/png;base64,{diagram.png})\n\n"
        else:
            new = "".join(lines[start:end]) + f"\n*Diagram {number} not drawn: {diagram.error}*\n\n"
        replacements[start] = (end, new)
    for token in tokens:
        if token.type == "amsmath":  # pandoc takes LaTeX environments as math only between dollars
            start, end = token.map
            replacements[start] = (end, "$$\n" + "".join(lines[start:end]).strip() + "\n$$\n")
    out, i = [], 0
    while i < len(lines):
        if i in replacements:
            end, new = replacements[i]
            out.append(new)
            i = max(end, i + 1)
        else:
            out.append(lines[i])
            i += 1
    return "".join(out)


def to_docx(markdown: str, references: list[export.Reference] | None = None, *, title: str | None = None,
            diagrams: render.DiagramRenderer | None = render.draw_diagrams) -> bytes:
    """The article as a Word document (pandoc): equations, tables, code, diagrams and the reference list."""
    _require("docx")
    source = pandoc_markdown(markdown, references, diagrams=diagrams)
    with tempfile.TemporaryDirectory(prefix="peerdraft-docx-") as tmp:
        folder = Path(tmp)
        (folder / "article.md").write_text(source, encoding="utf-8")
        (folder / "images.lua").write_text(_IMAGES_AS_LINKS, encoding="utf-8")
        command = ["pandoc", "--from", "markdown+tex_math_single_backslash-raw_html-raw_tex-raw_attribute",
                   "--to", "docx", "--lua-filter", str(folder / "images.lua"), "--resource-path", str(folder),
                   "--output", str(folder / "article.docx"), str(folder / "article.md")]
        if title:
            command += ["--metadata", f"pagetitle={title}"]
        _run(command, "pandoc", folder)
        return (folder / "article.docx").read_bytes()


def to_pdf(markdown: str, references: list[export.Reference] | None = None, *, title: str | None = None,
           diagrams: render.DiagramRenderer | None = render.draw_diagrams) -> bytes:
    """The article as a PDF: the standalone HTML export printed by headless Chromium."""
    _require("pdf")
    page = export.to_html(markdown, references, title=title, diagrams=diagrams)
    with tempfile.TemporaryDirectory(prefix="peerdraft-pdf-") as tmp:
        folder = Path(tmp)
        (folder / "article.html").write_text(page, encoding="utf-8")
        command = chromium_command(chromium_path() or "chromium", f"--user-data-dir={folder}/profile",
                                   "--no-pdf-header-footer", "--print-to-pdf-no-header",
                                   f"--print-to-pdf={folder / 'article.pdf'}", (folder / "article.html").as_uri())
        _run(command, "Chromium", folder)
        pdf = folder / "article.pdf"
        if not pdf.is_file() or pdf.stat().st_size == 0:
            raise PeerDraftError("Chromium printed no PDF.", "Try the HTML export and print it from a browser.")
        return pdf.read_bytes()


def _run(command: list[str], program: str, cwd: Path) -> None:
    try:
        done = subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=_TIMEOUT_S)
    except subprocess.TimeoutExpired as exc:
        raise PeerDraftError(f"{program} took more than {_TIMEOUT_S} s and was stopped.",
                             "Try again; export the HTML instead if it keeps happening.") from exc
    except OSError as exc:
        raise ExportToolMissing(f"{program} could not be started ({exc}).",
                                INSTALL_PANDOC if program == "pandoc" else INSTALL_CHROMIUM) from exc
    if done.returncode != 0:
        detail = (done.stderr.strip().splitlines() or [f"exit status {done.returncode}"])[-1][:300]
        raise PeerDraftError(f"{program} could not make the file: {detail}",
                             "Export Markdown or HTML instead, and report the draft that failed.")


def export_bytes(markdown: str, fmt: str, references: list[export.Reference] | None = None, *,
                 title: str | None = None) -> bytes:
    """The article as `fmt` (docx | pdf)."""
    if fmt == "docx":
        return to_docx(markdown, references, title=title)
    if fmt == "pdf":
        return to_pdf(markdown, references, title=title)
    raise PeerDraftError(f"Binary export formats are {', '.join(FORMATS)}, not {fmt!r}.", "Use docx or pdf.")


def file_bytes(markdown: str, fmt: str, *, title: str | None = None, documents=()) -> bytes:
    """The article as `fmt`, its reference lines completed from the documents they name (as the other exports)."""
    references = export.with_documents(export.split_references(markdown)[1], documents)
    return export_bytes(markdown, fmt, references, title=title)
