"""PDF ingest on laid-out papers the tests build: header metadata, two columns, headings, tables, footnotes,
references parsed and kept apart, scanned pages and the parse report."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from engine.bibliography import parse_reference, reference_for
from engine.errors import IngestError
from engine.ingest import ingest_bytes
from engine import ingest_pdf
from pdf_layout import Text, build_pdf, column, concatenate, scanned_page_pdf, tex_glyphs, text_width

INTRO = ("Retrieval lets a small language model look facts up instead of storing them in its weights. "
         "We study how the size of the retrieval database changes perplexity for models of several sizes, "
         "and we find that a database of two trillion tokens helps as much as ten times more parameters.")
METHOD = ("Each chunk of the input retrieves its nearest neighbours from a frozen database with a BERT "
          "embedding. A chunked cross-attention layer lets the decoder read the neighbours without "
          "quadratic cost in their number, which keeps training affordable on long documents.")
RESULTS = ("On the Pile the retrieval model matches a dense model with many more parameters. The gains "
           "persist after fine-tuning on question answering, although test set leakage explains part of "
           "them, as the analysis of overlapping chunks shows in detail for every subset.")
REFERENCES = [
    "[1] Sebastian Borgeaud, Arthur Mensch, and Jordan Hoffmann. Improving language models by",
    "retrieving from trillions of tokens. In ICML, 2022.",
    "[2] William Fedus, Ian Goodfellow, and Andrew M. Dai. 2018. Maskgan: Better text",
    "generation via filling in the blank. In ICLR.",
    "[3] Erik F. Tjong Kim Sang and Fien De Meulder. 2003. Introduction to the conll-2003 shared task:",
    "Language-independent named entity recognition. In CoNLL.",
]


def paper_pdf() -> bytes:
    """A two-page, two-column paper with a two-line title, an author grid, a table and a reference list."""
    header = Text(72, 40, "Preprint. Under review at the Workshop on Retrieval 2022", 8)
    page1 = [header, Text(560, 770, "1", 9),
             Text(150, 80, "Improving Language Models by Retrieving", 17, "F2"),
             Text(190, 100, "from Trillions of Tokens", 17, "F2"),
             Text(110, 140, "Sebastian Borgeaud", 10, "F2"), Text(280, 140, "Arthur Mensch", 10, "F2"),
             Text(430, 140, "Jordan Hoffmann", 10, "F2"),
             Text(110, 152, "DeepMind, London", 10), Text(280, 152, "DeepMind, London", 10),
             Text(430, 152, "University of Oxford", 10),
             Text(110, 164, "sborgeaud@deepmind.com", 9, "F3"), Text(280, 164, "mensch@deepmind.com", 9, "F3"),
             Text(430, 164, "jordan@ox.ac.uk", 9, "F3"),
             Text(280, 200, "Abstract", 12, "F2")]
    abstract, y = column(100, 220, ["We enhance language models by conditioning on document chunks "
                                    "retrieved from a large corpus, based on local similarity with "
                                    "preceding tokens."], width=90)
    left, _ = column(72, y + 10, ["# 1 Introduction", INTRO, INTRO])
    right, y_right = column(320, y + 10, ["# 2 Method", METHOD])
    table = [Text(320, y_right + 4, "Table 1: Perplexity by database size.", 9),
             Text(320, y_right + 18, "Model", 9), Text(400, y_right + 18, "Tokens", 9),
             Text(480, y_right + 18, "PPL", 9),
             Text(320, y_right + 30, "Baseline", 9), Text(400, y_right + 30, "0", 9),
             Text(480, y_right + 30, "12.4", 9),
             Text(320, y_right + 42, "Retrieval", 9), Text(400, y_right + 42, "2000", 9),
             Text(480, y_right + 42, "8.1", 9)]
    after_table, _ = column(320, y_right + 64, [METHOD])
    footnote = [Text(72, 720, "1 Code is available from the authors on request.", 8)]
    page1 += abstract + left + right + table + after_table + footnote
    page2 = [header, Text(560, 770, "2", 9)]
    body2, y2 = column(72, 80, ["# 3 Results", RESULTS, RESULTS])
    refs = [Text(320, 80, "References", 11, "F2")]
    refs += [Text(320 if line.startswith("[") else 332, 100 + 12 * i, line, 9) for i, line in enumerate(REFERENCES)]
    page2 += body2 + refs
    page3 = [header, Text(560, 770, "3", 9)] + column(72, 80, ["# 4 Conclusion", RESULTS])[0]
    return build_pdf([page1, page2, page3], title="", author="")


@pytest.fixture(scope="module")
def paper(session_settings):
    return ingest_bytes("retro.pdf", paper_pdf(), session_settings)


def test_two_line_title_and_author_grid_come_from_the_first_page_layout(paper):
    doc = paper.document
    assert doc.title == "Improving Language Models by Retrieving from Trillions of Tokens"
    assert doc.authors == ("Sebastian Borgeaud", "Arthur Mensch", "Jordan Hoffmann")


def test_author_block_is_metadata_never_body_text(paper):
    assert "deepmind.com" not in paper.body and "University of Oxford" not in paper.body
    assert paper.chunks[0].section == "Abstract"
    assert all("Borgeaud" not in c.text for c in paper.chunks)


def test_two_columns_are_read_left_column_first(paper):
    body = paper.body
    assert body.index("1 Introduction") < body.index("Retrieval lets a small") < body.index("2 Method")
    assert "helps as much as ten times more parameters. Each chunk" not in body


def test_sections_come_from_headings_and_never_from_reference_entries(paper):
    sections = {c.section for c in paper.chunks}
    assert {"Abstract", "1 Introduction", "2 Method", "3 Results", "4 Conclusion"} <= sections
    assert not any("Maskgan" in s or "conll" in s.lower() for s in sections)


def test_running_header_and_page_numbers_are_removed(paper):
    assert "Preprint. Under review" not in paper.body
    assert "\n\n2\n\n" not in paper.body


def test_table_is_its_own_labelled_chunk_and_never_prose(paper):
    tables = [c for c in paper.chunks if c.kind == "table"]
    assert len(tables) == 1 and tables[0].label == "Table 1"
    assert "12.4" in tables[0].text and "8.1" in tables[0].text
    prose = [c for c in paper.chunks if c.kind == "text"]
    assert not any("12.4" in c.text for c in prose)
    caption = next(c for c in paper.chunks if c.kind == "caption")
    assert caption.label == "Table 1" and caption.text.startswith("Table 1: Perplexity")


def test_footnote_is_kept_apart_from_prose(paper):
    footnotes = [c for c in paper.chunks if c.kind == "footnote"]
    assert footnotes and "Code is available" in footnotes[0].text
    assert not any("Code is available" in c.text for c in paper.chunks if c.kind == "text")


def test_reference_list_is_parsed_into_entries_and_kept_out_of_chunks(paper):
    entries = paper.bibliography
    assert [e.number for e in entries] == [1, 2, 3]
    first = entries[0]
    assert first.authors == ("Sebastian Borgeaud", "Arthur Mensch", "Jordan Hoffmann")
    assert first.title == "Improving language models by retrieving from trillions of tokens"
    assert first.year == 2022 and first.venue == "ICML, 2022"
    assert entries[1].title == "Maskgan: Better text generation via filling in the blank" and entries[1].year == 2018
    assert all("Maskgan" not in c.text for c in paper.chunks)
    assert reference_for("[2]", entries) is entries[1]


def test_parse_report_counts_what_was_found(paper):
    report = paper.report
    assert report.pages == 3 and report.references == 3 and report.tables == 1
    assert report.sections >= 5 and report.footnotes == 1 and report.ocr_pages == ()
    assert report.words > 100


def test_author_year_reference_is_parsed():
    entry = parse_reference("Jacob Devlin, Ming-Wei Chang, Kenton Lee, and Kristina Toutanova. 2019. BERT: "
                            "Pre-training of deep bidirectional transformers for language understanding. In "
                            "NAACL-HLT.", 7)
    assert entry.number == 7 and entry.year == 2019
    assert entry.authors == ("Jacob Devlin", "Ming-Wei Chang", "Kenton Lee", "Kristina Toutanova")
    assert entry.title.startswith("BERT: Pre-training") and entry.venue == "NAACL-HLT"


def test_scanned_page_without_ocr_says_how_to_install_it(monkeypatch, settings):
    monkeypatch.setattr(ingest_pdf, "_ocr_page", lambda data, index: None)
    with pytest.raises(IngestError) as caught:
        ingest_bytes("scan.pdf", scanned_page_pdf(["Scanned text"]), settings)
    assert "look scanned" in str(caught.value) and "apt-get install tesseract-ocr" in str(caught.value)


def test_one_scanned_page_is_a_warning_not_a_lost_paper(monkeypatch, settings):
    monkeypatch.setattr(ingest_pdf, "_ocr_page", lambda data, index: None)
    doc = ingest_bytes("mixed.pdf", concatenate(paper_pdf(), scanned_page_pdf(["Scanned text"])), settings)
    assert doc.report.pages == 4
    assert any("pages 4 look scanned" in w and "tesseract-ocr" in w for w in doc.report.warnings)
    assert "Retrieval lets a small" in doc.body


@pytest.mark.skipif(shutil.which("tesseract") is None, reason="Tesseract OCR is not installed")
def test_scanned_page_is_read_by_ocr(settings):
    pytest.importorskip("pytesseract")
    lines = ["Gradient Checkpointing at Scale", "Activation memory falls when layers are recomputed",
             "during the backward pass instead of being stored."]
    doc = ingest_bytes("scan.pdf", scanned_page_pdf(lines), settings)
    assert doc.report.ocr_pages == (1,)
    assert "recomputed" in doc.body and "backward pass" in doc.body


def test_index_keeps_the_parse_report_and_reference_entries(settings, tmp_path):
    from engine.index import index_paths, open_index
    from test_index import HashEmbedder

    (tmp_path / "retro.pdf").write_bytes(paper_pdf())
    index_paths(open_index(settings, HashEmbedder()), [tmp_path / "retro.pdf"], settings)
    stored = next(iter(open_index(settings, HashEmbedder()).documents.values()))
    assert stored.report.references == 3 and "2 Method" in stored.report.headings
    assert stored.bibliography[1].title == "Maskgan: Better text generation via filling in the blank"
    assert reference_for("[1]", stored.bibliography).year == 2022


def test_metadata_correction_survives_reindexing_the_file(settings, tmp_path):
    from engine.index import index_paths, open_index
    from test_index import HashEmbedder

    path = tmp_path / "retro.pdf"
    path.write_bytes(paper_pdf())
    index = open_index(settings, HashEmbedder())
    index_paths(index, [path], settings)
    doc = index.list_documents()[0]
    index.update_metadata(doc.doc_id, title="RETRO", authors="Sebastian Borgeaud, Arthur Mensch", year=2021)
    index.remove_document(doc.doc_id)
    index_paths(open_index(settings, HashEmbedder()), [path], settings)  # e.g. after a reader upgrade
    again = open_index(settings, HashEmbedder()).list_documents()[0]
    assert (again.title, again.authors, again.year) == ("RETRO", ("Sebastian Borgeaud", "Arthur Mensch"), 2021)


@pytest.mark.model
def test_cli_index_json_reports_each_file_with_its_parse_report(tmp_path, monkeypatch, capsys):
    import json

    from engine.cli import main

    monkeypatch.setenv("PEERDRAFT_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("PEERDRAFT_CONFIG", str(tmp_path / "none.toml"))
    papers = tmp_path / "papers"
    papers.mkdir()
    (papers / "retro.pdf").write_bytes(paper_pdf())
    (papers / "broken.pdf").write_bytes(b"%PDF-1.4 nothing else")
    assert main(["index", "--json", str(papers)]) == 0
    out = json.loads(capsys.readouterr().out)
    files = {f["name"]: f for f in out["files"]}
    retro = files["retro.pdf"]
    assert retro["status"] == "ok" and retro["authors"][0] == "Sebastian Borgeaud"
    assert retro["report"]["references"] == 3 and retro["report"]["tables"] == 1 and retro["report"]["pages"] == 3
    assert files["broken.pdf"]["status"] == "error" and "corrupt" in files["broken.pdf"]["reason"]


@pytest.mark.model
def test_corpus_page_shows_the_parse_report_of_a_pdf(page_data_dir, tmp_path):
    from streamlit.testing.v1 import AppTest

    from engine.cli import main

    (tmp_path / "retro.pdf").write_bytes(paper_pdf())
    assert main(["index", str(tmp_path / "retro.pdf")]) == 0
    at = AppTest.from_file(str(Path(__file__).resolve().parents[1] / "pages" / "corpus.py"), default_timeout=120)
    at.run()
    assert not at.exception
    assert "Improving Language Models" in at.selectbox(key="corpus_doc").options[0]
    captions = " ".join(c.value for c in at.caption)
    assert "3 pages" in captions and "1 tables" in captions and "3 references" in captions
    assert any("Structure: " in e.label and "3 references" in e.label for e in at.expander)


def test_numbered_citations_in_a_passage_trace_to_the_papers_reference_entries(paper):
    from engine.bibliography import cited_entries

    entries = paper.bibliography
    assert [e.number for e in cited_entries("as shown in [3] and [1, 2]", entries)] == [3, 1, 2]
    assert [e.number for e in cited_entries("prior work [1-3]", entries)] == [1, 2, 3]
    assert cited_entries("no citation here [99]", entries) == []


def test_reference_entries_export_as_bibtex_with_authors(paper):
    from engine.bibliography import bibliography_bibtex

    bibtex = bibliography_bibtex(paper.bibliography, "retro")
    assert bibtex.count("@") == 3
    assert "author = {Sebastian Borgeaud and Arthur Mensch and Jordan Hoffmann}" in bibtex
    assert "year = {2018}" in bibtex and "Maskgan" in bibtex


def test_rotated_pages_are_read_without_layout_and_say_so(settings):
    import io

    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter()
    for page in PdfReader(io.BytesIO(paper_pdf())).pages:
        writer.add_page(page)
        writer.pages[-1].rotate(90)
    buffer = io.BytesIO()
    writer.write(buffer)
    doc = ingest_bytes("rotated.pdf", buffer.getvalue(), settings)
    assert "Retrieval lets a small language model" in doc.body
    assert any("read without layout" in w for w in doc.report.warnings)


def test_table_chunk_passage_carries_its_kind_and_label(settings, tmp_path):
    from engine.index import index_paths, open_index
    from engine.retrieve import retrieve_passages
    from test_index import HashEmbedder

    (tmp_path / "retro.pdf").write_bytes(paper_pdf())
    index = open_index(settings, HashEmbedder())
    index_paths(index, [tmp_path / "retro.pdf"], settings)
    passages = retrieve_passages(index, "Baseline Retrieval perplexity tokens 12.4 8.1", k=20)
    table = next(p for p in passages if p.kind == "table")
    assert table.label == "Table 1" and "12.4" in table.text


def test_line_break_hyphens_join_split_words_but_keep_compounds():
    from engine.chunking import clean_text

    text = clean_text("the ex-\nperts use task-\nspecific, left-to-\nright self-\nattention over repre-\nsentations")
    assert text == "the experts use task-specific, left-to-right self-attention over representations"


def test_heading_set_on_two_lines_is_one_section(settings):
    body = column(72, 130, [INTRO, METHOD, RESULTS], width=90)[0]
    pages = [[Text(72, 60, "A Short Note on Memory", 16, "F2"), Text(72, 80, "Ada Lovelace", 10),
              Text(72, 100, "3 INITIALIZATION BIAS", 11, "F2"), Text(72, 112, "CORRECTION FOR MOMENTS", 11, "F2"),
              *body],
             column(72, 80, ["# 4 Results", RESULTS, RESULTS])[0]]
    doc = ingest_bytes("note.pdf", build_pdf(pages), settings)
    assert "3 INITIALIZATION BIAS CORRECTION FOR MOMENTS" in doc.report.headings
    assert doc.chunks[0].section == "3 INITIALIZATION BIAS CORRECTION FOR MOMENTS"


def test_doi_printed_on_the_first_page_becomes_the_documents_doi(settings):
    body = column(72, 150, ["# 1 Introduction", INTRO, METHOD], width=90)[0]
    page = [Text(72, 60, "A Short Note on Memory", 16, "F2"), Text(72, 82, "Ada Lovelace", 10, "F2"),
            Text(72, 96, "DOI: 10.1145/3442188.3445922", 9), Text(72, 120, "Abstract", 11, "F2"), *body]
    doc = ingest_bytes("note.pdf", build_pdf([page]), settings).document
    assert doc.doi == "10.1145/3442188.3445922" and doc.authors == ("Ada Lovelace",)


@pytest.mark.parametrize("fonttype", [3, 42])
def test_arabic_text_in_embedded_fonts_is_read_in_reading_order(settings, fonttype):
    import io

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    arabic = "مرحبا بالعالم هذا نص عربي 2024 للاختبار"
    lines = ["Retrieval over Arabic News", "Abstract", "We study retrieval over Arabic news text such as", arabic,
             "and report recall for every query type in our benchmark of two thousand queries."]
    with matplotlib.rc_context({"pdf.fonttype": fonttype}):  # Type 3 and TrueType fonts with their own encodings
        figure = plt.figure(figsize=(8.5, 11))
        for i, text in enumerate(lines):
            figure.text(0.1, 0.9 - i * 0.04, text, fontsize=18 if i == 0 else 11)
        buffer = io.BytesIO()
        figure.savefig(buffer, format="pdf")
        plt.close(figure)
    doc = ingest_bytes("arabic.pdf", buffer.getvalue(), settings)
    assert doc.document.title == "Retrieval over Arabic News"
    assert arabic in doc.body


def _math_note() -> bytes:
    """A one-column note whose prose and display equation use TeX's math fonts without a Unicode map."""
    y = 150
    prose = [Text(72, y, "From the hidden layer we use the matrix W", 10),
             Text(262, y, tex_glyphs(48), 10, "F5"),  # prime, set after the W
             Text(272, y, "which is not the transpose of the input weights.", 10)]
    equation = [Text(200, y + 20, tex_glyphs(80), 10, "F6"), Text(212, y + 20, "j", 10),  # sum over j
                Text(220, y + 20, tex_glyphs(20), 10, "F5"), Text(232, y + 20, "V", 10)]  # <= V
    after = column(72, y + 44, [INTRO, METHOD], width=90)[0]
    page = [Text(72, 60, "A Short Note on Memory", 16, "F2"), Text(72, 82, "Ada Lovelace", 10, "F2"),
            Text(72, 120, "# 1 Introduction".lstrip("# "), 11, "F2"), *prose, *equation, *after]
    return build_pdf([page])


