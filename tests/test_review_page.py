"""Review page driven through Streamlit's AppTest: pasted drafts, articles, reviews, evaluation."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from engine import auth
from engine.store import Store

ROOT = Path(__file__).resolve().parents[1]
DRAFT = """# Serving small models

## Background

We serve the model with FlashAttention behind a gateway. The scheduler batches requests that arrive within a short window so the
accelerator stays busy, and it evicts finished sequences from the cache as soon as they are complete, which in
practice keeps the latency of short requests low even when long requests are running at the same time.

## Setup

Set up a master/slave pair and simply run the script.
"""


# Many rare terms, none defined: more than the panel's budget, so some stay candidates.
CANDIDATES_DRAFT = "# Notes\n\n## Method\n\n" + " ".join(
    f"We tune the {name} schedule with the {other} trick before the run." for name, other in
    [("Zorbax", "Quillon"), ("Fendrick", "Marbeth"), ("Tsolvan", "Prindle"), ("Kavrot", "Welmish"),
     ("Drummock", "Vexil"), ("Ostrelle", "Haskim")]) + "\n"


@pytest.fixture
def data_dir(page_data_dir):
    return page_data_dir


def _page() -> AppTest:
    return AppTest.from_file(str(ROOT / "pages" / "review.py"), default_timeout=120)


def _metric(at: AppTest, label: str) -> str:
    return next(m.value for m in at.metric if m.label == label)


def test_pasted_draft_shows_the_summary_and_highlights_without_error(data_dir):
    at = _page().run()
    assert not at.exception
    at.text_area(key="review_paste").input(DRAFT).run()
    assert not at.exception
    assert {"Grounded claims", "Coverage", "Readability", "Undefined terms", "Reviews"} <= {m.label for m in at.metric}
    assert _metric(at, "Readability").startswith("grade ")
    assert int(_metric(at, "Undefined terms")) >= 1
    body = at.get("html")[0].proto.body
    assert "<mark" in body and "FlashAttention" in body
    assert "<script" not in body


def test_markup_in_a_pasted_draft_is_escaped_in_the_highlighted_view(data_dir):
    at = _page().run()
    at.text_area(key="review_paste").input("# T\n\nA <script>alert(1)</script> sentence about the cache.\n").run()
    assert not at.exception
    body = at.get("html")[0].proto.body
    assert "<script>" not in body and "&lt;script&gt;" in body


def test_ignoring_a_term_lowers_the_undefined_count(data_dir):
    at = _page().run()
    at.text_area(key="review_paste").input(DRAFT).run()
    before = int(_metric(at, "Undefined terms"))
    at.button(key="ignore_0").click().run()
    assert not at.exception
    assert int(_metric(at, "Undefined terms")) == before - 1


def test_review_form_round_trips_through_storage(data_dir):
    store = Store(data_dir / "peerdraft.db")
    local = auth.local_user(store)
    article = store.create_article(local, "Serving notes")
    version = store.save_version(local, article.id, DRAFT)

    at = _page()
    at.session_state["article_id"] = article.id
    at.run()
    assert not at.exception
    at.slider(key="score_accuracy").set_value(2)
    at.slider(key="score_fluency").set_value(5)
    at.selectbox(key="review_section").set_value("Setup")
    at.text_area(key="review_comment").input("Which script?")
    at.button[[b.label for b in at.button].index("Submit review")].click().run()
    assert not at.exception

    reviews = Store(data_dir / "peerdraft.db").list_reviews(local, article.id)
    assert len(reviews) == 1
    review = reviews[0]
    assert review.version_id == version.id
    assert review.scores["accuracy"] == 2 and review.scores["fluency"] == 5 and review.scores["relevance"] == 3
    assert [(c.section, c.text) for c in review.comments] == [("Setup", "Which script?")]
    at.run()
    assert _metric(at, "Reviews") == "1"


def test_run_evaluation_saves_the_figures_with_the_version(data_dir):
    store = Store(data_dir / "peerdraft.db")
    local = auth.local_user(store)
    article = store.create_article(local, "Serving notes")
    version = store.save_version(local, article.id, DRAFT)

    at = _page()
    at.session_state["article_id"] = article.id
    at.run()
    at.button(key="run_evaluation").click().run()
    assert not at.exception
    saved = Store(data_dir / "peerdraft.db").latest_evaluation(local, version.id)
    assert saved is not None and saved.data["bias"]["terms"]
    assert "# Evaluation report: Serving notes" in saved.report_markdown
    assert _metric(at, "Grounded claims").endswith("%")
    (row,) = Store(data_dir / "peerdraft.db").library(local)  # the Library's two figures came with it
    assert row.readability_band and row.grounding_percent == saved.data["grounding"]["percent"]


# ---- definition suggestions from the corpus (the bundled notes, indexed once per session) ---------------------
ARTICLE = """# Tokenizers and serving

