"""A paper's own numeric citations inside retrieved passages name the works they mean (issue 17's 'a sentence that
cites [12] inside a paper can be traced to which work it means'), so a draft never carries a paper's '[12]' as if it
were the article's source 12."""

from __future__ import annotations

from engine.bibliography import ReferenceEntry, parse_reference, short_citation, with_cited_works
from engine.records import Chunk, Document
from engine.retrieve import passage_from_chunk

ENTRIES = (
    ReferenceEntry(1, "[1] ...", ("Jimmy Lei Ba", "Jamie Ryan Kiros", "Geoffrey E Hinton"), "Layer normalization", 2016),
    ReferenceEntry(2, "[2] ...", ("Dzmitry Bahdanau", "Kyunghyun Cho"), "Neural machine translation", 2014),
    ReferenceEntry(3, "[3] ...", ("Sepp Hochreiter",), "Long short-term memory", 1997),
    # What a wrong parse looks like: a title taken for an author. Never shown as a name.
    ReferenceEntry(4, "[4] ...", ("H. Robinds", "“A stochastic approximation method"), "", 1951),
    ReferenceEntry(5, "[5] ...", ("D.E. Rumelhart",), "Learning representations", None),
)


def test_an_entry_with_names_and_a_year_reads_as_an_author_year_citation():
    assert short_citation(ENTRIES[0]) == "Ba et al., 2016"
    assert short_citation(ENTRIES[1]) == "Bahdanau and Cho, 2014"
    assert short_citation(ENTRIES[2]) == "Hochreiter, 1997"
    assert short_citation(ENTRIES[3]) is None  # the second 'author' is a title: no half-right label
    assert short_citation(ENTRIES[4]) is None  # no year
    parsed = parse_reference("[7] D.E. Rumelhart, G.E. Hinton, and R.J. Williams. Learning representations by "
                             "back-propagating errors. Nature, 323:533–536, 1986.", 7)
    assert short_citation(parsed) == "Rumelhart et al., 1986"


def test_markers_that_resolve_whole_are_written_out_and_the_rest_stay_as_printed():
    text = "Layer norm [1] helps; attention [2, 3] and LSTMs [3] came first; see also [4], [5] and [9]."
    assert with_cited_works(text, ENTRIES) == ("Layer norm (Ba et al., 2016) helps; attention (Bahdanau and Cho, "
                                               "2014; Hochreiter, 1997) and LSTMs (Hochreiter, 1997) came first; see "
                                               "also [4], [5] and [9].")
    assert with_cited_works("[1-3]", ENTRIES).count(";") == 2
    assert with_cited_works(text, ()) == text


def test_a_retrieved_prose_passage_names_the_works_its_paper_cites_and_a_table_is_left_alone():
    document = Document(doc_id="d", title="Attention Is All You Need", authors=("Ashish Vaswani",), year=2017)
    prose = Chunk("d-1", "d", "We employ layer normalization [1] around each sub-layer.", kind="text")
    table = Chunk("d-2", "d", "Model | BLEU\nByteNet [2] | 23.75", kind="table")
    assert passage_from_chunk(prose, document, bibliography=ENTRIES).text == \
        "We employ layer normalization (Ba et al., 2016) around each sub-layer."
    assert passage_from_chunk(table, document, bibliography=ENTRIES).text == table.text
    assert passage_from_chunk(prose, document).text == prose.text  # no parsed list: as printed


def test_the_corpus_page_offers_a_papers_reference_list_as_bibtex(page_data_dir, tmp_path):
    """Issue 17: the parsed entries go to BibTeX export, from the paper's parse report on the Corpus page."""
    from pathlib import Path

    import pytest
    from streamlit.testing.v1 import AppTest
    from test_ingest_pdf import paper_pdf

    from engine.cli import main

    pytest.importorskip("pdfplumber")
    (tmp_path / "retro.pdf").write_bytes(paper_pdf())
    assert main(["index", str(tmp_path / "retro.pdf")]) == 0
    at = AppTest.from_file(str(Path(__file__).resolve().parents[1] / "pages" / "corpus.py"), default_timeout=120)
    at.run()
    assert not at.exception
    buttons = [b for b in at.get("download_button") if b.proto.label == "References (BibTeX)"]
    assert len(buttons) == 1 and buttons[0].proto.url  # served: the entries as a .bib file