def test_tex_math_glyphs_come_out_as_symbols_never_as_glyph_ids(settings):
    doc = ingest_bytes("note.pdf", _math_note(), settings)
    assert "(cid:" not in doc.body and all("(cid:" not in chunk.text for chunk in doc.chunks)
    assert "the matrix W ′ which is not the transpose" in doc.body.replace("W′", "W ′")


def test_display_equation_is_its_own_equation_chunk_not_prose(settings):
    doc = ingest_bytes("note.pdf", _math_note(), settings)
    equations = [chunk for chunk in doc.chunks if chunk.kind == "equation"]
    assert len(equations) == 1 and "∑" in equations[0].text and "≤" in equations[0].text
    assert not any("∑" in chunk.text for chunk in doc.chunks if chunk.kind == "text")
    assert doc.report.equations == 1


def test_spacing_accent_set_over_a_letter_joins_it(settings):
    body = column(72, 150, ["# 1 Introduction", INTRO, METHOD], width=90)[0]
    # LaTeX's Gr\'egory: the acute accent is a glyph of its own, placed over the e
    page = [Text(72, 60, "A Short Note on Memory", 16, "F2"), Text(72, 82, "Gre", 10, "F2"),
            Text(88.6, 82, "gory Nuel", 10, "F2"), Text(84.8, 82, "\xb4", 10, "F2"), *body]
    doc = ingest_bytes("note.pdf", build_pdf([page]), settings)
    assert doc.document.authors == ("Grégory Nuel",)


