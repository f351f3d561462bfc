"""Team corpus rules, enforced in the engine: a shared corpus for everyone, private uploads for their owner."""

from __future__ import annotations

import pytest

from engine import corpus_access as access
from engine.errors import AccessDenied, NotFound
from engine.evidence import index_retriever
from engine.index import open_index
from engine.store import User

ADMIN, ANA, BEN, RITA = User(1, "admin", "admin"), User(2, "ana", "writer"), User(3, "ben", "writer"), \
    User(4, "rita", "reviewer")

SHARED_NOTE = b"""---
title: Shared note on rotary embeddings
year: 2021
---
# Rotary position embeddings

Rotary position embeddings rotate query and key vectors by an angle proportional to the token position.
"""
PRIVATE_NOTE = b"""---
title: Ana's private note on speculative decoding
year: 2023
---
# Speculative decoding

Speculative decoding drafts several tokens with a small model and verifies them with the large model in one pass.
"""


@pytest.fixture
def index(settings, embedder):
    index = open_index(settings, embedder)
    access.upload(index, ADMIN, [("rope.md", SHARED_NOTE)], settings)
    access.upload(index, ANA, [("spec.md", PRIVATE_NOTE)], settings)
    return index


def _titles(documents):
    return {d.title for d in documents}


def test_private_upload_is_seen_only_by_its_owner(index):
    assert _titles(access.visible_documents(index, ANA)) == {"Shared note on rotary embeddings",
                                                             "Ana's private note on speculative decoding"}
    assert _titles(access.visible_documents(index, BEN)) == {"Shared note on rotary embeddings"}
    assert _titles(access.visible_documents(index, ADMIN)) == {"Shared note on rotary embeddings"}
    private = next(d for d in index.list_documents() if d.owner == "ana")
    with pytest.raises(NotFound):
        access.readable_document(index, BEN, private.doc_id)
    with pytest.raises(NotFound):
        access.remove_document(index, BEN, private.doc_id)


def test_retrieval_for_a_user_never_returns_another_users_private_passages(index):
    query = "speculative decoding drafts tokens with a small model"
    ana_hits = index_retriever(index, user=ANA, mmr=False)(query, k=5)
    ben_hits = index_retriever(index, user=BEN, mmr=False)(query, k=5)
    assert ana_hits[0].title == "Ana's private note on speculative decoding"
    assert ben_hits and all(h.title == "Shared note on rotary embeddings" for h in ben_hits)
    private = next(d for d in index.list_documents() if d.owner == "ana")
    assert index_retriever(index, user=BEN, mmr=False)(query, k=5, doc_ids=[private.doc_id]) == []


def test_only_admins_change_the_shared_corpus_and_owners_their_uploads(index):
    shared = next(d for d in index.list_documents() if d.owner == "")
    private = next(d for d in index.list_documents() if d.owner == "ana")
    with pytest.raises(AccessDenied):
        access.update_metadata(index, ANA, shared.doc_id, title="Renamed")
    with pytest.raises(AccessDenied):
        access.remove_document(index, BEN, shared.doc_id)
    assert access.update_metadata(index, ANA, private.doc_id, title="Speculative decoding, my notes").title \
        == "Speculative decoding, my notes"
    assert access.update_metadata(index, ADMIN, shared.doc_id, year="2022").year == 2022
    assert access.remove_document(index, ANA, private.doc_id) > 0
    assert _titles(access.visible_documents(index, ANA)) == {"Shared note on rotary embeddings"}


def test_reviewers_do_not_upload_and_writers_cannot_write_to_the_shared_corpus(index, settings):
    with pytest.raises(AccessDenied):
        access.upload(index, RITA, [("x.md", PRIVATE_NOTE)], settings)
    with pytest.raises(AccessDenied):
        access.upload(index, BEN, [("x.md", b"# A\n\nText about beam search widths and length penalties.")],
                      settings, shared=True)


def test_two_users_keep_their_own_copies_of_one_paper_and_shared_copies_count_as_duplicates(index, settings):
    report = access.upload(index, BEN, [("spec.md", PRIVATE_NOTE)], settings)
    assert [o.status for o in report.outcomes] == ["ok"]  # Ana's private copy is neither visible nor a duplicate
    copies = [d for d in index.list_documents() if d.title == "Ana's private note on speculative decoding"]
    assert sorted(d.owner for d in copies) == ["ana", "ben"]
    assert len({d.doc_id for d in copies}) == 2
    again = access.upload(index, BEN, [("rope-copy.md", SHARED_NOTE)], settings)
    assert [o.status for o in again.outcomes] == ["duplicate"]
    assert [o.status for o in access.upload(index, BEN, [("spec2.md", PRIVATE_NOTE)], settings).outcomes] \
        == ["duplicate"]  # now of his own copy


def test_corpus_page_in_team_mode_lists_only_what_the_signed_in_user_may_read(tmp_path, monkeypatch, embedder):
    from pathlib import Path

    import streamlit as st
    from streamlit.testing.v1 import AppTest

    from engine.settings import load_settings
    from engine.store import Store

    repo = Path(__file__).resolve().parents[1]
    monkeypatch.setenv("PEERDRAFT_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("PEERDRAFT_CONFIG", str(tmp_path / "absent.toml"))
    monkeypatch.setenv("PEERDRAFT_MODE", "team")
    monkeypatch.setenv("PEERDRAFT_METRICS_PORT", "0")
    monkeypatch.chdir(repo)
    settings = load_settings()
    store = Store(settings.db_path)
    users = {name: store.insert_user(name, role, "x") for name, role in
             (("admin", "admin"), ("ana", "writer"), ("ben", "writer"), ("rita", "reviewer"))}
    index = open_index(settings, embedder)
    access.upload(index, users["admin"], [("rope.md", SHARED_NOTE)], settings)
    access.upload(index, users["ana"], [("spec.md", PRIVATE_NOTE)], settings)

    def corpus_page_as(name: str) -> AppTest:
        st.cache_resource.clear()
        at = AppTest.from_file(str(repo / "app.py"), default_timeout=300)
        at.session_state["user_id"] = users[name].id
        at.run()
        at.switch_page("pages/corpus.py").run()
        assert not at.exception, [e.value for e in at.exception]
        return at

    ana, ben, rita = corpus_page_as("ana"), corpus_page_as("ben"), corpus_page_as("rita")
    assert set(ana.dataframe[0].value["title"]) == {"Shared note on rotary embeddings",
                                                    "Ana's private note on speculative decoding"}
    assert set(ben.dataframe[0].value["title"]) == {"Shared note on rotary embeddings"}
    assert any("Reviewers read and search" in i.value for i in rita.info)
