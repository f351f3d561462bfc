"""A team instance with something to steal: writers ana and ben, reviewer rita, an admin, the bundled notes
indexed, and ana's private upload (with numbers, a distinctive title and metadata) in the same index.

Every test here plays one role against another user's private material and fails if any of it comes back.
"""

from __future__ import annotations

import shutil

import pytest

from security_team import PASSWORD, REPO, SECRET_ARTICLE_TEXT, SECRET_ARTICLE_TITLE, SECRET_PAPER


@pytest.fixture(scope="session")
def team_template(tmp_path_factory, session_settings, default_index, embedder):
    """A data directory (database + index) built once; tests get a copy."""
    from engine import auth
    from engine.index import index_uploads, open_index
    from engine.settings import load_settings
    from engine.store import Store

    data = tmp_path_factory.mktemp("team") / "data"
    data.mkdir()
    shutil.copytree(session_settings.index_dir, data / "index")
    settings = load_settings(env={"PEERDRAFT_DATA_DIR": str(data)}, toml_path=data / "none.toml")
    index = open_index(settings, embedder)
    report = index_uploads(index, [("quokka.md", SECRET_PAPER.encode())], settings, owner="ana")
    assert report.documents, report.outcomes
    store = Store(data / "peerdraft.db")
    for name, role in (("ana", "writer"), ("ben", "writer"), ("rita", "reviewer"), ("root", "admin")):
        auth.add_user(store, None, name, role, PASSWORD)
    ana = store.user_by_name("ana")
    article = store.create_article(ana, SECRET_ARTICLE_TITLE)
    store.save_version(ana, article.id, f"# {SECRET_ARTICLE_TITLE}\n\n{SECRET_ARTICLE_TEXT}\n")
    store.close()
    return data, report.documents[0].document.doc_id


@pytest.fixture
def team(team_template, tmp_path, monkeypatch):
    """(data dir, ana's private doc id) for this test, with the app's environment pointing at it."""
    import streamlit as st

    template, doc_id = team_template
    data = tmp_path / "data"
    shutil.copytree(template, data)
    for name, value in {"PEERDRAFT_DATA_DIR": str(data), "PEERDRAFT_CONFIG": str(tmp_path / "none.toml"),
                        "PEERDRAFT_MODE": "team", "PEERDRAFT_METRICS_PORT": "0",
                        "PEERDRAFT_LLM_PROFILE": "small"}.items():
        monkeypatch.setenv(name, value)
    monkeypatch.chdir(REPO)
    st.cache_resource.clear()
    yield data, doc_id
    st.cache_resource.clear()
