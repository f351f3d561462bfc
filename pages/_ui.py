"""Shared UI glue for the pages: cached engine handles and small widgets (no engine logic here)."""

from __future__ import annotations

import streamlit as st

from engine.errors import PeerDraftError
from engine.events import Event
from engine.settings import Settings, load_settings


@st.cache_resource(show_spinner=False)
def get_settings() -> Settings:
    """Settings, built once per server process."""
    return load_settings()


@st.cache_resource(show_spinner="Loading the language model…")
def get_llm(_settings: Settings):
    """The configured LLM, shared by every session (backends lock around generation)."""
    from engine.llm import load_llm

    return load_llm(_settings)


def llm_or_error(settings: Settings):
    """The LLM, or None with a clear message: the rest of the app stays usable."""
    try:
        return get_llm(settings)
    except PeerDraftError as exc:
        st.error(f"The language model is unavailable: {exc}")
        return None


def progress_reporter(container):
    """An engine `on_event` callback that drives an st.progress bar inside `container`."""
    bar = container.progress(0.0, text="Starting…")

    def on_event(event: Event) -> None:
        fraction = event.fraction
        bar.progress(fraction if fraction is not None else 0.0, text=event.message)

    return on_event


# ---- workspace and accounts (Library/Login helper) -------------------------------------------
@st.cache_resource(show_spinner=False)
def get_store():
    """The workspace database, opened once per server process (first start: admin from env, purge old deletes)."""
    import os

    from engine import auth
    from engine.store import Store

    settings = get_settings()
    store = Store(settings.db_path)
    if settings.mode == "team":
        try:
            auth.bootstrap_admin(store, os.environ)
        except PeerDraftError as exc:  # the sign-in page names it (auth.team_setup_problem); the app keeps running
            import logging

            logging.getLogger("peerdraft.auth").error("first admin not created: %s", exc)
    store.purge_deleted()
    return store


def current_user():
    """The signed-in `User` (local mode: the implicit local user), or None in team mode before login."""
    from engine import auth, metrics
    from engine.errors import NotFound

    store = get_store()
    if get_settings().mode != "team":
        return auth.local_user(store)
    user_id = st.session_state.get("user_id")
    if user_id is None:
        return None
    try:
        user = store.user_by_id(user_id)
    except NotFound:
        user = None
    if user is None or user.disabled:
        sign_out()
        return None
    metrics.note_active_user(user.name)
    return user


def require_user():
    """The current user; otherwise a sign-in prompt and the page stops."""
    user = current_user()
    if user is None:
        st.warning("Please sign in first.")
        st.page_link("pages/login.py", label="Sign in", icon=":material/login:")
        st.stop()
    return user


def sign_in(user) -> None:
    """Start this browser session afresh for `user`: nothing a previous user left in it carries over."""
    _forget_session()
    st.session_state["user_id"] = user.id


def sign_out() -> None:
    """Forget everything this browser session held: who is signed in, the open article, brief, outline,
    editor text, evidence cards and review state (the next person at this browser starts from nothing).

    The editor's unsaved text is saved into the open article first, so signing out loses nothing."""
    from pages._write_parts import keep_unsaved_work

    user_id = st.session_state.get("user_id")
    if user_id is not None:
        try:
            user = get_store().user_by_id(user_id)
            if not user.disabled:
                keep_unsaved_work(get_store(), user)
        except PeerDraftError as exc:  # e.g. the account was disabled meanwhile: nothing may be saved
            import logging

            logging.getLogger("peerdraft.ui").warning("unsaved edits not kept at sign-out: %s", exc)
    _forget_session()


def _forget_session() -> None:
    # Every page keeps per-user work in session state (write.py, _write_parts.py, review.py); clearing
    # all of it, instead of a list of keys, means a key added later cannot leak to the next user.
    for key in list(st.session_state.keys()):
        del st.session_state[key]


def sign_out_button(container=None, key: str = "sign_out") -> None:
    """A 'Sign out' button (team mode, signed in); reruns the app signed out."""
    user = current_user() if get_settings().mode == "team" else None
    if user is None:
        return
    area = container or st.sidebar
    area.caption(f"Signed in as **{user.name}** ({user.role})")
    if area.button("Sign out", key=key, icon=":material/logout:"):
        sign_out()
        st.rerun()


# ---- team instance services ---------------------------------------------------------------------
@st.cache_resource(show_spinner=False)
def start_team_services(_settings: Settings) -> int:
    """Structured (redacting) logs and the Prometheus endpoint, started once per server process."""
    from engine.logs import setup_logging
    from engine.metrics import start_metrics_server

    setup_logging()
    try:
        return start_metrics_server(_settings.metrics_port, _settings.metrics_host)
    except OSError as exc:  # a busy port must not take the app down: metrics are optional
        import logging

        logging.getLogger("peerdraft.metrics").warning(
            "metrics endpoint not started on port %s (%s); set PEERDRAFT_METRICS_PORT", _settings.metrics_port, exc)
        return 0


# ---- corpus index (Corpus page helper) -----------------------------------------------------------
def get_embedder(settings: Settings):
    """The configured embedding model, shared by every session (one per model name)."""
    return _cached_embedder(settings.embedding_model, settings)


@st.cache_resource(show_spinner="Loading the embedding model…")
def _cached_embedder(embedding_model: str, _settings: Settings):
    from engine.embed import load_embedder

    return load_embedder(_settings)


def get_index(settings: Settings):
    """The corpus index, shared by every session (it locks around changes); one per index folder and model."""
    return _cached_index(str(settings.index_dir), settings.embedding_model, settings)


# The key arguments are what the handle depends on: Settings itself is not hashed (leading underscore), so
# without them another data directory or embedding model would get the first one's index.
@st.cache_resource(show_spinner="Opening the corpus index…")
def _cached_index(index_dir: str, embedding_model: str, _settings: Settings):
    from engine.index import open_index

    return open_index(_settings, get_embedder(_settings))


def corpus_index(settings: Settings):
    """The index; the first start indexes the bundled corpus with a progress bar. None (and an error) if unusable."""
    from engine.index import has_index, seed_default_corpus

    try:
        index = get_index(settings)
    except PeerDraftError as exc:
        st.error(str(exc))
        return None
    if index.recovered and st.session_state.get("index_recovery_seen") != index.recovered:
        st.session_state["index_recovery_seen"] = index.recovered  # said once per browser session
        st.warning(index.recovered, icon=":material/restore:")
    if not has_index(index.directory):
        with st.status("Indexing the bundled reference corpus (first start)…", expanded=True) as status:
            seed_default_corpus(index, settings, progress_reporter(status))
            status.update(label="Reference corpus indexed", state="complete", expanded=False)
    elif index.refresh():  # e.g. `peerdraft index` ran beside the app
        st.toast("The corpus changed on disk; its latest version is loaded.")
    return index