def test_outdented_reference_label_next_to_the_left_column_stays_in_the_right_column(settings):
    # ACL's bracketed author-year labels hang out of the right column towards the gutter; a left-column line
    # justified to x=290 comes within 8 points of one: the two must not be read as one full-width line
    prose = ("Our model is trained on the full corpus with the same settings as the baseline and evaluated on "
             "every held out split so that the gains can be compared directly across all of the tasks we study")
    left = [Text(290 - text_width(line, 10), 100 + 12 * i, line, 10)  # set flush with the column's right edge
            for i, line in enumerate(wrap_words(prose, 44) * 2)]
    entries = [("[Lee et al.2016]", "Kenton Lee, Luheng He, and Mike Lewis. 2016. End-to-end"),
               ("", "neural coreference resolution. In Proceedings of EMNLP."),
               ("[Zhou et al.2015]", "Jie Zhou, Ying Cao, and Wei Xu. 2015. Deep recurrent"),
               ("", "models with fast-forward connections. In Proceedings of ACL."),
               ("[Wang et al.2018]", "Qiang Wang, Fuxue Li, and Tong Xiao. 2018. Multi-layer"),
               ("", "representation fusion for neural translation. In COLING.")]
    right = [Text(310, 80, "References", 11, "F2")]
    for i, (label, text) in enumerate(entries):
        right.append(Text(298 if label else 310, 100 + 12 * i, f"{label} {text}".strip(), 9))
    page = [Text(72, 60, "A Short Note on Memory", 16, "F2"), Text(72, 76, "Ada Lovelace", 10, "F2"),
            Text(72, 88, "1 Introduction", 11, "F2"), *left, *right]
    doc = ingest_bytes("note.pdf", build_pdf([page]), settings)
    assert "[Lee" not in doc.body and "Zhou" not in doc.body
    assert len(doc.bibliography) == 3 and doc.bibliography[0].title.startswith("End-to-end")


def wrap_words(text: str, width: int) -> list[str]:
    from pdf_layout import wrap

    return wrap(text, width)


def test_capitalised_title_ends_where_an_author_line_in_its_size_begins(settings):
    # ICASSP sets a bold capitalised title and the author list in the same 12-point size, 14 points apart
    body = column(72, 170, ["# 1 Introduction", INTRO, METHOD], width=90)[0]
    page = [Text(108, 95, "CNN ARCHITECTURES FOR LARGE-SCALE AUDIO CLASSIFICATION", 12, "F2"),
            Text(60, 109, "Shawn Hershey, Sourish Chaudhuri, Daniel P. W. Ellis, Jort F. Gemmeke,", 12),
            Text(72, 122, "Manoj Plakal, Devin Platt, Rif A. Saurous", 12),
            Text(175, 140, "Google, Inc., New York, NY, and Mountain View, CA, USA", 12),
            Text(150, 160, "ABSTRACT", 9, "F2"), *body]
    doc = ingest_bytes("cnn.pdf", build_pdf([page]), settings).document
    assert doc.title == "CNN ARCHITECTURES FOR LARGE-SCALE AUDIO CLASSIFICATION"
    assert doc.authors == ("Shawn Hershey", "Sourish Chaudhuri", "Daniel P. W. Ellis", "Jort F. Gemmeke",
                           "Manoj Plakal", "Devin Platt", "Rif A. Saurous")


def test_numbers_in_a_figure_legend_are_no_section_headings(settings):
    body = column(72, 110, ["# 1 Introduction", INTRO, "# 2 Method", METHOD], width=90)[0]
    legend = [Text(350, 300, "180 LSTM", 10, "F2"), Text(350, 312, "5.5  MOMENTUM", 6.5),  # axis and legend text
              Text(350, 324, "6  SGD", 6.5)]
    page = [Text(72, 60, "A Short Note on Memory", 16, "F2"), Text(72, 82, "Ada Lovelace", 10, "F2"), *body, *legend,
            *column(72, 350, ["# 3 Results", RESULTS, "# 4 Version Numbers in v1.1 and v2.0", RESULTS], width=90)[0]]
    doc = ingest_bytes("note.pdf", build_pdf([page]), settings)
    assert doc.report.headings == ("1 Introduction", "2 Method", "3 Results", "4 Version Numbers in v1.1 and v2.0")


def test_lines_bridged_by_subscripts_keep_their_words_whole(settings):
    # subscripts set between two lines chain them together if characters are grouped into lines by height
    # first; the two lines' letters then interleave ('w h e r e')
    body = column(72, 150, ["# 1 Introduction", INTRO, METHOD], width=90)[0]
    maths = [Text(72, 250, "where the expected value of the previous gradients is kept", 10),
             *[Text(330 + 6 * i, 250.3 + 2.5 * i, "tkjin"[i], 7) for i in range(5)],  # tops 2.5 points apart
             Text(72, 262.5, "then these running averages decide the step of every update", 10)]
    page = [Text(72, 60, "A Short Note on Memory", 16, "F2"), Text(72, 82, "Ada Lovelace", 10, "F2"), *body, *maths]
    doc = ingest_bytes("note.pdf", build_pdf([page]), settings)
    assert "where the expected value of the previous gradients" in doc.body
    assert "then these running averages decide the step" in doc.body


def _ligature_paper() -> bytes:
    """A one-column paper in a Computer Modern font whose ff ligature maps to '↵' and whose fi is one glyph."""
    body = column(72, 200, ["# 1 Introduction", INTRO, METHOD], width=90)[0]
    page = [Text(72, 60, "Learning to O\x0bset Onsets", 16, "F7"),
            Text(72, 84, "Geo\x0brey Hinton1, Veronica Mor\x0c2, Kyogu Lee, Senior Member, IEEE", 10, "F7"),
            Text(72, 98, "1University of Toronto, 2Queen Mary University of London", 9),
            Text(72, 130, "2 An o\x0bset model and the de\x0cnition of onsets", 11, "F7"), *body]
    return build_pdf([page])


def test_mis_mapped_ff_and_fi_ligatures_come_out_as_letters(settings):
    doc = ingest_bytes("ligatures.pdf", _ligature_paper(), settings)
    assert "↵" not in doc.body and "ﬁ" not in doc.body
    assert "Geoffrey Hinton" in doc.document.authors and "Veronica Morfi" in doc.document.authors
    assert doc.document.title == "Learning to Offset Onsets"
    assert "2 An offset model and the definition of onsets" in doc.report.headings


