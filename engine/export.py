"""Export stage: an article as Markdown with its reference list, standalone HTML, DOCX, PDF, BibTeX.

HTML is rendered by `engine.render` (math as MathML, diagrams as pictures, highlighted code) and
passed, whole, through nh3 (the Rust `ammonia` sanitizer): whatever the draft or a source's title
contains, the file has no script, no event handler attribute and no javascript: (or other
non-web) URL. A Content-Security-Policy in the page head forbids scripts and any network load as
a second line of defence. DOCX and PDF come from external programs (`engine.publish`).
"""

from __future__ import annotations

import difflib
import html
import re
import unicodedata
from dataclasses import dataclass
from typing import Iterable, Mapping

import nh3

from engine import render
from engine.markup import REFERENCE_HEADING_LINE, citations_in
from engine.records import Document

FORMATS = ("md", "html", "bibtex")

_NEXT_HEADING = re.compile(r"^ {0,3}#{1,6}\s+\S", re.M)
_REFERENCE_LINE = re.compile(r"^\s*(?:[-*+]\s+)?(?:\[(\d{1,4})\]|(\d{1,4})[.)])\s+(.+?)\s*$")
_ARXIV = re.compile(r"arXiv[:\s]*(\d{4}\.\d{4,5}(?:v\d+)?)", re.I)
_INITIALS = re.compile(r"^(?:[A-Z]\.?\s?-?)+$|^(?:[A-Z][a-z]?\.\s?-?)+$")
_YEAR_IN_PARENS = re.compile(r"^(?P<authors>.*?)\s*\((?P<year>(?:19|20)\d{2})[a-z]?\)\.?\s*(?P<rest>.*)$")


@dataclass(frozen=True)
class Reference:
    """One numbered entry of an article's reference list: the line as shown, and its document when known."""

    number: int
    text: str
    document: Document | None = None


# ----------------------------------------------------------------------- references
def format_reference(doc: Document) -> str:
    """'Authors (Year). Title. Venue. arXiv:id' from a document's metadata."""
    authors = ", ".join(doc.authors) if doc.authors else "Anon."
    parts = [f"{authors} ({doc.year})." if doc.year else f"{authors}.", f"{doc.title.rstrip('.')}."]
    if doc.venue:
        parts.append(f"{doc.venue.rstrip('.')}.")
    if doc.arxiv_id:
        parts.append(f"arXiv:{doc.arxiv_id}")
    if doc.doi and not doc.doi.startswith("10.48550/"):  # arXiv's own DOI says what the arXiv id says
        parts.append(f"doi:{doc.doi}")
    return " ".join(parts)


def references_from_documents(numbered: Mapping[int, Document]) -> list[Reference]:
    """References in number order from the citation numbers the draft stage assigned."""
    return [Reference(n, format_reference(doc), doc) for n, doc in sorted(numbered.items())]


def split_references(markdown: str) -> tuple[str, list[Reference]]:
    """(body without its References section, the entries parsed from that section)."""
    match = REFERENCE_HEADING_LINE.search(markdown)
    if match is None:
        return markdown, []
    after = markdown[match.end():]
    following = _NEXT_HEADING.search(after)
    section = after[:following.start()] if following else after
    rest = after[following.start():] if following else ""
    references = []
    for line in section.splitlines():
        parsed = _REFERENCE_LINE.match(line)
        if parsed:
            number = int(parsed.group(1) or parsed.group(2))
            references.append(Reference(number, parsed.group(3)))
    body = (markdown[:match.start()].rstrip() + "\n\n" + rest.lstrip()).strip() + "\n"
    return body, references


def document_from_reference(reference: Reference) -> Document:
    """Best-effort metadata from a reference line ('Authors (Year). Title. Venue. arXiv:id')."""
    if reference.document is not None:
        return reference.document
    text = reference.text.strip()
    arxiv = _ARXIV.search(text)
    text_wo_arxiv = _ARXIV.sub("", text).strip().rstrip(".").strip()
    authors: tuple[str, ...] = ()
    year = None
    title, venue = text_wo_arxiv, ""
    match = _YEAR_IN_PARENS.match(text_wo_arxiv)
    if match:
        year = int(match.group("year"))
        authors = _split_authors(match.group("authors"))
        pieces = [p.strip() for p in re.split(r"\.\s+", match.group("rest")) if p.strip()]
        title = pieces[0].rstrip(".") if pieces else ""
        venue = ". ".join(pieces[1:]).rstrip(".")
    return Document(doc_id=f"ref-{reference.number}", title=title, authors=authors, year=year, venue=venue,
                    arxiv_id=arxiv.group(1) if arxiv else "")


