"""The engine calls behind every page, and the CLI verbs that act as a user, for each role against ana's
private upload and her articles (the store's own per-call denials are in tests/test_store.py)."""

from __future__ import annotations

import pytest
from security_team import PASSWORD, SECRET_ARXIV, SECRET_AUTHOR, SECRET_SENTENCE, SECRET_TITLE, SECRET_VENUE

from engine.store import Store
from engine import corpus_access as access
from engine.errors import NotFound

PROBE = f"""# Probe

Quokka attention shrinks the key value cache by 99 percent on the Wombat benchmark [1].
{SECRET_SENTENCE} [1].

## References

[1] {SECRET_TITLE}
"""
OTHERS = ["ben", "rita", "root"]


@pytest.fixture
def world(team, embedder):
    """(settings, index, store, ana's doc id) of the team instance."""
    from engine.index import open_index
    from engine.settings import load_settings

    data, doc_id = team
    settings = load_settings()
    return settings, open_index(settings, embedder), Store(data / "peerdraft.db"), doc_id


@pytest.mark.parametrize("name", OTHERS)
def test_corpus_calls_neither_list_nor_open_nor_change_a_private_upload(world, name):
    settings, index, store, doc_id = world
    user = store.user_by_name(name)
    assert doc_id not in access.visible_doc_ids(index, user)
    for call in (lambda: access.readable_document(index, user, doc_id),
                 lambda: access.remove_document(index, user, doc_id),
                 lambda: access.update_metadata(index, user, doc_id, title="mine now")):
        with pytest.raises(NotFound):
            call()
    assert doc_id in index.documents and index.documents[doc_id].document.title == SECRET_TITLE
    assert index.content_hashes(name).get(index.documents[doc_id].document.content_hash) is None


@pytest.mark.parametrize("name", OTHERS)
def test_retrieval_for_another_user_never_returns_a_private_passage(world, name):
    from engine.evidence import index_retriever

    _, index, store, doc_id = world
    for mode in ("hybrid", "dense", "bm25"):
        passages = index_retriever(index, mode=mode, user=store.user_by_name(name))(
            "Quokka attention marsupial routing Wombat benchmark", k=20)
        assert passages and doc_id not in {p.doc_id for p in passages}
    ana = index_retriever(index, mode="bm25", user=store.user_by_name("ana"))("Quokka attention", k=5)
    assert doc_id in {p.doc_id for p in ana}  # the control: the owner finds it


def test_evaluation_resolves_a_private_reference_for_its_owner_only(world, embedder):
    from engine.evaluate.workspace import evaluate_with_settings

    settings, index, store, doc_id = world

    def evaluate(name):
        return evaluate_with_settings(PROBE, settings, embedder=embedder, index=index, load_model=False,
                                      user=store.user_by_name(name)).to_dict()

    own = evaluate("ana")
    assert any(s["doc_id"] == doc_id for s in own["copying"]["spans"])
    for name in OTHERS:
        other = evaluate(name)
        assert any("Reference [1] matches no indexed document" in n for n in other["notes"])
        assert not any(s["doc_id"] == doc_id for s in (other["copying"] or {}).get("spans", []))
        reasons = [r for c in other["grounding"]["unsupported"] for r in c["reasons"]]
        assert not any("numbers not in the cited source" in r for r in reasons)


def test_a_stored_evaluation_shown_to_a_reader_keeps_figures_but_not_private_sources(world, embedder):
    from engine.evaluate.workspace import PRIVATE_SOURCE, evaluate_with_settings, evaluation_for_reader

    settings, index, store, doc_id = world
    own = evaluate_with_settings(PROBE, settings, embedder=embedder, index=index, load_model=False,
                                 user=store.user_by_name("ana")).to_dict()
    own["coverage"] = {**own["coverage"], "missing_docs": [doc_id],
                       "key_points": [{"point": "p", "covered": True, "similarity": 0.9, "evidence": SECRET_SENTENCE}]}
    shown = evaluation_for_reader(own, access.visible_doc_ids(index, store.user_by_name("rita")))
    assert shown["grounding"]["percent"] == own["grounding"]["percent"]
    assert SECRET_TITLE not in str(shown) and "marsupial" not in str(shown)  # the draft itself may say Wombat
    assert doc_id not in str(shown)
    assert {s["title"] for s in shown["copying"]["spans"]} == {PRIVATE_SOURCE}


def _shared_article(store, doc_id: str) -> int:
    ana = store.user_by_name("ana")
    article = store.create_article(ana, "Ana on quokkas")
    text = f"# Ana on quokkas\n\nQuokkas help [1].\n\n## References\n\n[1] {SECRET_TITLE}\n"
    store.save_version(ana, article.id, text)
    store.share_article(ana, article.id, "rita")
    return article.id


def test_cli_export_of_another_writers_article_is_refused(world, capsys):
    from engine.cli import main

    _, _, store, doc_id = world
    article_id = _shared_article(store, doc_id)
    assert main(["export", "--article", str(article_id), "--user", "ben"]) == 1
    err = capsys.readouterr().err
    assert "does not exist or is not shared with you" in err and "quokka" not in err.lower()


def test_cli_bibtex_of_a_shared_article_carries_no_metadata_of_the_owners_private_upload(world, capsys):
    from engine.cli import main

    _, _, store, doc_id = world
    article_id = _shared_article(store, doc_id)
    assert main(["export", "--article", str(article_id), "--user", "ana", "--format", "bibtex"]) == 0
    assert SECRET_AUTHOR in capsys.readouterr().out  # the control: the owner's BibTeX is complete
    assert main(["export", "--article", str(article_id), "--user", "rita", "--format", "bibtex"]) == 0
    out = capsys.readouterr().out
    assert not any(s in out for s in (SECRET_AUTHOR, SECRET_VENUE, SECRET_ARXIV))


def test_cli_user_list_shows_names_and_roles_never_password_hashes(world, capsys):
    from engine.cli import main

    assert main(["user", "list", "--json"]) == 0
    out = capsys.readouterr().out
    assert "ana" in out and "argon2" not in out and PASSWORD not in out


def test_the_owners_evaluation_report_is_not_among_a_reviewers_downloads(world):
    from engine.export import article_export_files

    _, _, store, doc_id = world
    article_id = _shared_article(store, doc_id)
    ana, rita = store.user_by_name("ana"), store.user_by_name("rita")
    version = store.latest_version(ana, article_id)
    store.save_evaluation(ana, version.id, {"copying": None}, f"- 12 words from **{SECRET_TITLE}**: ...")
    assert "report" in {f.kind for f in article_export_files(store, ana, article_id)}
    files = article_export_files(store, rita, article_id)
    assert "report" not in {f.kind for f in files} and files  # she still downloads the article itself


def test_a_shared_briefs_private_must_cite_document_is_not_named_to_a_reader(world, embedder):
    from engine.evaluate.workspace import evaluate_with_settings
    from engine.records import Brief

    settings, index, store, doc_id = world
    brief = Brief("Quokka attention", must_cite=(doc_id,))
    own = evaluate_with_settings(PROBE, settings, embedder=embedder, index=index, load_model=False, brief=brief,
                                 user=store.user_by_name("ana")).to_dict()
    assert own["coverage"]["missing_docs"] or own["coverage"]["share"] > 0  # the owner's check covers it
    shown = evaluate_with_settings(PROBE, settings, embedder=embedder, index=index, load_model=False, brief=brief,
                                   user=store.user_by_name("rita")).to_dict()
    assert doc_id not in str(shown) and any("private to the article's owner" in n for n in shown["notes"])