def test_an_ieee_membership_grade_is_no_author(settings):
    doc = ingest_bytes("ligatures.pdf", _ligature_paper(), settings)
    assert doc.document.authors == ("Geoffrey Hinton", "Veronica Morfi", "Kyogu Lee")


@pytest.mark.parametrize("mark", ["c ", "circle"])
def test_copyright_line_naming_the_authors_is_header_matter_not_evidence(settings, mark):
    # JMLR prints '(c) 2014 <authors>.' at the foot of page 1, its circled c read as a plain 'c' or, in other
    # years' files, as TeX's large circle (CMSY code 13) before the year and the 'c' after it: '◯2014 c ...'
    body = column(72, 130, ["# 1 Introduction", INTRO, METHOD], width=90)[0]
    foot = [Text(72, 740, "c 2014 Ada Lovelace and Charles Babbage.", 8)] if mark == "c " else \
        [Text(72, 740, tex_glyphs(13), 8, "F5"), Text(76, 740, "2014 c Ada Lovelace and Charles Babbage.", 8)]
    page = [Text(72, 60, "A Short Note on Memory", 16, "F2"), Text(72, 84, "Ada Lovelace", 10, "F2"),
            Text(72, 96, "Charles Babbage", 10, "F2"), *body, *foot]
    doc = ingest_bytes("note.pdf", build_pdf([page]), settings)
    assert doc.document.authors == ("Ada Lovelace", "Charles Babbage")
    assert not any("Lovelace" in chunk.text for chunk in doc.chunks)


def test_a_table_of_two_text_columns_under_its_caption_is_a_table_not_prose(settings):
    # GPT-1's Table 1: each row is a task and its datasets with their citations, one wide gap per row
    rows = [("Task", "Datasets"), ("Natural language inference", "SNLI [5], MultiNLI [66], RTE [4]"),
            ("Question Answering", "RACE [30], Story Cloze [40]"),
            ("Classification", "Stanford Sentiment Treebank-2 [54], CoLA [65]")]
    table = [Text(160, 200, "Table 1: A list of the different tasks and datasets used in our experiments.", 10)]
    for i, (task, datasets) in enumerate(rows):
        table += [Text(116, 220 + 11 * i, task, 9), Text(260, 220 + 11 * i, datasets, 9)]
    page = [Text(72, 60, "A Short Note on Memory", 16, "F2"), Text(72, 84, "Ada Lovelace", 10, "F2"),
            *column(72, 110, ["# 1 Introduction", INTRO], width=90)[0], *table,
            *column(72, 280, [METHOD], width=90)[0]]
    doc = ingest_bytes("note.pdf", build_pdf([page]), settings)
    tables = [chunk for chunk in doc.chunks if chunk.kind == "table"]
    assert len(tables) == 1 and tables[0].label == "Table 1" and "MultiNLI [66]" in tables[0].text
    assert not any("MultiNLI" in chunk.text for chunk in doc.chunks if chunk.kind == "text")
    assert any(METHOD[:40] in chunk.text for chunk in doc.chunks if chunk.kind == "text")


def test_heading_hyphenated_over_two_lines_is_joined_into_its_word(settings):
    body = column(72, 130, [INTRO, METHOD, RESULTS], width=90)[0]
    page = [Text(72, 60, "A Short Note on Memory", 16, "F2"), Text(72, 80, "Ada Lovelace", 10),
            Text(72, 100, "3 Convolutional partitioned autoencoder for au-", 11, "F2"),
            Text(72, 112, "dio spectrograms", 11, "F2"), *body]
    doc = ingest_bytes("note.pdf", build_pdf([page]), settings)
    assert doc.report.headings == ("3 Convolutional partitioned autoencoder for audio spectrograms",)


def test_two_columns_are_found_below_a_full_width_table_that_hides_the_gutter(settings):
    # EMNLP 1508.04025, page 9: a full-width table of sample translations fills the top half of the page, so
    # more than 30% of the page's rows cover the gutter; the two columns below must still be read apart
    table = column(72, 60, [f"src {RESULTS} ref {METHOD} best {INTRO} base {RESULTS} {METHOD}"], width=95, size=9)[0]
    left, _ = column(72, 300, ["# 1 Introduction", INTRO, "# 2 Conclusion", RESULTS], width=44)
    right, _ = column(320, 300, [METHOD, METHOD], width=44)
    doc = ingest_bytes("note.pdf", build_pdf([[Text(72, 40, "A Short Note on Memory", 16, "F2"), *table, *left,
                                                *right]]), settings)
    assert doc.report.headings == ("1 Introduction", "2 Conclusion")
    assert doc.body.index("ten times more parameters.") < doc.body.index("2 Conclusion") \
        < doc.body.index("On the Pile the retrieval model") < doc.body.index("Each chunk of the input")


def test_a_numbered_list_item_that_fills_its_line_is_prose_not_a_heading(settings):
    # IEEE 1605.09507: 'The major contributions ... are as follows.' then '1. We present the ConvNet architecture
    # for predominant' set in the body font, filling the justified column like the lines after it
    # IEEE sets its headings in small capitals of the body's size and weight, so no heading is told by its font
    body = [Text(72, 100, "I. INTRODUCTION", 10), *column(72, 114, [INTRO], width=44)[0]]
    first, second = "1. We present the ConvNet architecture for predominant", \
        "2. We introduce a new method to aggregate the outputs"
    right = 82 + text_width(first, 10)  # both items justified to the column's right edge
    items = [Text(82, 200, first, 10), Text(92, 212, "instrument detection where the training data", 10),
             Text(right - text_width(second, 10), 224, second, 10),
             Text(92, 236, "of the network over a whole excerpt of music.", 10)]
    page = [Text(72, 60, "Memory for Small Models", 16, "F2"), Text(72, 82, "Ada Lovelace", 10), *body, *items,
            Text(72, 260, "II. METHOD", 10), *column(72, 274, [METHOD], width=44)[0]]
    doc = ingest_bytes("note.pdf", build_pdf([page]), settings)
    assert doc.report.headings == ("I. INTRODUCTION", "II. METHOD")
    assert "1. We present the ConvNet architecture" in doc.body


def test_a_charts_axis_labels_are_one_figure_chunk_not_prose(settings):
    # 1612.05489: a bar chart's labels come out as a column of one-word lines ('System', 'Precision 90', '80', ...)
    labels = ["System", "Precision 90", "80", "70", "60", "50", "walking", "bg noise"]
    chart = [Text(300, 330 + 22 * i, label, 8) for i, label in enumerate(labels)]
    page = [Text(72, 60, "Memory for Small Models", 16, "F2"), Text(72, 82, "Ada Lovelace", 10),
            *column(72, 110, ["# 1 Introduction", INTRO, METHOD], width=90)[0], *chart,
            *column(72, 520, ["# 2 Results", RESULTS], width=90)[0]]
    doc = ingest_bytes("note.pdf", build_pdf([page]), settings)
    figures = [chunk for chunk in doc.chunks if chunk.kind == "figure"]
    assert len(figures) == 1 and "Precision 90" in figures[0].text and "bg noise" in figures[0].text
    assert not any("Precision" in chunk.text for chunk in doc.chunks if chunk.kind == "text")
    assert doc.report.headings == ("1 Introduction", "2 Results")


def test_a_correction_saved_on_the_corpus_page_survives_deleting_and_indexing_the_file_again(page_data_dir, tmp_path):
    from streamlit.testing.v1 import AppTest

    from engine.cli import main

    path = tmp_path / "retro.pdf"
    path.write_bytes(paper_pdf())
    assert main(["index", str(path)]) == 0
    page = str(Path(__file__).resolve().parents[1] / "pages" / "corpus.py")
    at = AppTest.from_file(page, default_timeout=120)
    at.run()
    at.text_input[0].set_value("RETRO")  # the metadata form: title, authors, year, venue, arXiv id
    at.text_input[1].set_value("Sebastian Borgeaud; Arthur Mensch")
    at.text_input[2].set_value("2021")
    next(b for b in at.button if b.label == "Save metadata").click()
    at.run()
    assert not at.exception and at.selectbox(key="corpus_doc").options[0] == "RETRO (2021)"
    next(b for b in at.button if b.label.startswith("Delete")).click()
    at.run()
    at.button(key="confirm_yes").click()
    at.run()
    assert not at.exception and not any(box.key == "corpus_doc" for box in at.selectbox)  # deleted
    assert main(["index", str(path)]) == 0  # the same file indexed again, e.g. after a reader upgrade
    again = AppTest.from_file(page, default_timeout=120)
    again.run()
    assert again.selectbox(key="corpus_doc").options == ["RETRO (2021)"]
    assert again.text_input[1].value == "Sebastian Borgeaud; Arthur Mensch"