def _split_authors(text: str) -> tuple[str, ...]:
    text = re.sub(r",?\s*et al\.?$", ", others", text.strip())
    if ";" in text:
        return tuple(n.strip() for n in text.split(";") if n.strip())
    names: list[str] = []
    for piece in re.split(r",\s*(?:and\s+|&\s*)?|\s+and\s+|\s*&\s*", text):
        piece = piece.strip()
        if not piece:
            continue
        # "Vaswani, A." splits into "Vaswani" and "A.": initials belong to the name before them.
        if names and _INITIALS.match(piece) and "," not in names[-1]:
            names[-1] = f"{names[-1]}, {piece}"
        else:
            names.append(piece)
    return tuple(names)


# ----------------------------------------------------------------------- Markdown
def to_markdown(markdown: str, references: list[Reference] | None = None) -> str:
    """The article as Markdown ending in one `## References` list (`[n] entry` lines).

    With `references` None, the draft's own list is kept (normalised); otherwise it is replaced.
    """
    body, own = split_references(markdown)
    refs = own if references is None else references
    if not refs:
        return body
    lines = "\n".join(f"[{r.number}] {r.text}  " for r in refs)
    return f"{body.rstrip()}\n\n## References\n\n{lines}\n"


# ----------------------------------------------------------------------- HTML
_STYLE = """
body { font: 17px/1.6 'PeerDraft Serif', Georgia, 'Times New Roman', serif; color: #1d1d1f; background: #fff;
       margin: 0; }
main { max-width: 44rem; margin: 3rem auto; padding: 0 1.25rem; }
h1, h2, h3, h4 { line-height: 1.25; }
h1 { font-size: 2rem; margin-bottom: .5rem; } h2 { margin-top: 2.2rem; border-bottom: 1px solid #ddd; }
pre { background: #f6f8fa; padding: .8rem 1rem; overflow-x: auto; border-radius: 6px; font-size: .85rem; }
code, pre { font-family: 'PeerDraft Mono', ui-monospace, 'SFMono-Regular', Menlo, monospace; font-size: .9em; }
blockquote { border-left: 4px solid #ccd; margin-left: 0; padding-left: 1rem; color: #555; }
table { border-collapse: collapse; } td, th { border: 1px solid #ccc; padding: .3rem .6rem; }
a.citation { text-decoration: none; font-size: .85em; }
ol.references { font-size: .92rem; } ol.references li:target { background: #fff6cc; }
@media print { main { margin: 0 auto; } a { color: inherit; } }
""" + render.PREVIEW_STYLE
# Images and fonts only as data: URLs: the diagrams PeerDraft draws (the sanitizer drops every <img>) and
# the math font it embeds.
_CSP = ("default-src 'none'; style-src 'unsafe-inline'; img-src data:; font-src data:; base-uri 'none'; "
        "form-action 'none'")
MATH_FONTS = render.MATH_FONTS
math_font_css = render.math_font_css
sanitize_html = render.sanitize_html


def to_html(markdown: str, references: list[Reference] | None = None, *, title: str | None = None,
            diagrams: render.DiagramRenderer | None = render.draw_diagrams) -> str:
    """A standalone, styled, sanitized HTML page that works offline: citations link to the reference list
    entries, math is MathML, diagrams are pictures inside the file, code is highlighted."""
    body, own = split_references(markdown)
    refs = own if references is None else references
    clean = render.render_html(body, citations={r.number for r in refs}, diagrams=diagrams)
    if refs:
        items = "\n".join(f'<li id="ref-{r.number}" value="{r.number}">{render.render_inline(r.text)}</li>'
                          for r in refs)
        clean += sanitize_html(f'\n<h2 id="references">References</h2>\n<ol class="references">\n{items}\n</ol>')
    page_title = title or _first_heading(body) or "PeerDraft article"
    return (
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
        f"<meta http-equiv=\"Content-Security-Policy\" content=\"{_CSP}\">\n"
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
        "<meta name=\"generator\" content=\"PeerDraft\">\n"
        f"<title>{html.escape(html.unescape(nh3.clean(page_title, tags=set())))}</title>\n<style>{render.text_font_css(clean)}{math_font_css(clean)}{_STYLE}{render.code_style()}</style>\n</head>\n"
        f"<body>\n<main>\n{clean}\n</main>\n</body>\n</html>\n"
    )


