"""PDF ingest on real papers: header metadata, sections, references, what leaks into prose chunks, speed.

Material: real arXiv papers nobody in the team wrote (bench/data/pdf_expected.json names each by arXiv id
and sha256, with hand-checked title, authors, year, top-level sections and reference count), one odd PDF
(a non-arXiv report whose running head repeats its title), and variants the script derives from a real
paper (every page rotated, pages rendered to images as a scanner would, encrypted, truncated).

Reference in the same run: the PDF reader before the layout rewrite (pypdf text and line heuristics),
loaded from git (`--baseline-rev`, default the commit before it), fed through the same metadata and
chunking code.

Run: OMP_NUM_THREADS=1 nice .venv/bin/python bench/ingest_pdf.py /work/ext/pdfs [--no-write]
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import re
import subprocess
import sys
import time
import types
import unicodedata
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench._results import write_section  # noqa: E402
from engine import ingest  # noqa: E402
from engine.chunking import assemble_body, chunk_body  # noqa: E402
from engine.errors import IngestError  # noqa: E402
from engine.settings import load_settings  # noqa: E402

EXPECTED = ROOT / "bench" / "data" / "pdf_expected.json"
BASELINE_REV = "a8c784f~1"  # the pypdf-only reader
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+\.[a-z]{2,}", re.IGNORECASE)
# a reference entry's shape: 'Surname, I.,' or 'I. Surname,' author lists followed by a year, or a [n] label
_REFERENCE_SHAPE = re.compile(r"(?:\[\d{1,3}\]\s+[A-Z]|\b[A-Z][a-z]+, (?:[A-Z]\.\s?){1,3}[,&]|"
                              r"\b(?:19|20)\d\d[a-z]?\.\s+[A-Z][^.]{10,}\.\s+(?:In|arXiv|CoRR|Proc))")
_NUMBER = re.compile(r"^[-+±(]?\d[\d.,]*%?\)?$")


def norm(text: str) -> str:
    """Case-folded, accent-free, whitespace-collapsed text for comparisons."""
    text = unicodedata.normalize("NFKD", text)
    text = "".join(c for c in text if not unicodedata.combining(c)).replace("ł", "l").replace("Ł", "L")
    return " ".join(re.sub(r"[^\w\s:-]", " ", text).casefold().split())


def heading_key(text: str) -> str:
    return norm(re.sub(r"^(\d+)\.?\s+", r"\1 ", text.strip()))


def author_f1(found: tuple[str, ...], expected: list[str]) -> float:
    found_set, expected_set = {norm(a) for a in found}, {norm(a) for a in expected}
    hits = len(found_set & expected_set)
    if not hits:
        return 0.0
    precision, recall = hits / len(found_set), hits / len(expected_set)
    return 2 * precision * recall / (precision + recall)


def baseline_reader(rev: str):
    """The old read_pdf (pypdf text + heuristics) from git, or None when git cannot show it."""
    try:
        source = subprocess.run(["git", "show", f"{rev}:engine/ingest_pdf.py"], cwd=ROOT, capture_output=True,
                                text=True, check=True).stdout
    except (subprocess.CalledProcessError, OSError):
        return None
    module = types.ModuleType("baseline_ingest_pdf")
    exec(compile(source, "baseline_ingest_pdf.py", "exec"), module.__dict__)  # our own earlier code
    return module.read_pdf


def read_baseline(read_pdf, name: str, data: bytes, settings):
    """An IngestedDocument-like view of the old reader's output through today's metadata and chunking."""
    blocks, meta, n_pages, first_text = read_pdf(name, data)
    body = assemble_body(blocks)
    fields = ingest._metadata("pdf", name, meta, blocks, first_text)
    doc = types.SimpleNamespace(**fields)
    chunks = chunk_body("baseline", body)
    return types.SimpleNamespace(document=doc, chunks=tuple(chunks), bibliography=None, body=body.text,
                                 report=None, n_pages=n_pages)


def chunk_findings(chunks, expected: dict) -> dict:
    """Counts of chunks that hold front matter, or table rows / reference entries inside prose."""
    names = [norm(a) for a in expected["authors"]]
    front = mixed_tables = mixed_refs = 0
    for chunk in chunks:
        text = norm(chunk.text)
        # an acknowledgement or a statement of who did what names the authors by design ('The work of Yi Luo,
        # Zhuo Chen ... was funded'; Rho-1's 'A Author Contributions'): back matter the paper prints as a section
        thanks = re.match(r"^((?:\d+|[A-Z])\.?\s*)?(acknowledge?ments?|author contributions?|contributions)\b",
                          chunk.section or "", re.IGNORECASE)
        # the header's e-mail addresses sit on its first pages; one in an appendix is quoted material (Rho-1's
        # examples of web text), not the paper's contact block. A header leak names the paper's own authors
        # wherever it lands, so two of their names count on any page
        header_email = getattr(chunk, "page", 1) <= 2 and _EMAIL.search(chunk.text)
        if not thanks and (header_email or sum(name in text for name in names) >= min(2, len(names))):
            front += 1
        if getattr(chunk, "kind", "text") != "text":
            continue
        tokens = chunk.text.split()
        numbers = sum(bool(_NUMBER.match(t)) for t in tokens)
        if numbers >= 12 and numbers >= 0.3 * len(tokens):
            mixed_tables += 1
        if len(_REFERENCE_SHAPE.findall(chunk.text)) >= 2:
            mixed_refs += 1
    return {"front": front, "mixed_tables": mixed_tables, "mixed_refs": mixed_refs, "chunks": len(chunks)}


def is_bad_section_name(section: str) -> bool:
    """True for a section name shaped like a reference entry or a table row.

    A heading may hold a year or a number ('4.3. VOC 2007 results', '5.2 Results on WMT 2014'): its own section
    number does not count as a figure, and a year counts only where no heading starts, at the front ('2018.
    Maskgan: ...', a table row '2021 Afghan protests Great Circle (novel)')."""
    body = re.sub(r"^(?:\d{1,2}(?:\.\d{1,2})*\.?|[A-H](?:\.\d{1,2})*\.?)\s+", "", section.strip())
    tokens = body.split()
    numeric = sum(bool(_NUMBER.match(t)) for t in tokens)
    entry = bool(re.match(r"^(19|20)\d\d\b", body) or "et al" in section or re.search(r"\bIn Proc", section)
                 or _REFERENCE_SHAPE.search(section))
    table_row = len(tokens) >= 3 and numeric >= 0.5 * len(tokens)
    return entry or table_row


def bad_section_names(chunks) -> list[str]:
    """Section names shaped like a reference entry or a table row."""
    return sorted({c.section for c in chunks if c.section and is_bad_section_name(c.section)})


def score(doc, expected: dict, seconds: float) -> dict:
    d = doc.document
    headings = doc.report.headings if doc.report else [c.section for c in doc.chunks if c.section]
    found_headings = {heading_key(h) for h in headings}
    expected_sections = [heading_key(s) for s in expected["sections"]]
    refs = len(doc.bibliography) if doc.bibliography is not None else None
    return {"title_ok": norm(d.title) == norm(expected["title"]), "title": d.title,
            "author_f1": author_f1(tuple(d.authors), expected["authors"]), "year_ok": d.year == expected["year"],
            "section_recall": sum(s in found_headings for s in expected_sections) / len(expected_sections),
            "refs": refs, "refs_true": expected["references"], "bad_sections": bad_section_names(doc.chunks),
            **chunk_findings(doc.chunks, expected), "seconds": seconds}


def derived_pdfs(folder: Path) -> list[tuple[str, bytes, str]]:
    """(name, bytes, what to expect) for variants of a real paper: rotated, scanned, encrypted, truncated."""
    from pypdf import PdfReader, PdfWriter

    source = folder / "1503.02531.pdf"
    if not source.exists():
        return []
    data = source.read_bytes()
    out = []
    writer = PdfWriter()
    for page in PdfReader(io.BytesIO(data)).pages:
        writer.add_page(page)
        writer.pages[-1].rotate(90)
    buffer = io.BytesIO()
    writer.write(buffer)
    out.append(("rotated.pdf", buffer.getvalue(), "text"))
    import pypdfium2

    pdf = pypdfium2.PdfDocument(data)
    images = [pdf[i].render(scale=200 / 72).to_pil().convert("L") for i in range(2)]
    pdf.close()
    buffer = io.BytesIO()
    images[0].save(buffer, "PDF", resolution=200, save_all=True, append_images=images[1:])
    out.append(("scanned.pdf", buffer.getvalue(), "ocr"))
    writer = PdfWriter()
    for page in PdfReader(io.BytesIO(data)).pages:
        writer.add_page(page)
    writer.encrypt("secret", algorithm="AES-128")
    buffer = io.BytesIO()
    writer.write(buffer)
    out.append(("encrypted.pdf", buffer.getvalue(), "error"))
    out.append(("truncated.pdf", data[: int(len(data) * 0.4)], "error-or-text"))
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path, help="folder holding the PDFs named in bench/data/pdf_expected.json")
    parser.add_argument("--baseline-rev", default=BASELINE_REV)
    parser.add_argument("--no-write", action="store_true", help="print only; leave bench/results.md alone")
    parser.add_argument("--heldout-only", action="store_true",
                        help="the held-out papers alone, without the previous reader or derived PDFs; print only "
                             "(for the first run on a new held-out batch)")
    args = parser.parse_args(argv)
    spec = json.loads(EXPECTED.read_text(encoding="utf-8"))
    settings = load_settings(env={}, toml_path=ROOT / "none.toml")
    old_reader = None if args.heldout_only else baseline_reader(args.baseline_rev)
    rows, old_rows, pages, seconds = [], [], 0, 0.0
    heldout_files = {e["file"] for e in spec.get("heldout", [])}
    papers = spec.get("heldout", []) if args.heldout_only else spec["papers"] + spec["odd"] + spec.get("heldout", [])
    for expected in papers:
        path = args.folder / expected["file"]
        if not path.exists():
            print(f"missing {path}: fetch arXiv {expected['arxiv_id'] or expected['source']}", file=sys.stderr)
            continue
        data = path.read_bytes()
        if hashlib.sha256(data).hexdigest() != expected["sha256"]:
            print(f"{path.name}: sha256 differs from the expected version; figures may not match", file=sys.stderr)
        start = time.perf_counter()
        doc = ingest.ingest_bytes(path.name, data, settings)
        elapsed = time.perf_counter() - start
        pages += doc.report.pages
        seconds += elapsed
        rows.append((expected, score(doc, expected, elapsed), doc.report))
        if old_reader:
            start = time.perf_counter()
            old = read_baseline(old_reader, path.name, data, settings)
            old_rows.append((expected, score(old, expected, time.perf_counter() - start)))
    lines = ["## PDF ingest on real papers (bench/ingest_pdf.py)", "",
             f"Material: real papers nobody in the team wrote: {len(spec['papers'])} the reader was tuned on, "
             f"{len(spec['odd'])} non-arXiv report, and {len(spec.get('heldout', []))} held-out papers "
             "(bench/data/pdf_expected.json: arXiv id or source, sha256, hand-checked title, authors, year, "
             "top-level sections, reference count), plus variants derived from one of them. Titles compared "
             "case- and accent-insensitively (small capitals come out upper-case); a front-matter chunk is one with an "
             "e-mail address on pages 1-2 or two of the paper's author names on any page, outside an Acknowledgements "
             "or Author Contributions section (an e-mail quoted in an appendix example is no header leak). Run on the shared 2-core "
             "machine; `python bench/ingest_pdf.py <folder of the PDFs>`. Caution: the reader's rules were tuned on "
             "the first 9 files, then on six batches first run as held-out (5, 8, 10, 9, 12 and 12 papers; their first-run "
             "figures are quoted below the table, and they now count as tuned on). The held-out rows are a seventh batch "
             "of 12 from repositories no earlier batch used (2023-2026 arXiv preprints and three EMNLP 2023 and one ICML "
             "2019 proceedings copies; ACL, CVPR, ICML, ICLR and NeurIPS-style templates, one and two columns: API-Bank, "
             "G-Eval, generative retrieval at scale, label-noise modelling, SSL for cell profiling, event-based eye "
             "tracking, ABAW expression recognition, RefAV, Eureka, weak-to-strong generalization, pre-/mid-training and "
             "RL, SkillsBench with 41 authors) whose expected values were committed before the reader first ran on them: "
             "the totals row marked 'seventh batch ... first run' is that run's, the fairer estimate (still a small "
             "sample; earlier batches' first-run rows are kept as history); the per-paper rows marked held out and the "
             "row below the first-run rows are today's, after any fixes that first run "
             "prompted (listed below the table). The ViT file is the ICLR "
             "camera-ready without an arXiv stamp or id, so its expected year is the printed venue year, 2021.", "",
             "| paper | layout | title | author F1 | year | sections | references found / true | front-matter "
             "chunks | prose chunks with tables / references | bad section names | pages/s |",
             "|---|---|---|---|---|---|---|---|---|---|---|"]
    for expected, s, report in rows:
        mark = " (held out)" if expected["file"] in heldout_files else ""
        lines.append(f"| {expected['arxiv_id'] or expected['file']}{mark} | {expected['layout']} | "
                     f"{'ok' if s['title_ok'] else 'wrong: ' + s['title'][:40]} | {s['author_f1']:.2f} | "
                     f"{'ok' if s['year_ok'] else 'wrong'} | {s['section_recall']:.0%} | {s['refs']} / {s['refs_true']} | "
                     f"{s['front']} of {s['chunks']} | {s['mixed_tables']} / {s['mixed_refs']} | "
                     f"{len(s['bad_sections'])} | {report.pages / s['seconds']:.1f} |")

    def summary(scored: list[dict], label: str) -> str:
        n = len(scored)
        refs = [s for s in scored if s["refs"] is not None]
        ref_rate = (sum(min(s["refs"], s["refs_true"]) for s in refs) / sum(s["refs_true"] for s in refs)) if refs else None
        return (f"| {label} | {sum(s['title_ok'] for s in scored) / n:.0%} | "
                f"{sum(s['author_f1'] for s in scored) / n:.2f} | {sum(s['year_ok'] for s in scored) / n:.0%} | "
                f"{sum(s['section_recall'] for s in scored) / n:.0%} | "
                f"{'n/a (not parsed)' if ref_rate is None else f'{ref_rate:.0%}'} | "
                f"{sum(s['front'] for s in scored)} of {sum(s['chunks'] for s in scored)} | "
                f"{sum(s['mixed_tables'] for s in scored)} / {sum(s['mixed_refs'] for s in scored)} | "
                f"{sum(len(s['bad_sections']) for s in scored)} |")

    lines += ["", "Totals over those papers (target: titles >= 90%, author F1 >= 0.9, references >= 90%, no front-matter "
              "chunk, no table/reference in prose, no bad section name):", "",
              "| reader | titles exact | author F1 | year | section recall | references found | front-matter chunks | "
              "prose chunks with tables / references | bad section names |", "|---|---|---|---|---|---|---|---|---|",
              *([] if args.heldout_only else [summary([s for e, s, _ in rows if e["file"] not in heldout_files],
                                            "layout reader, papers it was tuned on")])]
    held = [s for e, s, _ in rows if e["file"] in heldout_files]
    # the held-out figure is each batch's first run, kept as it was; earlier batches' rows stay as history
    first_rows = spec.get("heldout_first_rows", [])
    current_first = any(r["batch"] == spec.get("heldout_batch") for r in first_rows)
    if not args.heldout_only:
        lines += [r["row"] for r in first_rows]
    if held:
        lines.append(summary(held, f"layout reader, {len(held)} held-out papers" if not current_first or args.heldout_only
                             else f"the same {len(held)} papers today, after the fixes their first run prompted"))
    if old_rows:
        lines.append(summary([s for _, s in old_rows], f"previous reader (pypdf text, `{args.baseline_rev}`), all"))
    if spec.get("heldout_first_run"):
        lines += ["", spec["heldout_first_run"]]
    lines += ["", f"Speed: {pages} pages in {seconds:.1f} s = {pages / seconds:.1f} pages/s on the shared machine "
              "(layout analysis of every character; OCR pages are far slower)."]
    bad = sorted({b for _, s, _ in rows for b in s["bad_sections"]})
    if bad:
        lines.append(f"Bad section names left: {'; '.join(repr(b) for b in bad[:8])}.")
    if args.heldout_only:
        print("\n".join(lines))
        return 0
    lines += ["", "Odd PDFs derived from 1503.02531 (real paper):", "", "| variant | outcome |", "|---|---|"]
    for name, data, expect in derived_pdfs(args.folder):
        start = time.perf_counter()
        try:
            doc = ingest.ingest_bytes(name, data, settings)
        except IngestError as exc:
            outcome = f"error: {exc}"
        else:
            r = doc.report
            outcome = (f"read in {time.perf_counter() - start:.1f} s: title {doc.document.title!r}, authors "
                       f"{', '.join(doc.document.authors) or 'none'}, year {doc.document.year}, {r.pages} pages, "
                       f"{r.words} words, OCR pages {list(r.ocr_pages) or 'none'}"
                       + (f", warnings: {'; '.join(r.warnings)}" if r.warnings else ""))
        lines.append(f"| {name} (expect {expect}) | {outcome.replace('|', '/')[:300]} |")
    text = "\n".join(lines)
    print(text)
    if not args.no_write:
        write_section("ingest-pdf", text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