def test_a_heading_below_a_row_of_equation_accents_stays_one_line(settings):
    # Adam 1412.6980: the hats of the equation above reach into the heading's row; '3 INITIALIZATION' (small
    # capitals, 11.6 pt) touched the row of hats first and was cut from 'BIAS CORRECTION' (9.3 pt)
    body = column(72, 140, [INTRO, METHOD], width=90)[0]
    hats = [Text(180 + 60 * i, 98.3, "^", 9.7) for i in range(4)]  # reaching 5 points into the heading's row
    heading = [Text(72, 104.3, "3 INITIALIZATION", 11.6), Text(190, 104.3, "BIAS CORRECTION", 9.3)]
    page = [Text(72, 60, "Memory for Small Models", 16, "F2"), Text(72, 76, "Ada Lovelace", 10), *hats, *heading,
            *body]
    doc = ingest_bytes("note.pdf", build_pdf([page]), settings)
    assert doc.report.headings == ("3 INITIALIZATION BIAS CORRECTION",)


def test_three_paragraphs_of_tick_numbers_are_a_figure_not_prose(settings):
    # 1509.05982: a spectrogram's tick labels come out as rows of numbers between the paragraphs
    ticks = [Text(300, 330 + 22 * i, row, 8) for i, row in enumerate(["20 15 25", "10 15 20", "10 5 15", "0 5"])]
    page = [Text(72, 60, "Memory for Small Models", 16, "F2"), Text(72, 82, "Ada Lovelace", 10),
            *column(72, 110, ["# 1 Introduction", INTRO, METHOD], width=90)[0], *ticks,
            *column(72, 420, ["# 2 Results", RESULTS], width=90)[0]]
    doc = ingest_bytes("note.pdf", build_pdf([page]), settings)
    assert any("10 15 20" in chunk.text for chunk in doc.chunks if chunk.kind == "figure")
    assert not any("10 15 20" in chunk.text for chunk in doc.chunks if chunk.kind == "text")


def _two_author_blocks_paper() -> bytes:
    """An ICASSP-style page: a venue line with its year, the title, two author blocks side by side (each with
    its institute on lines of their own), the abstract in the left column and two columns of body."""
    left, y = column(54, 245, [INTRO, METHOD, "# 1. INTRODUCTION", RESULTS, INTRO], width=46, size=9)
    right = column(315, 245, [METHOD, RESULTS, "# 2. RELATED WORK", INTRO, METHOD], width=46, size=9)[0]
    page = [Text(146, 30, "2014 IEEE International Conference on Acoustic, Speech and Signal Processing (ICASSP)", 8),
            Text(185, 95, "IMPROVED ONSET DETECTION WITH NETWORKS", 12, "F2"),
            Text(141, 137, "Ada Lovelace", 12), Text(97, 163, "Austrian Research Institute for", 12),
            Text(99, 176, "Artificial Intelligence, Vienna", 12), Text(95, 189, "ada.lovelace@ofai.at", 12),
            Text(381, 137, "Charles Babbage", 12), Text(318, 163, "Department of Computational Perception,", 12),
            Text(318, 176, "Johannes Kepler University, Linz, Austria", 12), Text(339, 189, "charles@jku.at", 12),
            Text(152, 230, "ABSTRACT", 9, "F2"), *left, *right]
    return build_pdf([page], created="D:20170306120000Z")


def test_author_blocks_side_by_side_are_both_header_and_the_venue_line_dates_the_paper(settings):
    # read column by column, the right author block would come after the left column's body; the PDF file
    # was made in 2017, the venue line prints 2014
    doc = ingest_bytes("onsets.pdf", _two_author_blocks_paper(), settings)
    assert doc.document.authors == ("Ada Lovelace", "Charles Babbage")
    assert doc.document.year == 2014
    assert not any("Kepler" in chunk.text or "Babbage" in chunk.text for chunk in doc.chunks)


def _margin_column_paper() -> bytes:
    """A PLOS ONE-style first page: the article's metadata in a narrow margin column (citation, dates,
    copyright, funding) beside the title, authors, affiliations, abstract and body set at x = 200."""
    margin = [Text(36, 340 + 11 * i, text, 8) for i, text in enumerate([
        "Citation: Lovelace A, Babbage C (2017)", "Notes on the Analytical Engine. PLoS", "ONE 12(1): e0169411.",
        "Editor: Mary Somerville, University of", "Edinburgh, UNITED KINGDOM", "Received: July 11, 2016",
        "Accepted: December 17, 2016", "Published: January 3, 2017", "Copyright: © 2017 Lovelace et al. This",
        "is an open access article distributed", "under the Creative Commons License.",
        "Funding: The author(s) received no", "specific funding for this work.",
        "Competing Interests: The authors have", "declared that no competing interests exist."])]
    body, y = column(200, 294, [INTRO, METHOD], width=72, size=9.5)
    rest = column(200, y + 10, ["# Introduction", RESULTS, INTRO, METHOD], width=72, size=9.5)[0]
    page = [Text(200, 95, "RESEARCH ARTICLE", 8), Text(200, 115, "Notes on the Analytical Engine of", 18),
            Text(200, 138, "Charles Babbage", 18), Text(200, 163, "Ada Lovelace1*, Charles Babbage1,2", 9, "F2"),
            Text(200, 183, "1 University of London, Department of Computer Science, London, United Kingdom,", 8),
            Text(200, 193, "2 University of Cambridge, Trinity College, Cambridge, United Kingdom", 8),
            Text(200, 233, "* ada@example.org", 8), Text(200, 268, "Abstract", 10, "F2"), *body, *rest, *margin]
    return build_pdf([page], created="D:20161229120000Z")


def test_a_margin_column_of_journal_metadata_is_header_and_its_published_line_dates_the_paper(settings):
    doc = ingest_bytes("plos.pdf", _margin_column_paper(), settings)
    assert doc.document.title == "Notes on the Analytical Engine of Charles Babbage"
    assert doc.document.authors == ("Ada Lovelace", "Charles Babbage")
    assert doc.document.year == 2017  # printed 'Published: January 3, 2017'; the file was made in 2016
    assert doc.chunks[0].section == "Abstract" and doc.chunks[0].text.startswith("Retrieval lets")
    assert "Introduction" in doc.report.headings
    for chunk in doc.chunks:
        assert not any(word in chunk.text for word in ("Citation:", "Published:", "Funding:", "University of"))


def test_ocr_of_a_scan_is_not_dated_by_the_scan_and_an_affiliation_under_each_name_is_no_author(
        monkeypatch, settings):
    # Tesseract reads three author columns as single-spaced lines and the daggers after names as quote marks;
    # the scanner stamped today's date in the file
    monkeypatch.setattr(ingest_pdf, "_ocr_page", lambda data, index: "\n".join([
        "Distilling the Knowledge in an Engine", "Ada Lovelace*\u2018 Charles Babbage' Mary Somerville",
        "Analytical Inc. Analytical Inc. Analytical Inc.", "Mountain View Mountain View Mountain View",
        "", "Abstract", INTRO, "1 Introduction", METHOD]))
    doc = ingest_bytes("scan.pdf", scanned_page_pdf(["Scanned text"]), settings)
    assert doc.report.ocr_pages == (1,)
    assert doc.document.authors == ("Ada Lovelace", "Charles Babbage", "Mary Somerville")
    assert doc.document.year is None


def test_a_typesetters_math_symbol_font_reads_as_its_symbols_not_latin_letters(settings):
    # PLOS ONE's TeX conversions keep TeX's symbol codes under another font name ('f', 'g' for braces) and set
    # '(', ')', '=' and '+' at the codes of 'ð', 'Þ', '¼', 'þ'
    lead = "Each part has an activation A"
    x = 72 + text_width(lead, 10)
    body = column(72, 150, [INTRO], width=90)[0]
    page = [Text(72, 60, "A Short Note on Parts", 16, "F2"), Text(72, 84, "Ada Lovelace", 10, "F2"),
            Text(72, 120, "1 Introduction", 11, "F2"), *body, Text(72, 220, lead, 10),
            *_set_in_turn(x, 220, [("ð", "F8"), ("t", "F1"), ("Þ ¼ f", "F8"), ("x", "F1"), ("g þ 1", "F8"),
                                   (" over its inputs.", "F1")])]
    doc = ingest_bytes("parts.pdf", build_pdf([page]), settings)
    assert "activation A(t) = {x} + ∞ over its inputs" in doc.body  # '1' of the symbol font is TeX's infinity


def _set_in_turn(x: float, y: float, pieces: list[tuple[str, str]], size: float = 10) -> list[Text]:
    """Pieces of one line set one after the other in their fonts (F5, F6 and F8 glyphs are 0.5 em wide; F5 and F6
    take two bytes a glyph)."""
    out = []
    for text, font in pieces:
        out.append(Text(x, y, text, size, font))
        glyphs = len(text) / 2 if font in ("F5", "F6") else len(text)
        x += glyphs * size / 2 if font in ("F5", "F6", "F8") else text_width(text, size, font)
    return out


