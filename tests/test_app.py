"""The app starts and every page renders without an exception (Streamlit AppTest, no browser)."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

PAGES = ["pages/write.py", "pages/review.py", "pages/corpus.py", "pages/library.py", "pages/settings.py"]


@pytest.fixture
def app_env(tmp_path, monkeypatch):
    monkeypatch.setenv("PEERDRAFT_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("PEERDRAFT_CONFIG", str(tmp_path / "absent.toml"))
    monkeypatch.chdir(REPO)
    return tmp_path


def _fresh_app() -> AppTest:
    at = AppTest.from_file(str(REPO / "app.py"), default_timeout=600)
    # Cached resources (settings, store, index) are per process: clear them so each test sees its env.
    import streamlit as st

    st.cache_resource.clear()
    return at


def test_app_starts_on_the_write_page(app_env):
    at = _fresh_app().run()
    assert not at.exception, at.exception
    assert any("Write" in t.value for t in at.title)


@pytest.mark.parametrize("page", PAGES)
def test_every_page_renders_without_exception(app_env, page):
    at = _fresh_app().run()
    at.switch_page(page).run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.title, f"{page} rendered no title"


def test_settings_page_shows_effective_values_and_their_sources(app_env, monkeypatch):
    monkeypatch.setenv("PEERDRAFT_MAX_NEW_TOKENS", "77")
    at = _fresh_app().run()
    at.switch_page("pages/settings.py").run()
    table = at.dataframe[0].value
    row = table[table["setting"] == "max_new_tokens"].iloc[0]
    assert row["value"] == "77" and row["source"] == "env PEERDRAFT_MAX_NEW_TOKENS"


def test_settings_page_says_which_model_drafts_and_why(app_env, monkeypatch):
    at = _fresh_app().run()
    at.switch_page("pages/settings.py").run()
    shown = at.info[0].value  # conftest selects the small profile through the environment
    assert "SmolLM2-135M-Instruct" in shown and "llm_profile 'small' (env PEERDRAFT_LLM_PROFILE)" in shown
    monkeypatch.setenv("PEERDRAFT_LLM_PROFILE", "default")
    at = _fresh_app().run()
    at.switch_page("pages/settings.py").run()
    assert "Qwen2.5-Coder-1.5B-Instruct" in at.info[0].value and "the model that writes" in at.info[0].value


def test_team_mode_shows_only_the_sign_in_page_until_login(app_env, monkeypatch):
    monkeypatch.setenv("PEERDRAFT_MODE", "team")
    monkeypatch.setenv("PEERDRAFT_METRICS_PORT", "0")  # any free port
    at = _fresh_app().run()
    assert not at.exception
    assert [t.value for t in at.title] == ["Sign in"]
    assert at.text_input(key="login_name") is not None