## Background

BERT splits rare words with WordPiece before pre-training. We then serve the model behind a gateway with paged attention.
"""


@pytest.fixture
def corpus_dir(data_dir, session_settings, default_index):
    """The data dir with a copy of the session's default index (BERT's note defines WordPiece; none defines paged attention)."""
    shutil.copytree(session_settings.index_dir, data_dir / "index")
    st.cache_data.clear()  # cached passages are keyed by index path and generation; start clean all the same
    yield data_dir
    st.cache_data.clear()


def _article(data_dir, markdown: str = ARTICLE):
    store = Store(data_dir / "peerdraft.db")
    local = auth.local_user(store)
    article = store.create_article(local, "Tokenizers and serving")
    store.save_version(local, article.id, markdown, reason="manual")
    return store, local, article


def _opened(article_id: int) -> AppTest:
    at = _page()
    at.session_state["article_id"] = article_id
    return at.run()


def _term(at: AppTest, name: str) -> tuple[int, object]:
    """(position in the term list, expander) of a flagged term."""
    return next((i, e) for i, e in enumerate(at.expander) if e.label.startswith(f"{name} ·"))


def test_a_term_the_corpus_defines_gets_a_suggestion_with_its_citation(corpus_dir):
    at = _page().run()
    at.text_area(key="review_paste").input(ARTICLE).run()
    assert not at.exception
    _, wordpiece = _term(at, "WordPiece")
    assert any(m.value.startswith("**Suggested definition:** WordPiece is a") for m in wordpiece.markdown)
    assert any(c.value.startswith("Source: *BERT: Pre-training") and c.value.endswith("page 1")
               for c in wordpiece.caption)
    _, paged = _term(at, "paged attention")
    assert not paged.markdown
    assert any("No definition found in your corpus" in c.value for c in paged.caption)
    downloads = [d.proto.label for d in at.get("download_button")]
    assert {"Glossary (Markdown)", "Glossary (CSV)"} <= set(downloads)


def test_insert_definition_saves_a_version_with_it_at_first_use_and_the_count_drops(corpus_dir):
    store, local, article = _article(corpus_dir)
    at = _opened(article.id)
    before = int(_metric(at, "Undefined terms"))
    i, _ = _term(at, "WordPiece")
    at.button(key=f"insert_{i}").click().run()
    assert not at.exception
    versions = store.list_versions(local, article.id)
    assert len(versions) == 2
    saved = versions[0].markdown
    assert "with WordPiece before pre-training. WordPiece is a subword tokenisation scheme" in saved
    assert saved.split("## References")[1].strip().startswith("[1] ") and "BERT: Pre-training" in saved
    assert at.selectbox(key="review_version").value == versions[0].id
    assert int(_metric(at, "Undefined terms")) == before - 1
    assert not any(e.label.startswith("WordPiece ·") for e in at.expander)
    assert any("Definition of WordPiece inserted" in s.value for s in at.success)


def test_an_ignored_term_stays_ignored_when_the_article_is_opened_again(corpus_dir):
    store, local, article = _article(corpus_dir)
    at = _opened(article.id)
    before = int(_metric(at, "Undefined terms"))
    i, _ = _term(at, "paged attention")
    at.button(key=f"ignore_{i}").click().run()
    assert not at.exception
    again = _opened(article.id)  # a new browser session: only what was stored remains
    assert int(_metric(again, "Undefined terms")) == before - 1
    assert not any(e.label.startswith("paged attention ·") for e in again.expander)
    assert store.get_brief(local, article.id) is None  # ignoring is per article, not the audience's knowledge


def test_assuming_a_term_adds_it_to_the_briefs_assumed_terms(corpus_dir):
    store, local, article = _article(corpus_dir)
    at = _opened(article.id)
    before = int(_metric(at, "Undefined terms"))
    i, _ = _term(at, "paged attention")
    at.button(key=f"assume_{i}").click().run()
    assert not at.exception
    assert "paged attention" in store.get_brief(local, article.id).assumed_terms
    assert int(_metric(at, "Undefined terms")) == before - 1


def test_rerunning_the_page_does_not_query_the_corpus_again(corpus_dir, monkeypatch):
    import engine.retrieve

    queries = []
    real = engine.retrieve.retrieve_passages
    monkeypatch.setattr(engine.retrieve, "retrieve_passages", lambda index, query, **kw: queries.append(query)
                        or real(index, query, **kw))
    at = _page().run()
    at.text_area(key="review_paste").input(ARTICLE).run()
    asked = list(queries)
    assert "WordPiece" in asked
    at.run()
    at.text_area(key="review_paste").input(ARTICLE + "\nPaged attention grows with the context.\n").run()
    assert not at.exception
    assert queries == asked  # same terms: the cached passages answer


def test_without_a_corpus_index_the_page_says_so_and_still_checks(data_dir):
    at = _page().run()
    at.text_area(key="review_paste").input(ARTICLE).run()
    assert not at.exception
    assert any("corpus index is not ready" in i.value for i in at.info)
    assert int(_metric(at, "Undefined terms")) >= 2
    assert _metric(at, "Readability").startswith("grade ")


def test_each_flagged_term_says_why_it_was_flagged(data_dir):
    at = _page().run()
    at.text_area(key="review_paste").input(DRAFT).run()
    flagged = next(e for e in at.expander if e.label.startswith("FlashAttention ·"))
    why = [c.value for c in flagged.caption if c.value.startswith("Why flagged:")]
    assert why and "ML writing" in why[0] and "line 5" in why[0]


def test_the_checks_less_sure_terms_are_listed_apart_and_not_counted(data_dir):
    """Candidates below the panel's bar (issue 18): on request, with their confidence, outside the count."""
    from engine.check import run_checks

    jargon = run_checks(CANDIDATES_DRAFT)["jargon"]
    assert jargon.candidates  # the draft holds terms the check is less sure of
    at = _page().run()
    at.text_area(key="review_paste").input(CANDIDATES_DRAFT).run()
    assert not at.exception
    assert int(_metric(at, "Undefined terms")) == len(jargon.undefined)
    listed = next(e for e in at.expander if e.label.startswith("Show all candidates"))
    assert f"({len(jargon.candidates)}," in listed.label
    lines = [c.value for c in listed.caption]
    assert len(lines) == len(jargon.candidates) and all("confidence 0." in line for line in lines)
    assert lines[0].startswith(jargon.candidates[0].term + " · line ")