@pytest.mark.parametrize("pieces", [
    # NIPS sets the names one space apart, a mark ending the first
    [("Ada Lovelace* Charles Babbage       Mary Somerville", "F2")],
    # ACL marks affiliations with card suits (a TeX symbol font's spade, OMS code 127)
    [("Ada Lovelace\x86, Charles Babbage", "F2"), (tex_glyphs(127), "F5"), (", Mary Somerville\x86", "F2")],
    # GLM sets affiliation numbers after an equal-contribution mark
    [("Ada Lovelace*1,2       Charles Babbage*3       Mary Somerville1,2", "F2")],
    # ICML sets '+' marks apart ('David Lopez-Paz + 1 Gabriel Synnaeve + 1')
    [("Ada Lovelace + 1 Charles Babbage + 1 Mary Somerville 2", "F2")],
])
def test_footnote_marks_on_names_end_each_name(settings, pieces):
    body = column(72, 150, ["# 1 Introduction", INTRO, METHOD], width=90)[0]
    page = [Text(150, 60, "A Short Note on Engines", 16, "F2"), *_set_in_turn(120, 90, pieces, 11),
            Text(200, 104, "University of London", 11), Text(250, 130, "Abstract", 11, "F2"), *body]
    authors = ingest_bytes("names.pdf", build_pdf([page]), settings).document.authors
    assert authors == ("Ada Lovelace", "Charles Babbage", "Mary Somerville")


def test_a_proceedings_copy_is_dated_by_its_info_subject_never_by_a_year_in_its_body(settings):
    # a CVF copy: no arXiv stamp, no CreationDate, the venue only in Info /Subject; the body cites 'ILSVRC 2012'
    body = column(72, 150, ["# 1 Introduction", "Networks trained on ImageNet ILSVRC 2012 transfer well. " + INTRO],
                  width=90)[0]
    page = [Text(150, 60, "A Short Note on Engines", 16, "F2"), Text(220, 90, "Ada Lovelace", 11),
            Text(250, 130, "Abstract", 11, "F2"), *body]
    pdf = build_pdf([page])
    undated = ingest_bytes("cvf.pdf", pdf, settings).document
    assert undated.year is None  # not 2012
    stamped = pdf.replace(b"/Title ()", b"/Title () /Subject (2015 IEEE International Conference on Computer Vision)")
    assert ingest_bytes("cvf.pdf", stamped, settings).document.year == 2015


def test_author_year_entries_are_cut_by_their_hanging_indent_inside_a_wider_column(settings):
    # AISTATS 2010: the right column's bounds come from a wider line above the list, its entries start 14
    # points right of them, and continuation lines are indented 10 points more
    entries = [("Bengio, Y. (2009). Learning deep architectures for AI.", "Foundations and Trends, 2, 1-127."),
               ("Bengio, Y., Lamblin, P., & Larochelle, H. (2007).", "Greedy layer-wise training. NIPS 19."),
               ("Glorot, X., & Bengio, Y. (2010). Understanding the", "difficulty of training deep networks."),
               ("Hinton, G. E. (2006). A fast learning algorithm for deep", "belief nets. Neural Computation, 18.")]
    left = column(54, 80, ["# 1 Introduction", INTRO, METHOD, RESULTS, INTRO, METHOD], width=46, size=9)[0]
    right = [Text(314, 80, "a wide line of the right column sets its left edge here", 9),
             *column(314, 94, [RESULTS, METHOD], width=46, size=9)[0]]
    y = 94 + 12 * 14
    right.append(Text(328, y, "References", 11, "F2"))
    for first, second in entries:
        y += 14
        right += [Text(328, y, first, 9), Text(338, y + 10, second, 9)]
        y += 10
    page = [Text(200, 40, "A Short Note on Engines", 16, "F2"), Text(260, 60, "Ada Lovelace", 11), *left, *right]
    doc = ingest_bytes("aistats.pdf", build_pdf([page]), settings)
    assert [entry.text.split(" (")[0] for entry in doc.bibliography] == [
        "Bengio, Y.", "Bengio, Y., Lamblin, P., & Larochelle, H.", "Glorot, X., & Bengio, Y.", "Hinton, G. E."]


def cvf_paper(refs: list[str], settings):
    """A one-page CVF-style paper: a short body, then a reference list of these lines."""
    body = column(72, 120, ["# 1 Introduction", INTRO, METHOD], width=90)[0]
    page = [Text(150, 60, "A Short Note on Detection", 16, "F2"), Text(250, 84, "Ada Lovelace", 11), *body,
            Text(72, 300, "References", 11, "F2"), *[Text(72, 316 + 11 * i, text, 9) for i, text in enumerate(refs)]]
    return ingest_bytes("cvf.pdf", build_pdf([page]), settings)


def test_a_reference_entry_ending_in_the_pages_that_cite_it_stays_in_the_list(settings):
    # CVF copies end each entry with back-references ('In CVPR, 2014. 1, 3, 4, 8'), numbers enough for a table row
    refs = ["[1] Ross Girshick, Jeff Donahue, Trevor Darrell, and Jitendra Malik. Rich feature",
            "hierarchies for accurate object detection and semantic", "segmentation. In CVPR, 2014. 1, 3, 4, 8",
            "[2] Kaiming He, Xiangyu Zhang, Shaoqing Ren, and Jian Sun. Spatial pyramid pooling in deep",
            "convolutional networks for visual recognition. In ECCV, 2014. 1, 2, 3, 4, 5, 6, 7",
            "[3] Alex Krizhevsky, Ilya Sutskever, and Geoffrey E Hinton. ImageNet classification with deep",
            "convolutional neural networks. In NIPS,", "2012. 1, 4, 6"]
    doc = cvf_paper(refs, settings)
    assert [entry.text[:3] for entry in doc.bibliography] == ["[1]", "[2]", "[3]"]
    assert doc.bibliography[2].text.endswith("In NIPS, 2012. 1, 4, 6")
    assert not any(chunk.kind == "table" for chunk in doc.chunks)


def test_bench_calls_reference_entries_and_table_rows_bad_section_names_but_not_headings_with_years():
    # Fast R-CNN's '4.3. VOC 2007 results' is a real heading; BERT's '2018. Maskgan: ...' was a reference entry
    # and RETRO's '2021 Afghan protests Great Circle (novel)' a table row
    import importlib.util

    spec = importlib.util.spec_from_file_location("bench_ingest_pdf", Path(__file__).resolve().parents[1] / "bench"
                                                  / "ingest_pdf.py")
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    is_bad_section_name = bench.is_bad_section_name
    for heading in ("4.2. VOC 2010 and 2012 results", "4.3. VOC 2007 results", "5.2 Results on WMT 2014",
                    "A.1 Training on the 2017 split", "3 Experiments"):
        assert not is_bad_section_name(heading), heading
    for name in ("2018. Maskgan: Better text generation via filling in", "2021 Afghan protests Great Circle (novel)",
                 "12.5 43.2 11.1 88.0", "Kingma, D. P., & Ba, J. Adam", "Devlin et al. 2019"):
        assert is_bad_section_name(name), name


def test_a_token_diagrams_labels_are_a_figure_chunk_labelled_by_its_caption_not_prose(settings):
    # GLM (2103.10360) Figure 2: rows of tokens and position ids ('x 5 x 6 [E] x 3 [E] [M] x 1 ...') read as prose
    rows = ["x 1 x 2 [M] x 4 [M] [S] x 5 x 6 [S] x 3", "Part A: x 1 x 2 [M] x 4 [M]",
            "Position 1 1 2 3 4 5 5 5 5 3 3", "Position 2 0 0 0 0 0 1 2 3 1 2"]
    diagram = [Text(90, 330 + 11 * i, row, 9) for i, row in enumerate(rows)]
    caption = [Text(72, 390, "Figure 2: GLM pretraining. The original text is split into two parts.", 9)]
    page = [Text(72, 60, "Memory for Small Models", 16, "F2"), Text(72, 82, "Ada Lovelace", 10),
            *column(72, 110, ["# 1 Introduction", INTRO, METHOD], width=90)[0], *diagram, *caption,
            *column(72, 420, ["# 2 Results", RESULTS], width=90)[0]]
    doc = ingest_bytes("note.pdf", build_pdf([page]), settings)
    figures = [chunk for chunk in doc.chunks if chunk.kind == "figure"]
    assert any("[M]" in chunk.text for chunk in figures) and {chunk.label for chunk in figures} == {"Figure 2"}
    assert not any("[M]" in chunk.text for chunk in doc.chunks if chunk.kind == "text")
    assert any(chunk.text.startswith("Retrieval lets") for chunk in doc.chunks if chunk.kind == "text")


