"""Bibliography import: a Zotero BibTeX / CSL-JSON export fills the metadata of matching corpus documents."""

from __future__ import annotations

import json

import pytest

from engine import export
from engine.errors import IngestError
from engine.index import index_paths, open_index
from engine.ingest_bib import import_bibliography, match_entries, read_bibliography
from engine.store import Store
from test_index import HashEmbedder

NOTES = {
    "attention.md": ("Attention is all you need", "arxiv: 1706.03762\n", "Transformers use attention only."),
    "bert.md": ("BERT: pre-training of deep bidirectional transformers for language understanding", "",
                "BERT masks tokens."),
    "rag.md": ("Retrieval-Augmented Generation for Knowledge-Intensive NLP Tasks", "", "RAG retrieves passages."),
    "dpr.md": ("Dense passage retrieval for open-domain QA", "", "DPR trains two encoders."),
    "lora.md": ("LoRA: Low-Rank Adaptation of Large Language Models", "", "LoRA adds low-rank updates."),
    "other.md": ("Some unrelated note", "", "Nothing in the bibliography."),
}

BIB = r"""
@inproceedings{vaswani2017,
  title = {Attention Is All You Need},
  author = {Vaswani, Ashish and Shazeer, Noam and Parmar, Niki},
  booktitle = {Advances in Neural Information Processing Systems},
  year = {2017},
  eprint = {1706.03762v5}, archivePrefix = {arXiv}
}
@inproceedings{devlin2019,
  title = {{BERT}: Pre-training of Deep Bidirectional Transformers for Language Understanding},
  author = {Devlin, Jacob and Chang, Ming-Wei},
  booktitle = {NAACL}, year = {2019}, doi = {10.18653/v1/N19-1423}
}
@article{lewis2020,
  title = {Retrieval-Augmented Generation for Knowledge-Intensive {NLP} Tasks},
  author = {Lewis, Patrick and P{\'e}rez, Ethan},
  journal = {arXiv preprint}, year = {2020}, url = {https://arxiv.org/abs/2005.11401}
}
@inproceedings{karpukhin2020,
  title = {Dense Passage Retrieval for Open-Domain {QA}},
  author = {Karpukhin, Vladimir and O{\u{g}}uz, Barlas},
  booktitle = {EMNLP}, year = {2020}, doi = {10.18653/v1/2020.emnlp-main.550}
}
@misc{hu2021,
  title = {LoRA: Low-Rank Adaptation of Large Language Models},
  author = {Hu, Edward J. and Shen, Yelong},
  year = {2021}, eprint = {2106.09685}, archivePrefix = {arXiv}
}
@misc{missing2024, title = {A paper nobody indexed}, author = {Nobody, A.}, year = {2024}}
"""


def _note(title: str, extra: str, body: str) -> str:
    return f"---\ntitle: \"{title}\"\nauthors: [Someone Else]\nyear: 1999\n{extra}---\n## Main\n\n{body}\n"


@pytest.fixture
def index_and_admin(settings, tmp_path):
    folder = tmp_path / "papers"
    folder.mkdir()
    for name, (title, extra, body) in NOTES.items():
        (folder / name).write_text(_note(title, extra, body))
    index = open_index(settings, HashEmbedder())
    index_paths(index, [folder], settings)
    store = Store(settings.db_path)
    yield index, store.insert_user("boss", "admin"), store, settings
    store.close()


def _by_title(index, prefix: str):
    return next(d for d in index.list_documents() if d.title.lower().startswith(prefix.lower()))


def test_bib_with_five_entries_updates_authors_and_years_of_the_matching_documents(index_and_admin):
    index, admin, _, settings = index_and_admin
    report = import_bibliography(index, admin, BIB.encode(), "zotero.bib")
    assert report.count("updated") == 5 and report.count("no match") == 1
    attention = _by_title(index, "Attention")
    assert attention.authors == ("Ashish Vaswani", "Noam Shazeer", "Niki Parmar") and attention.year == 2017
    assert attention.arxiv_id == "1706.03762"  # matched by arXiv id, version suffix dropped
    rag = _by_title(index, "Retrieval-Augmented")
    assert rag.authors == ("Patrick Lewis", "Ethan Pérez") and rag.year == 2020 and rag.arxiv_id == "2005.11401"
    assert _by_title(index, "Dense").authors[1] == "Barlas Oğuz"
    bert = _by_title(index, "BERT")
    assert bert.doi == "10.18653/v1/n19-1423" and bert.year == 2019 and bert.venue == "NAACL"
    assert _by_title(index, "Some unrelated").year == 1999  # untouched
    # The reopened index kept it (written to disk, not only in memory).
    assert _by_title(open_index(settings, HashEmbedder()), "LoRA").year == 2021


