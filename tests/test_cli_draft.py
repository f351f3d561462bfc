"""`peerdraft draft` through the real CLI entry point."""

from __future__ import annotations

import json

import pytest
from fakes_drafting import ScriptedLLM

from engine.cli import main

REPLY = ("LoRA freezes the pre-trained weights and learns a low-rank update BA [1]. "
         "LoRA was invented in 1987 by Geoffrey Hinton at Bell Labs [1].")


@pytest.fixture
def corpus_env(monkeypatch, session_settings, default_index):
    """PEERDRAFT_* pointing at the session's already-built default index (no re-embedding)."""
    monkeypatch.setenv("PEERDRAFT_DATA_DIR", str(session_settings.data_dir))
    monkeypatch.setenv("PEERDRAFT_CONFIG", str(session_settings.data_dir / "none.toml"))
    monkeypatch.setenv("PEERDRAFT_TEMPERATURE", "0")


@pytest.fixture
def scripted(monkeypatch):
    llm = ScriptedLLM(REPLY)
    monkeypatch.setattr("engine.llm.load_llm", lambda settings: llm)
    return llm


def test_draft_writes_markdown_with_references_and_strict_removes_fabrication(corpus_env, scripted, tmp_path,
                                                                              capsys):
    out = tmp_path / "article.md"
    code = main(["draft", "--topic", "LoRA low-rank adaptation", "--audience", "ML engineers", "--sections", "2",
                 "--length", "200", "--out", str(out)])
    assert code == 0
    text = out.read_text()
    assert text.startswith("# LoRA low-rank adaptation") and "\n## References\n" in text
    assert "Hinton" not in text
    assert "Wrote" in capsys.readouterr().err


def test_no_strict_json_reports_the_flag_and_scores(corpus_env, scripted, capsys):
    code = main(["draft", "--topic", "LoRA low-rank adaptation", "--sections", "1", "--no-strict", "--json"])
    assert code == 0
    captured = capsys.readouterr()
    data = json.loads(captured.out)  # stdout holds the JSON only; progress went to stderr
    assert data["strict"] is False and len(data["outline"]) == 1
    section = data["sections"][0]
    assert section["citations"] and section["evidence"]
    flagged = [s for s in section["sentences"] if "Hinton" in s["text"]]
    assert flagged and flagged[0]["status"] == "unsupported" and flagged[0]["score"] is not None
    assert "Hinton" in section["text"]
    assert "draft" in captured.err  # tqdm progress


def test_bad_length_is_refused_with_a_clear_message(corpus_env, scripted, capsys):
    assert main(["draft", "--topic", "x", "--length", "0"]) == 2
    assert "--length" in capsys.readouterr().err


@pytest.mark.model
def test_draft_with_the_bundled_model_prints_outline_sections_citations_and_checks(corpus_env, capsys):
    code = main(["draft", "--topic", "Low-rank adaptation (LoRA) for fine-tuning", "--sections", "2",
                 "--length", "150", "--json"])
    assert code == 0
    data = json.loads(capsys.readouterr().out)
    assert len(data["outline"]) == 2 and len(data["sections"]) == 2
    for section in data["sections"]:
        assert section["text"] and section["generation"]["new_tokens"] > 0
        numbers = {c["number"] for c in section["citations"]}
        assert all(set(s["citations"]) <= numbers for s in section["sentences"])
        assert all(s["status"] in ("supported", "replaced", "no_claim") for s in section["sentences"])
    assert data["references"] and "## References" in data["markdown"]
