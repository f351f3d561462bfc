"""The Write page through AppTest: brief → outline → evidence → draft of one section → save."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from fakes_drafting import ScriptedLLM

REPO = Path(__file__).resolve().parents[1]
REPLY = ("LoRA freezes the pre-trained weights and learns the weight update as a product of two thin matrices [1]. "
         "LoRA was invented in 1987 by Geoffrey Hinton at Bell Labs [1].")


@pytest.fixture
def app_env(monkeypatch, tmp_path, session_settings, default_index):
    """A fresh data dir holding a copy of the session's default index; Streamlit caches cleared."""
    import streamlit as st

    shutil.copytree(session_settings.index_dir, tmp_path / "index")
    monkeypatch.setenv("PEERDRAFT_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("PEERDRAFT_CONFIG", str(tmp_path / "none.toml"))
    monkeypatch.setenv("PEERDRAFT_TEMPERATURE", "0")
    monkeypatch.setenv("PEERDRAFT_MAX_NEW_TOKENS", "100")
    st.cache_resource.clear()
    yield tmp_path
    st.cache_resource.clear()


def walk_to_one_drafted_section(topic: str):
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(REPO / "app.py"), default_timeout=300)
    at.run()
    at.switch_page("pages/write.py")
    at.run()
    assert not at.exception
    at.text_input(key="topic").input(topic)
    next(b for b in at.button if b.label == "Plan outline").click()
    at.run()
    assert not at.exception
    outline = at.session_state["outline"]
    assert outline.sections[0].heading == "What you will learn" and len(outline.sections) >= 6
    core = next(n for n, s in enumerate(outline.sections) if "LoRA" in s.heading)
    at.selectbox(key="section_choice").set_value(core)
    at.run()
    cards = at.session_state["cards"][core]
    assert cards and any(cards[0].passage.title in m.value for m in at.markdown)
    at.button(key="draft_section").click()
    at.run()
    assert not at.exception
    return at, core


def test_write_page_plans_drafts_one_section_and_saves(app_env, monkeypatch):
    monkeypatch.setattr("engine.llm.load_llm", lambda settings: ScriptedLLM(REPLY))
    at, core = walk_to_one_drafted_section("LoRA low-rank adaptation")
    drafted = at.session_state["drafted"][core]
    assert "Hinton" not in drafted.markdown  # strict mode is on by default
    assert any(c.status == "replaced" for c in drafted.report.sentences)
    article = at.text_area(key="article_md").value
    assert drafted.markdown.split(" [")[0] in article and "## References" in article
    at.button(key="save").click()
    at.run()
    assert not at.exception

    from engine.auth import local_user
    from engine.store import Store

    store = Store(app_env / "peerdraft.db")
    user = local_user(store)
    versions = store.list_versions(user, at.session_state["article_id"])
    assert versions and "## References" in versions[0].markdown


@pytest.mark.model
def test_write_page_drafts_one_section_with_the_bundled_model(app_env):
    at, core = walk_to_one_drafted_section("Low-rank adaptation (LoRA) for fine-tuning language models")
    drafted = at.session_state["drafted"][core]
    assert drafted.markdown and drafted.generation.new_tokens > 0
    assert all(c.status in ("supported", "replaced", "no_claim") for c in drafted.report.sentences)