def _first_heading(markdown: str) -> str:
    match = re.search(r"^ {0,3}#\s+(.+?)\s*#*\s*$", markdown, re.M)
    return match.group(1) if match else ""


# ----------------------------------------------------------------------- BibTeX
_LATEX_SPECIAL = {"\\": r"\textbackslash{}", "{": r"\{", "}": r"\}", "&": r"\&", "%": r"\%", "$": r"\$",
                  "#": r"\#", "_": r"\_", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}"}
_JOURNAL_HINTS = re.compile(r"journal|transactions|jmlr|tacl|nature|science|letters|review", re.I)


def _latex(text: str) -> str:
    text = "".join(ch for ch in text if unicodedata.category(ch)[0] != "C")
    return "".join(_LATEX_SPECIAL.get(ch, ch) for ch in text)


def _cite_key(doc: Document, taken: set[str]) -> str:
    last = doc.authors[0].split(",")[0].split()[-1] if doc.authors and doc.authors[0].split() else "anon"
    first_word = next((w for w in re.findall(r"[A-Za-z0-9]+", doc.title)
                       if w.lower() not in {"a", "an", "the", "on", "of"}), "untitled")
    base = "".join(ch for ch in unicodedata.normalize("NFKD", f"{last}{doc.year or ''}{first_word}")
                   if ch.isascii() and ch.isalnum()).lower() or "ref"
    key, suffix = base, ord("a")
    while key in taken:
        key, suffix = f"{base}{chr(suffix)}", suffix + 1
    taken.add(key)
    return key


def to_bibtex(documents: Iterable[Document]) -> str:
    """BibTeX entries for the documents (in the given order; duplicates by doc_id dropped)."""
    entries, taken, seen = [], set(), set()
    for doc in documents:
        if doc.doc_id in seen:
            continue
        seen.add(doc.doc_id)
        authors = [a for a in doc.authors if a.lower() not in ("others", "et al.", "et al")]
        fields = [("title", "{" + _latex(doc.title) + "}")]
        if authors:
            fields.append(("author", " and ".join(_latex(a) for a in authors)
                           + (" and others" if len(authors) < len(doc.authors) else "")))
        if doc.year:
            fields.append(("year", str(doc.year)))
        if doc.venue and _JOURNAL_HINTS.search(doc.venue):
            kind, fields = "article", fields + [("journal", _latex(doc.venue))]
        elif doc.venue:
            kind, fields = "inproceedings", fields + [("booktitle", _latex(doc.venue))]
        else:
            kind = "misc"
        if doc.arxiv_id:
            fields += [("eprint", _latex(doc.arxiv_id)), ("archivePrefix", "arXiv")]
        if doc.doi:
            fields.append(("doi", doc.doi))
        body = ",\n".join(f"  {name} = {{{value}}}" for name, value in fields)
        entries.append(f"@{kind}{{{_cite_key(doc, taken)},\n{body}\n}}")
    return "\n\n".join(entries) + ("\n" if entries else "")


def cited_documents(markdown: str, references: list[Reference] | None = None) -> list[Document]:
    """Documents of the references the body actually cites, in number order."""
    body, own = split_references(markdown)
    refs = own if references is None else references
    cited = set(citations_in(body))
    return [document_from_reference(r) for r in sorted(refs, key=lambda r: r.number) if r.number in cited]


# ----------------------------------------------------------------------- one entry point
def export_text(markdown: str, fmt: str, references: list[Reference] | None = None, *, title: str | None = None) -> str:
    """The article in `fmt` (md | html | bibtex)."""
    if fmt == "md":
        return to_markdown(markdown, references)
    if fmt == "html":
        return to_html(markdown, references, title=title)
    if fmt == "bibtex":
        return to_bibtex(cited_documents(markdown, references))
    from engine.errors import PeerDraftError
    raise PeerDraftError(f"Export format must be one of {', '.join(FORMATS)}, but is {fmt!r}.",
                         "Use --format md, html or bibtex.")


def export_article(store, user, article_id: int, fmt: str, references: list[Reference] | None = None) -> str:
    """The latest version of an article the user may read, exported (access enforced by the store)."""
    article = store.get_article(user, article_id)
    version = store.latest_version(user, article_id)
    return export_text(version.markdown if version else "", fmt, references, title=article.title)


def export_report(report_markdown: str, fmt: str = "md", *, title: str = "Evaluation report") -> str:
    """The evaluation report (already rendered as Markdown by the evaluate stage) as md or sanitized HTML."""
    if fmt == "md":
        return report_markdown if report_markdown.endswith("\n") else report_markdown + "\n"
    if fmt == "html":
        return to_html(report_markdown, [], title=title)
    from engine.errors import PeerDraftError
    raise PeerDraftError(f"The report exports as md or html, not {fmt!r}.", "Use md or html.")


