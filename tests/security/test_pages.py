"""Every page, for each role, against ana's private upload and articles: through the real sign-in form."""

from __future__ import annotations

import pytest
from security_apptest import leaked, open_app, shown_text, sign_in, sign_out
from security_team import SECRET_SENTENCE, SECRET_TITLE

from engine.store import Store

PAGES = ["pages/write.py", "pages/review.py", "pages/corpus.py", "pages/library.py", "pages/settings.py"]
UNSAVED = "ANA-UNSAVED-PARAGRAPH about quokka attention that she typed but never saved."


def plan(at, topic: str):
    at.text_input(key="topic").input(topic)
    next(b for b in at.button if b.label == "Plan outline").click()
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def test_signing_out_leaves_nothing_of_ana_for_ben_in_the_same_browser(team):
    data, _ = team
    at = sign_in(open_app(), "ana")
    plan(at, "Quokka attention and the Wombat benchmark")
    assert leaked(shown_text(at)), "ana's own Write page should show her private upload (the test's control)"
    at.text_area(key="article_md").input(at.text_area(key="article_md").value + "\n\n" + UNSAVED)
    at.run()
    sign_out(at)

    sign_in(at, "ben")
    assert [t.value for t in at.title] == ["Write"]
    text = shown_text(at)
    assert leaked(text) == [] and UNSAVED not in text and "Quokka" not in text
    assert "outline" not in at.session_state and "cards" not in at.session_state or not at.session_state["cards"]
    store = Store(data / "peerdraft.db")
    ben, ana = store.user_by_name("ben"), store.user_by_name("ana")
    assert store.list_articles(ben) == [], "opening the Write page must not save ana's work into ben's library"
    # Signing out lost nothing of ana's: her unsaved paragraph was saved into her article first.
    assert any(UNSAVED in store.latest_version(ana, a.id).markdown for a in store.list_articles(ana))


@pytest.mark.parametrize("name", ["ben", "rita", "root"])
@pytest.mark.parametrize("page", PAGES)
def test_no_page_shows_another_users_private_upload(team, name, page):
    at = sign_in(open_app(), name)
    at.switch_page(page).run()
    assert not at.exception, [e.value for e in at.exception]
    if page == "pages/write.py":
        plan(at, "Quokka attention for long contexts")  # her paper would be the best evidence for it
        options = at.multiselect(key="must_cite").options  # the labels the writer picks from
        assert options and not any(SECRET_TITLE in label for label in options)
    if page == "pages/corpus.py":
        at.text_input(key="corpus_query").input("Quokka attention marsupial routing Wombat benchmark")
        at.number_input(key="corpus_k").set_value(30)
        at.run()
        assert not at.exception, [e.value for e in at.exception]
    assert leaked(shown_text(at)) == []


REVIEW_PROBE = f"""# Probe

Quokka attention shrinks the key value cache by 99 percent on the Wombat benchmark [1].
{SECRET_SENTENCE} [1].

## References

[1] {SECRET_TITLE}
"""


@pytest.mark.parametrize("name", ["ben", "rita"])
def test_the_review_page_cannot_probe_a_private_paper(team, name):
    at = sign_in(open_app(), name)
    at.switch_page("pages/review.py").run()
    at.radio(key="review_source").set_value("Paste Markdown").run()
    at.text_area(key="review_paste").input(REVIEW_PROBE).run()
    at.button(key="run_evaluation").click().run()
    assert not at.exception, [e.value for e in at.exception]
    evaluation = at.session_state["review_evaluation"]["paste"]
    assert any("Reference [1] matches no indexed document" in n for n in evaluation["notes"])
    reasons = [r for claim in evaluation["grounding"]["unsupported"] for r in claim["reasons"]]
    assert not any("numbers not in the cited source" in r for r in reasons)
    assert not any(span["title"] == SECRET_TITLE for span in (evaluation["copying"] or {}).get("spans", []))
    text = shown_text(at)
    assert f"words from **{SECRET_TITLE}" not in text and "from " + SECRET_TITLE not in text


def test_a_reviewer_of_a_shared_article_sees_neither_the_owners_private_pins_nor_their_sources(team):
    data, doc_id = team
    store = Store(data / "peerdraft.db")
    ana = store.user_by_name("ana")
    from engine.index import CorpusIndex
    from engine.records import Brief, Outline, Section
    from test_index import HashEmbedder

    chunk = next(c for c in CorpusIndex.open(data / "index", HashEmbedder(), check_embedder=False).chunks.values()
                 if c.doc_id == doc_id)
    article = store.create_article(ana, "Ana on quokkas", Brief("Quokka attention", must_cite=(doc_id,)))
    section = Section("Quokka attention")
    store.save_outline(ana, article.id, Outline("Ana on quokkas", [section]))
    store.pin_evidence(ana, article.id, chunk.chunk_id, doc_id, section_id=section.id)
    store.save_version(ana, article.id, "# Ana on quokkas\n\nHer own words about quokkas.\n")
    store.share_article(ana, article.id, "rita")

    at = sign_in(open_app(), "rita")
    at.session_state["article_id"] = article.id  # as the Library's Open button does
    at.switch_page("pages/write.py").run()
    assert not at.exception, [e.value for e in at.exception]
    assert "Her own words about quokkas." in at.text_area(key="article_md").value  # sharing shares the text
    assert leaked(shown_text(at)) == []


def test_the_owner_finds_her_private_upload_on_the_corpus_page(team):
    """The control for the matrix above: the same search shows ana her own paper."""
    at = sign_in(open_app(), "ana")
    at.switch_page("pages/corpus.py").run()
    at.text_input(key="corpus_query").input("Quokka attention marsupial routing Wombat benchmark")
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert SECRET_TITLE in leaked(shown_text(at))
