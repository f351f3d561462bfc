"""Corpus page: a Zotero export uploaded in the 'Import metadata' form updates the matching documents."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from engine.commands.export import index_documents
from engine.settings import load_settings

pytestmark = pytest.mark.model  # the page opens the index with the real embedding model

ROOT = Path(__file__).resolve().parents[1]
BIB = b"""@inproceedings{vaswani2017,
  title = {Attention Is All You Need},
  author = {Vaswani, Ashish and Shazeer, Noam and Parmar, Niki and Uszkoreit, Jakob},
  booktitle = {Advances in Neural Information Processing Systems 30}, year = {2017},
  doi = {10.5555/3295222.3295349}
}
"""


def test_uploading_a_bib_on_the_corpus_page_updates_the_matching_document(page_data_dir, session_settings,
                                                                        default_index):
    shutil.copytree(session_settings.index_dir, page_data_dir / "index")
    at = AppTest.from_file(str(ROOT / "pages" / "corpus.py"), default_timeout=300).run()
    assert not at.exception
    at.file_uploader(key="bib_file").set_value(("zotero.bib", BIB, "application/x-bibtex"))
    at.button[[b.label for b in at.button].index("Import")].click().run()
    assert not at.exception
    assert any("1 documents updated" in s.value for s in at.success), [s.value for s in at.success]
    attention = next(d for d in index_documents(load_settings()) if d.title == "Attention Is All You Need")
    assert attention.doi == "10.5555/3295222.3295349" and attention.authors[3] == "Jakob Uszkoreit"
    assert attention.venue == "Advances in Neural Information Processing Systems 30"