def test_asking_the_model_shows_its_definition_marked_unverified_and_offers_no_insert(data_dir, monkeypatch):
    from fakes_drafting import ScriptedLLM

    monkeypatch.setattr("engine.llm.load_llm", lambda settings: ScriptedLLM("Paged attention stores keys in blocks. More."))
    at = _page().run()
    at.text_area(key="review_paste").input(ARTICLE).run()
    i, _ = _term(at, "paged attention")
    at.button(key=f"ask_{i}").click().run()
    assert not at.exception
    _, paged = _term(at, "paged attention")
    assert [w.value for w in paged.warning] == [
        "Unverified (the model's words, not from your corpus): Paged attention stores keys in blocks."]
    assert not [b for b in paged.button if b.label == "Insert definition"]
    assert int(_metric(at, "Undefined terms")) >= 2  # nothing was inserted


def test_a_review_comment_with_a_remote_image_does_not_load_it(data_dir):
    store = Store(data_dir / "peerdraft.db")
    local = auth.local_user(store)
    article = store.create_article(local, "Serving notes")
    version = store.save_version(local, article.id, DRAFT)
    store.add_review(local, article.id, version.id, {"accuracy": 3},
                     [("Setup", "Nice ![t](https://tracker.example/pixel.gif?who=owner) work")])
    at = _page()
    at.session_state["article_id"] = article.id
    at.run()
    assert not at.exception
    comment = next(h.proto.body for h in at.get("html") if "tracker.example" in h.proto.body)
    assert "<img" not in comment and "not loaded" in comment and "Nice" in comment
    assert not [m.value for m in at.markdown if "tracker.example" in m.value]  # st.markdown would load it