def test_affiliation_numbers_glued_to_names_end_each_name_of_a_long_author_block(settings):
    # Super-NaturalInstructions: 40 names, some of three words, each with its affiliation number glued on
    body = column(72, 150, ["# 1 Introduction", INTRO, METHOD], width=90)[0]
    page = [Text(150, 60, "A Short Note on Engines", 16, "F2"),
            Text(90, 90, "Ada King Lovelace1 Charles Babbage2 Mary Somerville1,3", 11),
            Text(200, 104, "1 University of London 2 University of Cambridge", 9),
            Text(250, 130, "Abstract", 11, "F2"), *body]
    authors = ingest_bytes("names.pdf", build_pdf([page]), settings).document.authors
    assert authors == ("Ada King Lovelace", "Charles Babbage", "Mary Somerville")


@pytest.mark.parametrize("lines, title", [
    # a capitalised first line and a mixed-case subtitle holding no names (Super-NaturalInstructions)
    (["SUPER-RETRIEVAL:", "Generalization via Instructions on 1600+ Tasks"],
     "SUPER-RETRIEVAL: Generalization via Instructions on 1600+ Tasks"),
    # a word in capitals hyphenated at the line break (LoRA: 'LARGE LAN-' + 'GUAGE MODELS')
    (["MEMORY FOR SMALL LAN-", "GUAGE MODELS"], "MEMORY FOR SMALL LANGUAGE MODELS"),
])
def test_a_title_over_two_lines_is_whole(settings, lines, title):
    body = column(72, 170, ["# 1 Introduction", INTRO, METHOD], width=90)[0]
    page = [Text(120, 60, lines[0], 16, "F2"), Text(120, 80, lines[1], 16, "F2"),
            Text(200, 110, "Ada Lovelace, Charles Babbage", 11), Text(250, 140, "Abstract", 11, "F2"), *body]
    doc = ingest_bytes("title.pdf", build_pdf([page]), settings).document
    assert doc.title == title and doc.authors == ("Ada Lovelace", "Charles Babbage")


def test_a_heading_may_ask_a_question_or_hold_vs(settings):
    # LoRA's '3 AREN'T EXISTING SOLUTIONS GOOD ENOUGH?', the ICML '5. Why does it work? Some speculation' and
    # QLoRA's '4 QLoRA vs. Standard Finetuning' were read as prose
    body = column(72, 110, ["# 1 Introduction", INTRO, "# 2 Why does it work? Some speculation", METHOD,
                            "# 3 Retrieval vs. Memory", RESULTS], width=90)[0]
    page = [Text(72, 60, "Memory for Small Models", 16, "F2"), Text(72, 82, "Ada Lovelace", 10), *body]
    doc = ingest_bytes("note.pdf", build_pdf([page]), settings)
    assert doc.report.headings == ("1 Introduction", "2 Why does it work? Some speculation", "3 Retrieval vs. Memory")


def test_greek_letter_affiliation_marks_glued_to_names_end_each_name():
    # Rho-1 (2404.07965) marks affiliations with Greek letters set on the names; the test fonts have no Greek
    # glyphs, so the author line is given as the layout reader's text
    line = "Zhenghao Lin⋆ χϕ Zhibin Gou⋆πϕ Yeyun Gong⋄ ϕ Xiao Liuϕ Yelong Shenϕ"
    names = [name for part in ingest_pdf._split_cells(line) for name in ingest_pdf._names_in(part)]
    assert names == ["Zhenghao Lin", "Zhibin Gou", "Yeyun Gong", "Xiao Liu", "Yelong Shen"]


def test_a_name_ending_in_the_letters_of_an_institution_is_still_an_author(settings):
    # GQA (2305.13245) lost its last author: 'Sumit Sanghai' held 'mit', which the affiliation words matched
    body = column(72, 150, ["# 1 Introduction", INTRO, METHOD], width=90)[0]
    page = [Text(150, 60, "A Short Note on Engines", 16, "F2"),
            Text(120, 90, "Yury Zemlyanskiy, Amit Sharma, Sumit Sanghai", 11),
            Text(220, 106, "MIT and Google Research", 10), Text(250, 130, "Abstract", 11, "F2"), *body]
    authors = ingest_bytes("names.pdf", build_pdf([page]), settings).document.authors
    assert authors == ("Yury Zemlyanskiy", "Amit Sharma", "Sumit Sanghai")


def _row_words(text: str, x0: float, top: float, size: float = 10.9, font: str = "Times-Roman",
               right: float | None = None) -> list[dict]:
    """The words of one line set from x0 as pdfplumber gives them, justified to end at `right` when given."""
    tokens = text.split()
    widths = [text_width(token, size, "F2" if "Bold" in font else "F1") for token in tokens]
    space = 0.25 * size if right is None else (right - x0 - sum(widths)) / max(1, len(tokens) - 1)
    words = []
    for token, width in zip(tokens, widths):
        words.append({"text": token, "x0": x0, "x1": x0 + width, "top": top, "bottom": top + size, "size": size,
                      "fontname": font})
        x0 += width + space
    return words


def test_a_left_column_line_ending_a_hair_before_the_gutter_is_not_joined_to_the_heading_beside_it():
    # Dense X (2312.06648) p. 6: 'popu-' ends 0.1 pt left of the gutter, beside the right column's heading '6
    # Results: Open-Domain QA'; read as one line with it, the heading was lost
    words = []
    for i in range(12):
        top = 100 + 14 * i
        text = " ".join((INTRO + " " + METHOD).split()[3 * i:3 * i + 8])
        left = _row_words(text, 72, top, right=288)
        right = _row_words(" ".join(RESULTS.split()[2 * i:2 * i + 8]), 306, top, right=522)
        if i == 6:  # the line that ends just short of the gutter, and a bold heading beside it
            left = _row_words("three different granularities is affected by the popu-", 72, top, right=290.9)
            right = _row_words("6 Results: Open-Domain QA", 306, top - 5, 12, "Times-Bold")
        words += left + right
    lines = ingest_pdf._page_lines(words, 612.0, 6)
    texts = [line.text for line in lines]
    assert "6 Results: Open-Domain QA" in texts
    assert "three different granularities is affected by the popu-" in texts


def test_a_table_printed_as_text_and_a_list_of_numbers_are_labelled_tables_not_prose(settings):
    # Chain-of-Table's appendix prompts print tables as text ('/* col : Name | League | ... row 1 : ...'), and
    # TIES-Merging lists per-task figures ('TIES -> [1.6, 1.7, 1.7, ...]'): both were read as prose
    serialised = ("/* col : Name | League | FA Cup | Total row 1 : Scot Bennett | 5 | 0 | 5 row 2 : Danny Coles | "
                  "3 | 0 | 3 row 3 : Liam Sercombe | 1 | 0 | 1 */")
    numbers = ["(6 tasks) TIES gives [1.6, 1.7, 1.7, 1.2, 1.7] and (6 tasks) Task Arithmetic gives [0.6, 0.5, 0.5]",
               "(7 tasks) TIES gives [1.7, 1.6, 1.8] and (7 tasks) Task Arithmetic gives [0.5, 0.4, 0.6]"]
    before, y = column(72, 110, ["# 1 Introduction", INTRO, serialised, METHOD], width=90)
    page = [Text(72, 60, "Memory for Small Models", 16, "F2"), Text(72, 82, "Ada Lovelace", 10), *before,
            *(Text(72, y + 12 * i, line) for i, line in enumerate(numbers)), *column(72, y + 32, [RESULTS], width=90)[0]]
    chunks = ingest_bytes("note.pdf", build_pdf([page]), settings).chunks
    tables = {chunk.label: chunk.text for chunk in chunks if chunk.kind == "table"}
    assert "Scot Bennett" in tables["Table (serialised as text)"] and "1.7" in tables["List of numbers"]
    prose = " ".join(chunk.text for chunk in chunks if chunk.kind == "text")
    assert "row 1 :" not in prose and "1.2, 1.7" not in prose
    assert "Retrieval lets" in prose and "Each chunk of the input" in prose and "On the Pile" in prose


def test_bench_counts_header_emails_and_author_names_as_front_matter_but_not_an_appendix_example():
    # Rho-1 (2404.07965) quotes web pages with e-mail addresses in its appendix and states its authors'
    # contributions in 'A Author Contributions': neither is its header block
    import importlib.util
    from types import SimpleNamespace as Chunk

    spec = importlib.util.spec_from_file_location("bench_ingest_pdf", Path(__file__).resolve().parents[1] / "bench"
                                                  / "ingest_pdf.py")
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    expected = {"authors": ["Ada Lovelace", "Charles Babbage"]}

    def front(text: str, page: int, section: str = "1 Introduction") -> int:
        return bench.chunk_findings([Chunk(text=text, page=page, section=section, kind="text")], expected)["front"]

    assert front("Contact: ada@example.org for the code.", 1) == 1
    assert front("Ada Lovelace and Charles Babbage, University of London", 9) == 1
    assert front("Workshop at noon; RSVP to events@example.edu before Friday.", 27, "I Weak-to-Strong") == 0
    assert front("Ada Lovelace designed the engine; Charles Babbage built it.", 18, "A Author Contributions") == 0


