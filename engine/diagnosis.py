"""Diagnosis of an installation: device, which backend and model would load, optional tools, data, what is missing.

The `peerdraft doctor` verb prints it; the Settings page shows it.
"""

from __future__ import annotations

import importlib.util
import shutil
import sqlite3

from engine.bundled_models import describe_llm, embedded_embedder_dir, profile_llm
from engine.errors import PeerDraftError
from engine.llm import cuda_available, llama_cpp_available, resolve_backend
from engine.settings import Settings


def diagnose(settings: Settings) -> tuple[list[tuple[str, str]], list[str]]:
    """(facts as (name, value) rows, problems as sentences that name the fix)."""
    facts: list[tuple[str, str]] = []
    problems: list[str] = []
    facts.append(("device", "cuda" if cuda_available() else "cpu"))
    backend = resolve_backend(settings)
    facts.append(("llm backend", f"{backend} (setting: {settings.llm_backend})"))
    facts.append(("llama-cpp-python", "installed" if llama_cpp_available() else "not installed"))
    facts.append(("bitsandbytes", "installed" if importlib.util.find_spec("bitsandbytes") else "not installed"))
    if backend == "llama-cpp" and not llama_cpp_available():
        problems.append("The llama-cpp backend is selected but llama-cpp-python is not installed: "
                        "pip install 'peerdraft[llama]' or set PEERDRAFT_LLM_BACKEND=transformers.")
    if settings.quantization == "nf4" and not importlib.util.find_spec("bitsandbytes"):
        problems.append("PEERDRAFT_QUANTIZATION=nf4 needs bitsandbytes: pip install 'peerdraft[gpu]'.")
    model, why = describe_llm(settings)
    facts.append(("llm model", model))
    facts.append(("llm model chosen by", why))
    if backend != "openai-compatible" and not settings.llm_model:
        try:
            facts.append(("llm model file", str(profile_llm(settings.llm_profile).path)))
        except PeerDraftError as exc:
            problems.append(str(exc))
    if settings.embedding_model:
        facts.append(("embedding model", settings.embedding_model))
    else:
        try:
            facts.append(("embedding model", f"embedded all-MiniLM-L6-v2: {embedded_embedder_dir()}"))
        except PeerDraftError as exc:
            problems.append(str(exc))
    # Optional programs: without them the app runs, and those exports say how to install them.
    from engine import publish
    from engine.diagrams import chromium_path

    facts.append(("chromium (diagrams, PDF export)", chromium_path() or publish.missing_tool("pdf") or ""))
    facts.append(("pandoc (DOCX export)", shutil.which("pandoc") or publish.missing_tool("docx") or ""))
    facts.append(("data dir", str(settings.data_dir.resolve())))
    if settings.db_path.exists():
        try:
            with sqlite3.connect(f"file:{settings.db_path}?mode=ro", uri=True) as db:
                status = db.execute("PRAGMA quick_check").fetchone()[0]
            facts.append(("database", f"{settings.db_path} ({status})"))
            if status != "ok":
                problems.append(f"The database {settings.db_path} failed its integrity check: {status}. "
                                "Restore a backup with 'peerdraft restore PATH'.")
        except sqlite3.Error as exc:
            problems.append(f"The database {settings.db_path} cannot be read ({exc}). "
                            "Restore a backup with 'peerdraft restore PATH'.")
    else:
        facts.append(("database", "not created yet (made on first start)"))
    facts.append(("index", "present" if settings.index_dir.exists() else "not built yet (run 'peerdraft index')"))
    return facts, problems
