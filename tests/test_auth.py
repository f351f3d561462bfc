"""Accounts: hashed passwords, login lockout, the bootstrap admin, the local user."""

from __future__ import annotations

import pytest
from argon2 import PasswordHasher

from engine import auth
from engine.errors import AccessDenied, PeerDraftError
from engine.settings import Settings
from engine.store import Store


@pytest.fixture(autouse=True)
def cheap_hashes(monkeypatch, request):
    """Fast argon2 parameters, except where a test checks the production ones."""
    if "production_hash" not in request.node.name:
        monkeypatch.setattr(auth, "_hasher", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))


@pytest.fixture
def store(tmp_path):
    s = Store(tmp_path / "peerdraft.db")
    yield s
    s.close()


def test_password_is_stored_as_production_hash_argon2id_not_plain_text(store):
    auth.add_user(store, None, "alice", "writer", "correct horse")
    stored = store.password_hash("alice")
    assert stored.startswith("$argon2id$v=19$m=65536,t=3,p=4$") and "correct horse" not in stored
    assert auth.authenticate(store, "alice", "correct horse").name == "alice"


def test_wrong_password_and_unknown_user_fail_alike(store):
    auth.add_user(store, None, "alice", "writer", "correct horse")
    with pytest.raises(auth.LoginFailed) as wrong:
        auth.authenticate(store, "alice", "wrong password")
    with pytest.raises(auth.LoginFailed) as unknown:
        auth.authenticate(store, "mallory", "wrong password")
    assert wrong.value.reason == unknown.value.reason


def test_login_locks_after_repeated_failures_even_with_the_right_password(store):
    auth.add_user(store, None, "alice", "writer", "correct horse")
    now = 1_000_000.0
    for i in range(auth.MAX_FAILURES):
        with pytest.raises(auth.LoginFailed):
            auth.authenticate(store, "alice", "guess", now=now + i)
    with pytest.raises(auth.LockedOut) as locked:
        auth.authenticate(store, "alice", "correct horse", now=now + 10)
    assert locked.value.retry_after_s > 0 and "Try again" in str(locked.value)
    later = now + auth.MAX_FAILURES + auth.LOCKOUT_S + 1
    assert auth.authenticate(store, "alice", "correct horse", now=later).name == "alice"


