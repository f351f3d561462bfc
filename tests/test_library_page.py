"""Library and Login pages driven through Streamlit's AppTest."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from engine import auth
from engine.store import Store

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def data_dir(page_data_dir):
    return page_data_dir


def _page(name: str) -> AppTest:
    return AppTest.from_file(str(ROOT / "pages" / name), default_timeout=30)


def test_library_lists_duplicates_deletes_with_confirmation_and_restores(data_dir):
    store = Store(data_dir / "peerdraft.db")
    local = auth.local_user(store)
    article = store.create_article(local, "Attention notes")
    v1 = store.save_version(local, article.id, "one two three")
    store.save_version(local, article.id, "one two three four five")
    store.save_check_result(local, v1.id, "grounding", {"percent": 75.0})

    at = _page("library.py").run()
    assert not at.exception
    table = at.dataframe[0].value
    assert list(table["Title"]) == ["Attention notes"] and list(table["Words"]) == [5]
    assert list(table["Grounding %"]) == [75.0]
    assert "version 1" in at.get("html")[0].proto.body  # diff of the two versions

    at.button(key="duplicate").click().run()
    assert sorted(at.dataframe[0].value["Title"]) == ["Attention notes", "Attention notes (copy)"]

    at.selectbox(key="library_article").select(article.id).run()
    at.button(key="delete").click().run()
    assert any("Delete “Attention notes”" in w.value for w in at.warning)
    assert len(store.list_articles(local)) == 2  # nothing deleted before confirming
    at.button(key="confirm_delete").click().run()
    assert [a.title for a in store.list_articles(local)] == ["Attention notes (copy)"]
    at.button(key=f"undelete_{article.id}").click().run()
    assert len(store.list_articles(local)) == 2


def test_restoring_an_old_version_makes_it_the_latest(data_dir):
    store = Store(data_dir / "peerdraft.db")
    local = auth.local_user(store)
    article = store.create_article(local, "A")
    store.save_version(local, article.id, "first")
    store.save_version(local, article.id, "second")
    at = _page("library.py").run()
    at.selectbox(key="restore_pick").select(1).run()
    at.button(key="restore_version").click().run()
    assert not at.exception
    assert store.latest_version(local, article.id).markdown == "first"


def test_team_library_shows_only_own_and_shared_articles(data_dir, monkeypatch):
    monkeypatch.setenv("PEERDRAFT_MODE", "team")
    store = Store(data_dir / "peerdraft.db")
    alice, bob = store.insert_user("alice", "writer"), store.insert_user("bob", "writer")
    store.create_article(alice, "Alice private")
    store.create_article(bob, "Bob's own")
    at = _page("library.py")
    at.run()
    assert any("sign in" in w.value.lower() for w in at.warning)  # nobody signed in: nothing listed
    at.session_state["user_id"] = bob.id
    at.run()
    assert list(at.dataframe[0].value["Title"]) == ["Bob's own"]


def test_login_page_signs_in_rejects_bad_passwords_and_reports_lockout(data_dir, monkeypatch):
    monkeypatch.setenv("PEERDRAFT_MODE", "team")
    store = Store(data_dir / "peerdraft.db")
    auth.add_user(store, None, "alice", "writer", "alice-password")
    at = _page("login.py").run()
    at.text_input(key="login_name").input("alice")
    at.text_input(key="login_password").input("wrong-password")
    at.button[0].click().run()
    assert "Wrong user name or password" in at.error[0].value
    at.text_input(key="login_password").input("alice-password")
    at.button[0].click().run()
    assert at.session_state["user_id"] == store.user_by_name("alice").id
    assert any("Signed in as alice" in s.value for s in at.success)
    at.button(key="sign_out_login").click().run()
    assert "user_id" not in at.session_state

    for _ in range(auth.MAX_FAILURES):
        at.text_input(key="login_name").input("alice")
        at.text_input(key="login_password").input("guess-guess")
        at.button[0].click().run()
    at.text_input(key="login_password").input("alice-password")
    at.button[0].click().run()
    assert "Locked" in at.error[0].value and "user_id" not in at.session_state
