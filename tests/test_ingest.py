"""Ingest stage: formats, cleaning, metadata, chunk provenance and per-file errors."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from engine.chunking import OVERLAP_WORDS, TARGET_WORDS, clean_text
from engine.errors import IngestError
from engine.ingest import ingest_bytes, ingest_file, ingest_paths, ingest_uploads, update_metadata

FIXTURES = Path(__file__).parent / "fixtures"

GOOD_MD = """---
title: Rotary Position Embeddings
authors: [Jianlin Su, Yu Lu]
year: 2021
venue: Neurocomputing
arxiv: "2104.09864"
---
# Rotary Position Embeddings

## Problem

Absolute position embeddings do not extrapolate to longer sequences than seen in training.

## Method

Rotary embeddings rotate query and key vectors by an angle proportional to position.
"""


def long_markdown(sections: int = 3, sentences: int = 40) -> str:
    parts = ["# A Long Note"]
    for s in range(sections):
        parts.append(f"## Section {s}")
        for p in range(4):
            parts.append(" ".join(f"Sentence {s}-{p}-{i} talks about topic number {i} in some detail here."
                                  for i in range(sentences // 4)))
    return "\n\n".join(parts)


def test_pdf_body_drops_running_header_and_page_numbers(settings):
    doc = ingest_file(FIXTURES / "paper.pdf", settings)
    assert "Proceedings of the Workshop" not in doc.body
    assert "\n\n1\n\n" not in doc.body and not doc.body.rstrip().endswith(" 3")
    assert doc.document.n_pages == 3
    assert [page for page, _, _ in doc.pages] == [1, 2, 3]


def test_hyphenated_word_split_across_lines_is_rejoined(settings):
    doc = ingest_file(FIXTURES / "paper.pdf", settings)
    assert "number of experts" in doc.body
    assert "ex- perts" not in doc.body and "ex-perts" not in doc.body


def test_references_section_is_kept_apart_from_body_and_chunks(settings):
    doc = ingest_file(FIXTURES / "paper.pdf", settings)
    assert "Outrageously large neural networks" in doc.references
    assert "Outrageously" not in doc.body
    assert all("Switch transformers" not in c.text for c in doc.chunks)


def test_pdf_metadata_and_first_page_give_title_authors_year_and_arxiv_id(settings):
    doc = ingest_file(FIXTURES / "paper.pdf", settings).document
    assert doc.title == "Sparse Gating for Tiny Experts"
    assert doc.authors == ("Ada Lovelace", "Alan Turing")
    assert doc.arxiv_id == "2103.01234"
    assert doc.year == 2021
    assert doc.kind == "pdf"


def test_pdf_chunks_carry_page_and_section(settings):
    doc = ingest_file(FIXTURES / "paper.pdf", settings)
    method = next(c for c in doc.chunks if "temperature anneals" in c.text)
    assert method.page == 2 and method.section == "2 Method"


def test_markdown_front_matter_sets_metadata(settings):
    doc = ingest_bytes("rope.md", GOOD_MD.encode(), settings).document
    assert doc.title == "Rotary Position Embeddings"
    assert doc.authors == ("Jianlin Su", "Yu Lu")
    assert (doc.year, doc.venue, doc.arxiv_id) == (2021, "Neurocomputing", "2104.09864")


def test_markdown_without_front_matter_takes_title_from_first_heading(settings):
    doc = ingest_bytes("note.md", b"# Scaling Laws\n\nLoss falls as a power law in compute.\n", settings).document
    assert doc.title == "Scaling Laws" and doc.authors == ()


def test_html_keeps_visible_text_and_drops_script_style_nav_header_footer(settings):
    doc = ingest_file(FIXTURES / "article.html", settings)
    assert "Byte-pair encoding merges" in doc.body
    for hidden in ("SECRET_SCRIPT_TEXT", "color: red", "NAVIGATION_LINKS", "SITE_HEADER", "FOOTER_TEXT"):
        assert hidden not in doc.body
    assert doc.document.title == "Tokenizers Explained"
    assert doc.document.authors == ("Grace Hopper",) and doc.document.year == 2019
    assert any(c.section == "Unigram models" for c in doc.chunks)


def test_chunk_offsets_slice_the_cleaned_body_exactly(settings):
    doc = ingest_bytes("long.md", long_markdown().encode(), settings)
    assert len(doc.chunks) > 3
    for chunk in doc.chunks:
        assert doc.body[chunk.start:chunk.end] == chunk.text
        assert chunk.doc_id == doc.document.doc_id


def test_chunks_stay_within_word_budget_and_overlap_their_neighbours(settings):
    doc = ingest_bytes("long.md", long_markdown(sections=1, sentences=80).encode(), settings)
    sizes = [len(c.text.split()) for c in doc.chunks]
    assert max(sizes) <= TARGET_WORDS
    for before, after in zip(doc.chunks, doc.chunks[1:]):
        assert after.start < before.end  # overlap inside one section
        assert len(doc.body[after.start:before.end].split()) <= OVERLAP_WORDS


def test_chunks_do_not_cross_section_headings(settings):
    doc = ingest_bytes("long.md", long_markdown().encode(), settings)
    assert {c.section for c in doc.chunks} == {"Section 0", "Section 1", "Section 2"}
    for chunk in doc.chunks:
        assert "Section" not in chunk.text  # a heading never sits inside a chunk
        assert chunk.text.startswith(f"Sentence {chunk.section[-1]}-")


def test_a_single_huge_sentence_is_split_by_words(settings):
    text = ("word " * (TARGET_WORDS * 3)).strip()
    doc = ingest_bytes("blob.txt", text.encode(), settings)
    assert len(doc.chunks) >= 3
    assert all(len(c.text.split()) <= TARGET_WORDS for c in doc.chunks)


def test_control_characters_ligatures_and_soft_hyphens_are_normalised():
    assert clean_text("e\ufb03cient\u00ad co\x07de\u00a0 here  10\u00b9\u2078") == "efficient code here 10\u00b9\u2078"


def test_non_utf8_text_gives_a_clear_error(settings):
    with pytest.raises(IngestError, match="not UTF-8"):
        ingest_file(FIXTURES / "latin1.txt", settings)


def _bad_case(case: str, folder: Path, settings):
    """Write one bad input into folder; return (settings to use, expected words in the error)."""
    if case == "corrupt pdf":
        shutil.copy(FIXTURES / "corrupt.pdf", folder / "corrupt.pdf")
        return settings, "corrupt PDF"
    if case == "encrypted pdf":
        shutil.copy(FIXTURES / "encrypted.pdf", folder / "locked.pdf")
        return settings, "encrypted"
    if case == "not a pdf at all":
        (folder / "fake.pdf").write_text("hello, I am text")
        return settings, "not a valid PDF"
    if case == "zero bytes":
        (folder / "empty.md").write_bytes(b"")
        return settings, "empty (0 bytes)"
    if case == "only whitespace":
        (folder / "blank.txt").write_text("   \n\n\t\n")
        return settings, "no extractable text"
    if case == "non-utf8 text":
        shutil.copy(FIXTURES / "latin1.txt", folder / "latin1.txt")
        return settings, "not UTF-8"
    if case == "over size limit":
        (folder / "big.txt").write_text("word " * 300_000)  # 1.5 MB
        return settings.with_values(max_upload_mb=1), "over the 1 MB limit"
    if case == "unsupported type":
        (folder / "slides.docx").write_bytes(b"PK\x03\x04 not really")
        return settings, "unsupported file type '.docx'"
    raise AssertionError(case)


BAD_CASES = ["corrupt pdf", "encrypted pdf", "not a pdf at all", "zero bytes", "only whitespace", "non-utf8 text",
             "over size limit", "unsupported type"]


@pytest.mark.parametrize("case", BAD_CASES)
def test_each_bad_file_gets_its_own_error_and_the_good_file_still_ingests(case, settings, tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "good.md").write_text(GOOD_MD)
    use_settings, expected = _bad_case(case, folder, settings)
    bad = [p for p in folder.iterdir() if p.name != "good.md"]
    report = ingest_paths([folder / "good.md", *bad], use_settings)
    statuses = {o.name: o for o in report.outcomes}
    assert statuses["good.md"].status == "ok"
    error = statuses[bad[0].name]
    assert error.status == "error" and expected in error.reason
    assert error.line().startswith("error")


@pytest.mark.parametrize("name", ["../escape.md", "sub/dir.md", "..", "..\\win.md", "/etc/passwd.md"])
def test_upload_names_with_path_separators_or_dotdot_are_rejected(name, settings):
    report = ingest_uploads([(name, GOOD_MD.encode()), ("fine.md", GOOD_MD.replace("Rotary", "Spinning").encode())],
                            settings)
    assert report.outcomes[0].status == "error" and "not allowed" in report.outcomes[0].reason
    assert report.outcomes[1].status == "ok"


def test_duplicate_content_is_skipped_within_a_batch_and_against_known_hashes(settings, tmp_path):
    (tmp_path / "a.md").write_text(GOOD_MD)
    (tmp_path / "b.md").write_text(GOOD_MD.replace("\n\n", "\n\n\n"))  # same text, other whitespace
    report = ingest_paths([tmp_path / "a.md", tmp_path / "b.md"], settings)
    assert [o.status for o in report.outcomes] == ["ok", "duplicate"]
    again = ingest_paths([tmp_path / "a.md"], settings,
                         known_hashes={report.documents[0].document.content_hash: "Rotary"})
    assert again.outcomes[0].status == "duplicate" and "1 duplicate skipped" in again.summary()


def test_folders_are_expanded_to_their_supported_files_and_list_the_others_as_skipped(settings, tmp_path):
    (tmp_path / "x.md").write_text(GOOD_MD)
    (tmp_path / "notes.bin").write_bytes(b"\x00\x01")
    (tmp_path / "program.exe").write_bytes(b"MZ\x90\x00")
    (tmp_path / ".hidden").mkdir()
    (tmp_path / ".hidden" / "y.md").write_text("# Hidden\n\ntext")
    report = ingest_paths([tmp_path], settings)
    assert [(o.name, o.status) for o in report.outcomes] == [
        ("notes.bin", "unsupported"), ("program.exe", "unsupported"), ("x.md", "ok")]
    skipped = next(o for o in report.outcomes if o.name == "program.exe")
    assert skipped.line().startswith("skipped  program.exe: unsupported file type '.exe'")
    assert "2 of an unsupported type skipped" in report.summary()


def _nested_front_matter(levels: int) -> str:
    return "---\ntitle: Deep\nx: " + "[" * levels + "]" * levels + "\n---\n# Deep\n\nSome body text here.\n"


ALIAS_BOMB = ("---\na: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n"
              + "".join(f"{chr(98 + i)}: &{chr(98 + i)} [*{chr(97 + i)},*{chr(97 + i)},*{chr(97 + i)},*{chr(97 + i)},"
                        f"*{chr(97 + i)},*{chr(97 + i)},*{chr(97 + i)},*{chr(97 + i)},*{chr(97 + i)}]\n"
                        for i in range(8))
              + "title: *i\n---\n# Bomb\n\nBody text of the bomb.\n")


def test_deeply_nested_front_matter_is_one_file_error_and_the_batch_goes_on(settings, tmp_path):
    (tmp_path / "a-good.md").write_text(GOOD_MD)
    (tmp_path / "b-deep.md").write_text(_nested_front_matter(5000))
    (tmp_path / "c-good.md").write_text(GOOD_MD.replace("Rotary", "Relative"))
    report = ingest_paths([tmp_path], settings)
    status = {o.name: o.status for o in report.outcomes}
    assert status == {"a-good.md": "ok", "b-deep.md": "error", "c-good.md": "ok"}
    deep = next(o for o in report.outcomes if o.name == "b-deep.md")
    assert "nests more than" in deep.reason and "front matter" in deep.reason
    uploads = ingest_uploads([("deep.md", _nested_front_matter(5000).encode()), ("good.md", GOOD_MD.encode())],
                             settings)
    assert [o.status for o in uploads.outcomes] == ["error", "ok"]


def test_yaml_alias_bomb_is_refused_before_it_expands(settings):
    assert len(ALIAS_BOMB) < 600
    with pytest.raises(IngestError, match="aliases"):
        ingest_bytes("bomb.md", ALIAS_BOMB.encode(), settings)


def test_an_unforeseen_reader_failure_costs_only_that_file(settings, tmp_path, monkeypatch):
    import engine.ingest as ingest_module

    real = ingest_module._text_blocks

    def explode_on_one(text, markdown):
        if "EXPLODE" in text:
            raise RecursionError("maximum recursion depth exceeded")
        return real(text, markdown)

    monkeypatch.setattr(ingest_module, "_text_blocks", explode_on_one)
    (tmp_path / "bad.md").write_text("# Bad\n\nEXPLODE here.")
    (tmp_path / "good.md").write_text(GOOD_MD)
    report = ingest_paths([tmp_path], settings)
    bad = next(o for o in report.outcomes if o.name == "bad.md")
    assert bad.status == "error" and "RecursionError" in bad.reason and "other files were still added" in bad.reason
    assert [d.document.source_name for d in report.documents] == ["good.md"]


def test_metadata_fields_are_capped_in_length(settings):
    text = "---\ntitle: " + "T" * 5000 + "\nvenue: " + "V" * 5000 + "\nauthors: [" + ", ".join(
        f"Author {i}" for i in range(500)) + "]\n---\n# Heading\n\nBody text.\n"
    doc = ingest_bytes("long.md", text.encode(), settings).document
    assert len(doc.title) <= 500 and doc.title.endswith("…") and len(doc.venue) <= 300
    assert len(doc.authors) == 100
    with pytest.raises(IngestError, match="over the 500 allowed"):
        update_metadata(doc, title="x" * 501)


def test_metadata_edits_are_validated(settings):
    doc = ingest_bytes("rope.md", GOOD_MD.encode(), settings).document
    edited = update_metadata(doc, title=" RoPE ", authors="Su, Lu and Pan", year="2023")
    assert (edited.title, edited.authors, edited.year) == ("RoPE", ("Su", "Lu", "Pan"), 2023)
    with pytest.raises(IngestError, match="not a number"):
        update_metadata(doc, year="soon")
    with pytest.raises(IngestError, match="title cannot be empty"):
        update_metadata(doc, title="  ")
    with pytest.raises(IngestError, match="Cannot edit doc_id"):
        update_metadata(doc, doc_id="x")