def test_reference_list_and_bibtex_export_use_the_imported_metadata(index_and_admin):
    index, admin, _, _ = index_and_admin
    import_bibliography(index, admin, BIB, "zotero.bib")
    draft = "# T\n\nAttention [1] and BERT [2].\n\n## References\n\n[1] Attention is all you need.\n[2] BERT.\n"
    refs = export.with_documents(export.split_references(draft)[1], index.list_documents())
    bib = export.to_bibtex(export.cited_documents(draft, refs))
    assert "author = {Ashish Vaswani and Noam Shazeer and Niki Parmar}" in bib and "year = {2017}" in bib
    markdown = export.to_markdown(draft, [export.Reference(r.number, export.format_reference(r.document), r.document)
                                          if r.document else r for r in refs])
    assert "[1] Ashish Vaswani, Noam Shazeer, Niki Parmar (2017). Attention Is All You Need." in markdown


def test_csl_json_from_zotero_matches_by_doi_arxiv_and_title():
    from engine.records import Document

    items = [
        {"id": "a", "type": "article-journal", "title": "Attention Is All You Need",
         "author": [{"family": "Vaswani", "given": "Ashish"}], "issued": {"date-parts": [[2017, 6]]},
         "DOI": "10.48550/arXiv.1706.03762"},
        {"id": "b", "title": "Something", "DOI": "https://doi.org/10.1000/XYZ", "issued": {"date-parts": [[2001]]}},
        {"id": "c", "title": "LoRA: Low-rank adaptation of large language models!", "author": [{"literal": "Hu"}]},
    ]
    entries, skipped = read_bibliography(json.dumps(items).encode(), "zotero.json")
    assert not skipped and entries[0].arxiv_id == "1706.03762" and entries[1].doi == "10.1000/xyz"
    documents = [Document("d1", "Attention", arxiv_id="1706.03762"), Document("d2", "Old title", doi="10.1000/xyz"),
                 Document("d3", "LoRA - Low-Rank Adaptation of Large Language Models")]
    assert [(m.document.doc_id, m.matched_by) for m in match_entries(entries, documents)] == \
        [("d1", "arxiv"), ("d2", "doi"), ("d3", "title")]


def test_a_writer_cannot_change_shared_documents_and_is_told_why(index_and_admin):
    index, _, store, _ = index_and_admin
    writer = store.insert_user("ana", "writer")
    report = import_bibliography(index, writer, BIB, "zotero.bib")
    assert report.count("updated") == 0 and report.count("not allowed") == 5
    assert _by_title(index, "Attention").year == 1999


def test_a_file_that_is_not_a_bibliography_gets_a_clear_message():
    with pytest.raises(IngestError, match="BibTeX or CSL JSON"):
        read_bibliography(b"just some notes\nwithout entries\n", "notes.txt")
    with pytest.raises(IngestError, match="not valid JSON"):
        read_bibliography(b"[{broken", "zotero.json")


def test_a_broken_entry_is_reported_and_the_good_ones_still_read():
    entries, skipped = read_bibliography(BIB + "\n@article{broken, title = {Unclosed\n", "zotero.bib")
    assert len(entries) == 6 and skipped


@pytest.mark.model
def test_cli_bib_updates_the_corpus_and_dry_run_changes_nothing(data_dir, tmp_path, capsys):
    from engine.cli import main
    from engine.commands.export import index_documents
    from engine.settings import load_settings

    folder = tmp_path / "papers"
    folder.mkdir()
    for name, (title, extra, body) in NOTES.items():
        (folder / name).write_text(_note(title, extra, body))
    bib = tmp_path / "zotero.bib"
    bib.write_text(BIB)
    assert main(["index", str(folder)]) == 0
    capsys.readouterr()
    assert main(["bib", str(bib), "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "dry run: summary: 5 documents updated" in out and "would set" in out
    settings = load_settings()
    assert next(d for d in index_documents(settings) if d.title.startswith("LoRA")).year == 1999
    assert main(["bib", str(bib), "--json"]) == 0
    outcomes = json.loads(capsys.readouterr().out)
    assert sorted(o["outcome"] for o in outcomes) == ["no match"] + ["updated"] * 5
    lora = next(d for d in index_documents(settings) if d.title.startswith("LoRA"))
    assert lora.year == 2021 and lora.authors == ("Edward J. Hu", "Yelong Shen") and lora.arxiv_id == "2106.09685"