def test_parallel_guesses_cannot_outrun_the_lockout(store, monkeypatch):
    """Eight guesses at once after MAX_FAILURES - 1 failures: one is checked, the other seven are locked out."""
    import threading
    import time

    auth.add_user(store, None, "alice", "writer", "correct horse")
    now = 1_000_000.0
    for i in range(auth.MAX_FAILURES - 1):
        with pytest.raises(auth.LoginFailed):
            auth.authenticate(store, "alice", "guess", now=now + i)
    real_verify = auth.verify_password

    def slow_verify(password_hash, password):  # production argon2 takes this long: the window a race needs
        time.sleep(0.2)
        return real_verify(password_hash, password)

    monkeypatch.setattr(auth, "verify_password", slow_verify)
    start, outcomes = threading.Barrier(8), []

    def guess(n: int) -> None:
        start.wait()
        try:
            auth.authenticate(store, "alice", f"guess-{n}", now=now + 10)
        except auth.LockedOut:
            outcomes.append("locked")
        except auth.LoginFailed:
            outcomes.append("checked")

    threads = [threading.Thread(target=guess, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["checked"] + ["locked"] * 7
    failures = [a for a in store.login_attempts_since("alice", 0) if not a[1]]
    assert len(failures) == auth.MAX_FAILURES
    with pytest.raises(auth.LockedOut):
        auth.authenticate(store, "alice", "correct horse", now=now + 11)


def test_lockout_is_stored_in_the_database_and_survives_a_restart(tmp_path):
    path = tmp_path / "db.sqlite"
    first = Store(path)
    auth.add_user(first, None, "alice", "writer", "correct horse")
    for i in range(auth.MAX_FAILURES):
        with pytest.raises(auth.LoginFailed):
            auth.authenticate(first, "alice", "guess", now=100.0 + i)
    first.close()
    with pytest.raises(auth.LockedOut):
        auth.authenticate(Store(path), "alice", "correct horse", now=110.0)


def test_a_success_resets_the_failure_count(store):
    auth.add_user(store, None, "alice", "writer", "correct horse")
    for i in range(auth.MAX_FAILURES - 1):
        with pytest.raises(auth.LoginFailed):
            auth.authenticate(store, "alice", "guess", now=100.0 + i)
    auth.authenticate(store, "alice", "correct horse", now=110.0)
    with pytest.raises(auth.LoginFailed):
        auth.authenticate(store, "alice", "guess", now=111.0)
    assert auth.authenticate(store, "alice", "correct horse", now=112.0).name == "alice"


def test_first_start_creates_the_admin_from_environment_once(store):
    env = {"PEERDRAFT_ADMIN_USER": "root", "PEERDRAFT_ADMIN_PASSWORD": "s3cret-pass"}
    admin = auth.bootstrap_admin(store, env)
    assert admin.role == "admin"
    assert auth.bootstrap_admin(store, {**env, "PEERDRAFT_ADMIN_USER": "other"}) is None
    assert [u.name for u in store.list_users()] == ["root"]
    assert auth.team_setup_problem(Settings(mode="team"), store) is None


def test_team_instance_without_admin_says_how_to_create_one(store):
    assert "PEERDRAFT_ADMIN_USER" in auth.team_setup_problem(Settings(mode="team"), store)
    assert auth.bootstrap_admin(store, {}) is None


def test_a_short_admin_password_in_the_environment_is_named_with_the_fix(store):
    env = {"PEERDRAFT_ADMIN_USER": "root", "PEERDRAFT_ADMIN_PASSWORD": "short"}
    with pytest.raises(PeerDraftError, match="PEERDRAFT_ADMIN_PASSWORD has 5 characters"):
        auth.bootstrap_admin(store, env)
    problem = auth.team_setup_problem(Settings(mode="team"), store, env)
    assert "PEERDRAFT_ADMIN_PASSWORD has 5 characters" in problem and "at least 8" in problem
    assert store.count_users() == 0


def test_a_short_admin_password_shows_on_the_sign_in_page_not_a_crash(tmp_path, monkeypatch):
    from streamlit.testing.v1 import AppTest

    import streamlit as st

    root = __import__("pathlib").Path(__file__).resolve().parents[1]
    monkeypatch.chdir(root)
    for name, value in {"PEERDRAFT_DATA_DIR": str(tmp_path / "data"), "PEERDRAFT_CONFIG": str(tmp_path / "x.toml"),
                        "PEERDRAFT_MODE": "team", "PEERDRAFT_METRICS_PORT": "0", "PEERDRAFT_ADMIN_USER": "root",
                        "PEERDRAFT_ADMIN_PASSWORD": "short"}.items():
        monkeypatch.setenv(name, value)
    st.cache_resource.clear()
    at = AppTest.from_file(str(root / "app.py"), default_timeout=120).run()
    st.cache_resource.clear()
    assert not at.exception, [e.value for e in at.exception]
    assert any("PEERDRAFT_ADMIN_PASSWORD has 5 characters" in w.value for w in at.warning)


def test_only_admins_add_users_and_users_change_only_their_own_password(store):
    admin = auth.add_user(store, None, "root", "admin", "admin-pass")
    writer = auth.add_user(store, admin, "alice", "writer", "alice-pass")
    with pytest.raises(AccessDenied):
        auth.add_user(store, writer, "bob", "writer", "bob-passw")
    with pytest.raises(AccessDenied):
        auth.change_password(store, writer, "root", "taken-over")
    auth.change_password(store, writer, "alice", "new-alice-pass")
    assert auth.authenticate(store, "alice", "new-alice-pass").name == "alice"
    with pytest.raises(PeerDraftError, match="at least"):
        auth.add_user(store, admin, "carol", "writer", "short")


def test_local_user_is_an_admin_writer_that_cannot_log_in(store):
    local = auth.local_user(store)
    assert local.can_write and local.is_admin
    assert auth.local_user(store).id == local.id
    with pytest.raises(auth.LoginFailed):
        auth.authenticate(store, "local", "")