def test_names_set_an_em_apart_in_an_author_row_are_separate_authors(settings):
    # G-Eval (EMNLP 2023): 'Shuohang Wang  Ruochen Xu  Chenguang Zhu', the names about an em apart (less than the
    # cell gap a table's columns leave) were read as 'Ruochen Xu Chenguang Zhu'
    names, x, row = ["Shuohang Wang", "Ruochen Xu", "Chenguang Zhu"], 160.0, []
    for name in names:
        row.append(Text(x, 90, name, 11))
        x += text_width(name, 11) + 11  # one em
    body = column(72, 150, ["# 1 Introduction", INTRO, METHOD], width=90)[0]
    page = [Text(150, 60, "A Short Note on Engines", 16, "F2"), *row, Text(240, 106, "Microsoft Azure AI", 11),
            Text(250, 130, "Abstract", 11, "F2"), *body]
    assert ingest_bytes("grid.pdf", build_pdf([page]), settings).document.authors == tuple(names)


def test_a_nickname_in_quotes_is_part_of_the_name():
    # Eureka (2310.12931) prints 'Linxi “Jim” Fan1 †'; the quoted nickname made the name no name
    for line in ("Yuke Zhu1 4, Linxi “Jim” Fan1 †, Anima Anandkumar1 3 †", 'Yuke Zhu, Linxi "Jim" Fan, Anima Anandkumar'):
        names = [name for part in ingest_pdf._split_cells(line) for name in ingest_pdf._names_in(part)]
        assert names[1].replace('"', "“", 1).replace('"', "”") == "Linxi “Jim” Fan" and len(names) == 3, names


def test_a_units_name_between_the_author_row_and_its_institution_is_no_author(settings):
    # the event-based eye tracking paper (2503.23725) sets 'MICS Thrust' on its own line over 'The Hong Kong
    # University of Science and Technology (Guangzhou)'
    body = column(72, 170, ["# 1 Introduction", INTRO, METHOD], width=90)[0]
    page = [Text(150, 60, "A Short Note on Engines", 16, "F2"),
            Text(140, 90, "Ada Lovelace*, Charles Babbage*, Mary Somerville", 11), Text(260, 104, "MICS Thrust", 11),
            Text(180, 118, "The University of London (Bloomsbury)", 11), Text(250, 150, "Abstract", 11, "F2"), *body]
    doc = ingest_bytes("unit.pdf", build_pdf([page]), settings).document
    assert doc.authors == ("Ada Lovelace", "Charles Babbage", "Mary Somerville")


def test_back_references_wrapped_onto_their_own_line_stay_in_their_entry(settings):
    # the eye tracking paper's entries end in the pages citing them, wrapped onto a line of their own ('1, 3, 6,
    # 7', '5810-5825, 2024. 2, 6'): read as table rows, they swallowed the entries after them into the body
    refs = ["[1] Ross Girshick, Jeff Donahue, Trevor Darrell, and Jitendra Malik. Rich feature hierarchies for",
            "accurate object detection and semantic segmentation. In Proceedings of the IEEE Conference, 2014.",
            "1, 3, 6, 7",
            "[2] Kaiming He, Xiangyu Zhang, Shaoqing Ren, and Jian Sun. Spatial pyramid pooling in deep convolutional",
            "networks for visual recognition. In Proceedings of the European Conference on Computer Vision, pages",
            "5810-5825, 2024. 2, 6",
            "[3] Hongwei Ren and Ada Lovelace. Event cameras for eye tracking. In CVPR Workshops, 2024. 2"]
    doc = cvf_paper(refs, settings)
    assert [entry.text[:3] for entry in doc.bibliography] == ["[1]", "[2]", "[3]"]
    assert doc.bibliography[0].text.endswith("2014. 1, 3, 6, 7")
    assert not any(chunk.kind == "table" for chunk in doc.chunks)
    assert not any("Event cameras" in chunk.text for chunk in doc.chunks if chunk.kind == "text")


def test_a_right_column_that_ends_high_on_the_page_is_still_a_column():
    # API-Bank (EMNLP 2023) p. 11: the reference list fills the left column but only 8 rows of the right one; at
    # less than 30% of the rows the page was read as one column, each left line joined to the right one beside it
    words = []
    for i in range(24):
        top = 80 + 12 * i
        words += _row_words(" ".join((INTRO + " " + METHOD + " " + RESULTS).split()[3 * i:3 * i + 6]), 72, top,
                            size=10)
        if i < 5:
            words += _row_words(" ".join(RESULTS.split()[2 * i:2 * i + 8]), 306, top, size=10)
    texts = [line.text for line in ingest_pdf._page_lines(words, 595.0, 11)]
    assert " ".join(RESULTS.split()[:8]) in texts
    assert len(texts) == 29


def test_lines_of_one_column_are_grouped_apart_when_the_other_column_has_another_line_pitch():
    # API-Bank p. 10: a 10.9 pt body line in the left column overlaps two 10 pt reference lines in the right one;
    # grouped into one row across the page, the two reference lines came out as one, their words interleaved
    words = []
    for i in range(14):
        words += _row_words(" ".join((INTRO + " " + METHOD).split()[3 * i:3 * i + 8]), 72, 80 + 13.6 * i,
                            right=289)
    for i in range(16):
        words += _row_words(" ".join(RESULTS.split()[2 * i:2 * i + 8]), 306, 75 + 10.9 * i, size=10, right=524)
    texts = [line.text for line in ingest_pdf._page_lines(words, 595.0, 10)]
    for i in range(16):
        assert " ".join(RESULTS.split()[2 * i:2 * i + 8]) in texts, i


def test_a_supplements_title_after_the_references_is_no_entry(settings):
    # the ICML 2019 label-noise paper follows its list with 'Supplementary material for the paper “Unsupervised
    # Label Noise Modeling and Loss Correction”' in the title's size: two more entries, in the reader's count
    body = column(72, 120, ["# 1 Introduction", INTRO, METHOD], width=90)[0]
    refs = ["Alvi, M., Zisserman, A., and Nellaker, C. Turning a blind eye. arXiv, 2018.",
            "Bengio, Y., Louradour, J., and Weston, J. Curriculum learning. In ICML, 2009."]
    page1 = [Text(150, 60, "A Short Note on Noise", 16, "F2"), Text(250, 84, "Ada Lovelace", 11), *body,
             Text(72, 300, "References", 11, "F2"), *[Text(72, 316 + 11 * i, text, 9) for i, text in enumerate(refs)]]
    page2 = [Text(72, 80, "Supplementary material for the paper on noise in labels and loss", 14, "F2"),
             Text(200, 98, "correction in deep networks", 14, "F2"),
             *column(72, 140, ["# A. Beta Mixture Model", RESULTS], width=90)[0]]
    doc = ingest_bytes("supp.pdf", build_pdf([page1, page2]), settings)
    assert [entry.text[:4] for entry in doc.bibliography] == ["Alvi", "Beng"]
    assert "A. Beta Mixture Model" in doc.report.headings


def test_table_rows_run_together_as_a_paragraph_are_a_table_not_prose(settings):
    # 1601.06733 p. 9: an unruled table's rows read as one paragraph ('LSTMN shallow fusion 100 280k 84.3 ...')
    rows = ["LSTMN shallow fusion 100 280k 84.3 LSTMN deep fusion 100 330k 84.5",
            "LSTMN shallow fusion 300 1.4M 85.2 LSTMN deep fusion 300 1.7M 85.7",
            "LSTMN shallow fusion 450 2.8M 86.0 LSTMN deep fusion 450 3.4M 86.3"]
    before, y = column(72, 110, ["# 1 Introduction", INTRO, METHOD], width=90)
    page = [Text(72, 60, "Memory for Small Models", 16, "F2"), Text(72, 82, "Ada Lovelace", 10), *before,
            *(Text(72, y + 12 * i, line) for i, line in enumerate(rows)), *column(72, y + 50, [RESULTS], width=90)[0]]
    chunks = ingest_bytes("note.pdf", build_pdf([page]), settings).chunks
    tables = {chunk.label: chunk.text for chunk in chunks if chunk.kind == "table"}
    assert "280k 84.3" in tables["Table (serialised as text)"]
    prose = " ".join(chunk.text for chunk in chunks if chunk.kind == "text")
    assert "280k" not in prose and "Retrieval lets" in prose and "On the Pile" in prose


def test_a_footnote_may_start_with_the_arrow_glyph_some_fonts_give_an_asterisk():
    # 1212.5701 p. 1: '⇤This work was done while Matthew D. Zeiler was an intern' stayed in the body (the test
    # fonts cannot print the glyph, so the mark is checked where the reader tells a footnote's first line)
    assert ingest_pdf._FOOTNOTE_MARK.match("⇤This work was done while Matthew D. Zeiler was an intern at Google.")
    assert ingest_pdf._FOOTNOTE_MARK.match("1Code is available.") and not ingest_pdf._FOOTNOTE_MARK.match("This")