# ----------------------------------------------------------------------- version diff
DIFF_STYLE = """<style>
table.diff { font: 13px ui-monospace, Menlo, monospace; border-collapse: collapse; width: 100%; }
table.diff td { padding: 0 .4rem; vertical-align: top; white-space: pre-wrap; }
.diff_header { color: #888; text-align: right; } .diff_next { display: none; }
.diff_add { background: #d7f5dd; } .diff_chg { background: #fff1b8; } .diff_sub { background: #fbd9d9; }
</style>"""

def diff_table_html(old: str, new: str, old_label: str = "before", new_label: str = "after") -> str:
    """A side-by-side difflib table of two texts, sanitized (the texts are user content)."""
    table = difflib.HtmlDiff(wrapcolumn=70).make_table(old.splitlines(), new.splitlines(),
                                                       html.escape(old_label), html.escape(new_label),
                                                       context=True, numlines=3)
    return sanitize_html(table)


# ----------------------------------------------------------------------- download files (pages)
@dataclass(frozen=True)
class ExportFile:
    """One downloadable export of an article: kind (md, html, bibtex, report), label, file name, MIME type, text."""

    kind: str
    label: str
    file_name: str
    mime: str
    text: str


def _normal_title(title: str) -> str:
    return re.sub(r"[^a-z0-9]+", " ", title.lower()).strip()


def with_documents(references: list[Reference], documents: Iterable[Document]) -> list[Reference]:
    """References whose line names a known document's title carry that document's full metadata."""
    by_title = {_normal_title(d.title): d for d in documents if d.title}
    out = []
    for ref in references:
        match = ref.document or by_title.get(_normal_title(document_from_reference(ref).title))
        if match is None:  # the line may hold the title anywhere ("Authors. Title. Venue.")
            line = _normal_title(ref.text)
            match = next((d for t, d in by_title.items() if len(t) > 12 and t in line), None)
        out.append(Reference(ref.number, ref.text, match) if match else ref)
    return out


def file_stem(title: str) -> str:
    """A safe file name stem from an article title ('LoRA: a primer' → 'lora-a-primer')."""
    ascii_title = unicodedata.normalize("NFKD", title).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_title.lower()).strip("-")[:60].strip("-") or "article"


def export_files(markdown: str, *, title: str, documents: Iterable[Document] = (),
                 report_markdown: str = "") -> list[ExportFile]:
    """The article as Markdown (with its reference list), sanitized HTML and BibTeX of the cited documents,
    plus the evaluation report when one is given."""
    references = with_documents(split_references(markdown)[1], documents)
    stem = file_stem(title)
    files = [
        ExportFile("md", "Markdown (.md)", f"{stem}.md", "text/markdown", to_markdown(markdown, references)),
        ExportFile("html", "HTML (.html)", f"{stem}.html", "text/html", to_html(markdown, references, title=title)),
        ExportFile("bibtex", "BibTeX (.bib)", f"{stem}.bib", "application/x-bibtex",
                   to_bibtex(cited_documents(markdown, references))),
    ]
    if report_markdown.strip():
        files.append(ExportFile("report", "Evaluation report (.md)", f"{stem}-evaluation.md", "text/markdown",
                                export_report(report_markdown, "md")))
    return files


def latest_report(store, user, article_id: int) -> str:
    """The Markdown report of the newest evaluated version of an article the user may read ('' if none)."""
    for version in store.list_versions(user, article_id):
        evaluation = store.latest_evaluation(user, version.id)
        if evaluation is not None and evaluation.report_markdown.strip():
            return evaluation.report_markdown
    return ""


def article_export_files(store, user, article_id: int, markdown: str | None = None,
                         documents: Iterable[Document] = ()) -> list[ExportFile]:
    """Export files of an article the user may read (the store raises NotFound otherwise).

    `markdown` is the text on the writer's screen; without it the latest saved version is exported. The
    evaluation report comes only to the article's owner: it quotes the owner's sources, private ones included
    (a reviewer sees the figures on the Review page, without those quotes).
    """
    article = store.get_article(user, article_id)
    if markdown is None:
        version = store.latest_version(user, article_id)
        markdown = version.markdown if version else ""
    report = latest_report(store, user, article_id) if article.owner == user.name else ""
    return export_files(markdown, title=article.title, documents=documents, report_markdown=report)
