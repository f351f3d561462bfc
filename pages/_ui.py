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
