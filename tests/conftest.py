"""Shared fixtures: settings in a tmp data dir, the real embedded embedder and LLMs (session-scoped)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
# Tests build their own Settings; a developer's environment must not leak into them.
for _name in [n for n in os.environ if n.startswith("PEERDRAFT_")]:
    del os.environ[_name]
# Plumbing tests draft with the small real model (SmolLM2-135M, fast); the tests that judge writing load the
# default Qwen2.5-Coder-1.5B through the `writer_llm` fixture. CLI and app runs inherit this variable.
SMALL_PROFILE = {"PEERDRAFT_LLM_PROFILE": "small"}
os.environ.update(SMALL_PROFILE)

from engine.settings import Settings, load_settings  # noqa: E402

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch) -> Path:
    """A fresh data directory that every PeerDraft entry point (CLI, app) in this test uses."""
    data = tmp_path / "data"
    monkeypatch.setenv("PEERDRAFT_DATA_DIR", str(data))
    monkeypatch.setenv("PEERDRAFT_CONFIG", str(tmp_path / "none.toml"))
    return data


@pytest.fixture
def page_data_dir(data_dir: Path, monkeypatch):
    """`data_dir` for AppTest runs of single pages: repo as cwd and import root, Streamlit caches cleared."""
    import streamlit as st

    monkeypatch.chdir(REPO)
    monkeypatch.syspath_prepend(str(REPO))  # pages import pages._ui, as under `streamlit run app.py`
    st.cache_resource.clear()
    yield data_dir
    st.cache_resource.clear()


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """Default settings with the data directory in tmp_path (no peerdraft.toml)."""
    return load_settings(env={"PEERDRAFT_DATA_DIR": str(tmp_path / "data"), **SMALL_PROFILE},
                         toml_path=tmp_path / "none.toml")


@pytest.fixture(scope="session")
def session_settings(tmp_path_factory) -> Settings:
    data = tmp_path_factory.mktemp("session-data")
    return load_settings(env={"PEERDRAFT_DATA_DIR": str(data), **SMALL_PROFILE}, toml_path=data / "none.toml")


@pytest.fixture(scope="session")
def embedder(session_settings):
    """The real embedded all-MiniLM-L6-v2, loaded once."""
    from engine.embed import load_embedder

    return load_embedder(session_settings)


@pytest.fixture(scope="session")
def llama_llm(session_settings):
    """The real embedded SmolLM2-135M through llama.cpp, loaded once."""
    from engine.llm.llamacpp import LlamaCppLLM

    return LlamaCppLLM(session_settings)


@pytest.fixture(scope="session")
def writer_llm(session_settings):
    """The real default drafting model, Qwen2.5-Coder-1.5B-Instruct (Q4_K_M) through llama.cpp, loaded once."""
    from engine.llm.llamacpp import LlamaCppLLM

    return LlamaCppLLM(session_settings.with_values(llm_profile="default"))


@pytest.fixture(scope="session")
def hf_llm(session_settings):
    """The real embedded SmolLM2-135M through transformers (bf16 on CPU), loaded once."""
    from engine.llm.hf import TransformersLLM

    return TransformersLLM(session_settings.with_values(llm_backend="transformers"))


@pytest.fixture(scope="session")
def fp32_reference_llm(tmp_path_factory):
    """transformers' own generate() on the embedded model in float32: the reference the faster
    CPU paths (int4, int8, the lean decoder, compile) must reproduce."""
    from engine.llm.hf import TransformersLLM

    folder = tmp_path_factory.mktemp("fp32")
    env = {"PEERDRAFT_DATA_DIR": str(folder / "data"), "PEERDRAFT_LLM_BACKEND": "transformers", **SMALL_PROFILE,
           "PEERDRAFT_QUANTIZATION": "none", "PEERDRAFT_DTYPE": "float32", "PEERDRAFT_LEAN_DECODE": "false"}
    llm = TransformersLLM(load_settings(env=env, toml_path=folder / "absent.toml"))
    assert llm.decoder is None and llm.model is not None
    return llm


@pytest.fixture(scope="session")
def default_index(session_settings, embedder):
    """The bundled corpus/ notes indexed once per test session (drafting and page tests share it)."""
    from engine.index import ensure_default_corpus

    return ensure_default_corpus(session_settings, embedder=embedder)
