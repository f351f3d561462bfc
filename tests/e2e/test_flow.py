"""The whole PeerDraft flow in a real headless Chromium against the real app (`peerdraft run`).

Local mode runs steps 1-6 in order on one app and one browser; team mode (step 7) runs on a
second app. A failed step skips the later steps of its flow (see conftest), so the first
failure is the one to read. Screenshots land in tests/artifacts/e2e/<test>/.
"""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e

UNIQUE_WORD = "quokkaformer"  # appears only in the uploaded files, so a search for it finds them


def make_pdf(path: Path, title: str, lines: list[str]) -> Path:
    """A small, valid one-page PDF whose text pypdf can extract (built from raw PDF objects)."""
    def escape(text: str) -> str:
        return text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")

    ops = ["BT", "/F1 16 Tf", "72 740 Td", f"({escape(title)}) Tj", "/F1 11 Tf", "0 -28 Td"]
    for line in lines:
        ops += [f"({escape(line)}) Tj", "0 -16 Td"]
    ops.append("ET")
    stream = "\n".join(ops).encode("latin-1")
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
        b"<< /Title (%s) >>" % escape(title).encode("latin-1"),
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R /Info 6 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    path.write_bytes(bytes(out))
    return path


PDF_LINES = [
    f"The {UNIQUE_WORD} is a small decoder that drafts tokens for a larger verifier model.",
    "Speculative decoding accepts the drafted tokens the verifier agrees with, in one pass.",
    f"In our measurements the {UNIQUE_WORD} doubled decoding throughput on one GPU.",
    "The acceptance rate depends on how closely the draft model matches the verifier.",
    "Longer drafts pay off only when the acceptance rate stays above one half.",
]

MARKDOWN_NOTE = f"""---
title: "Draft Models for Fast Inference"
authors: ["Ada Example", "Bob Example"]
year: 2024
---
# Draft Models for Fast Inference

## Method

A {UNIQUE_WORD} draft model proposes several tokens and the target model checks them in parallel.
Accepted tokens are kept; the first rejected token is resampled from the target distribution,
so the output distribution is unchanged. The draft model shares the tokenizer of the target.

## Results

Throughput rose by a factor of two to three on summarisation and translation tasks while
the quality of the output stayed the same as plain decoding.
"""


@pytest.fixture(scope="module")
def upload_files(e2e_workdir) -> list[Path]:
    folder = e2e_workdir / "uploads"
    folder.mkdir(exist_ok=True)
    pdf = make_pdf(folder / "speculative-decoding.pdf", "Speculative Decoding with Tiny Drafters", PDF_LINES)
    note = folder / "draft-models.md"
    note.write_text(MARKDOWN_NOTE, encoding="utf-8")
    return [pdf, note]


def documents_count(page_text: str) -> int:
    """N from the Corpus page's "Documents (N)" heading."""
    match = re.search(r"Documents \((\d+)\)", page_text)
    assert match, f"no 'Documents (N)' heading on the page:\n{page_text[:800]}"
    return int(match.group(1))


# ---- local mode: steps 1-6 ------------------------------------------------------------------------
@pytest.mark.flow("local")
def test_step1_first_start_indexes_the_default_corpus_with_visible_progress(browser, shot):
    browser.driver.get(browser.base_url + "/corpus")  # no idle wait: the progress shows while it runs
    browser.wait_for("[data-testid=stMain]", "Indexing the bundled", timeout=120, idle=False)
    browser.wait_for("[data-testid=stProgress]", timeout=60, idle=False)
    shot("indexing-progress")
    browser.wait_text("Reference corpus indexed", timeout=300)
    text = browser.page_text()
    assert "Documents (" in text and "Documents (0)" not in text, text[:500]
    assert "QLoRA: Efficient Finetuning of Quantized LLMs" in browser.table_text()
    shot("corpus-indexed")


@pytest.mark.flow("local")
def test_step2_uploaded_pdf_and_markdown_are_listed_and_searchable(browser, shot, upload_files):
    browser.expand("Add papers")
    uploader = browser.wait_for("[data-testid=stFileUploaderDropzoneInput], input[type=file]", timeout=30,
                                visible=False)  # Streamlit hides the file input behind its drop zone
    uploader.send_keys("\n".join(str(p) for p in upload_files))
    for path in upload_files:  # the chip shows a shortened name; its title attribute has the full one
        browser.wait_for(f"[data-testid=stFileChipName][title='{path.name}']", timeout=30, idle=False)
    shot("files-chosen")
    before = documents_count(browser.page_text())
    browser.click("Add to corpus")
    browser.wait_text(f"Documents ({before + 2})", timeout=180)
    browser.expand("Add papers")  # the per-file report sits in the (now collapsed) expander
    text = browser.page_text()
    for path in upload_files:
        assert path.name in text, f"{path.name} missing from the upload report:\n{text[:1500]}"
    table = browser.table_text()
    for title in ("Speculative Decoding with Tiny Drafters", "Draft Models for Fast Inference"):
        assert title in table, f"{title!r} not in the documents table:\n{table}"
    shot("files-indexed")
    browser.fill("stTextInput", "Query", UNIQUE_WORD)
    mark = browser.wait_for("mark", UNIQUE_WORD, timeout=60)
    assert mark.text.lower() == UNIQUE_WORD
    main = browser.page_text()
    assert "Speculative Decoding with Tiny Drafters" in main or "Draft Models for Fast Inference" in main
    shot("search-highlight")
