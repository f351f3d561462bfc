"""Review page driven through Streamlit's AppTest: pasted drafts, articles, reviews, evaluation."""

from __future__ import annotations

from pathlib import Path

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from engine import auth
from engine.store import Store

ROOT = Path(__file__).resolve().parents[1]
DRAFT = """# Serving small models

## Background

We serve the model with vLLM behind a gateway. The scheduler batches requests that arrive within a short window so the
accelerator stays busy, and it evicts finished sequences from the cache as soon as they are complete, which in
practice keeps the latency of short requests low even when long requests are running at the same time.

## Setup

Set up a master/slave pair and simply run the script.
"""


@pytest.fixture
def data_dir(tmp_path, monkeypatch):
    data = tmp_path / "data"
    monkeypatch.setenv("PEERDRAFT_DATA_DIR", str(data))
    monkeypatch.setenv("PEERDRAFT_CONFIG", str(tmp_path / "none.toml"))
    monkeypatch.chdir(ROOT)
    monkeypatch.syspath_prepend(str(ROOT))  # pages import pages._ui, as under `streamlit run app.py`
    st.cache_resource.clear()
    yield data
    st.cache_resource.clear()


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
    assert "<mark" in body and "vLLM" in body
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
