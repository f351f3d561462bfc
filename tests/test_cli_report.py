"""`peerdraft check --json` evaluation keys and `peerdraft report`, through the real CLI entry point."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from engine.cli import main

SOURCE_NOTE = """---
title: "LoRA: Low-Rank Adaptation of Large Language Models"
authors: ["Edward Hu", "Yelong Shen"]
year: 2021
---

# LoRA

LoRA freezes the pretrained model weights and injects trainable rank decomposition matrices into each layer of
the Transformer architecture, greatly reducing the number of trainable parameters for downstream tasks. Compared
with GPT-3 175B fine-tuned with Adam, LoRA reduces the number of trainable parameters by 10,000 times and the GPU
memory requirement by 3 times.
"""

DRAFT = """# Notes on LoRA

## What it does

LoRA freezes the pretrained model weights and injects trainable rank decomposition matrices into each layer of
the Transformer architecture, greatly reducing the number of trainable parameters [1]. LoRA cuts GPU memory by
12 times [1]. Obviously, you should simply use it everywhere.

## References

[1] Hu, Shen (2021). LoRA: Low-Rank Adaptation of Large Language Models.
"""

REFERENCE = """# LoRA

## What it does

LoRA keeps the pretrained weights frozen and learns low-rank update matrices for each layer.
"""


@pytest.fixture
def workspace(tmp_path, monkeypatch, settings, embedder):
    """A data dir with a one-document index, and the draft and reference files."""
    from engine.index import index_paths, open_index

    monkeypatch.setenv("PEERDRAFT_DATA_DIR", str(settings.data_dir))
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "lora.md").write_text(SOURCE_NOTE, encoding="utf-8")
    index = open_index(settings, embedder)
    index_paths(index, [corpus], settings)
    (tmp_path / "draft.md").write_text(DRAFT, encoding="utf-8")
    (tmp_path / "ref.md").write_text(REFERENCE, encoding="utf-8")
    return tmp_path, index.list_documents()[0].doc_id


def test_check_json_with_reference_has_the_evaluation_keys(workspace, capsys):
    folder, doc_id = workspace
    code = main(["check", str(folder / "draft.md"), "--json", "--no-suggestions", "--no-model",
                 "--sources", doc_id, "--reference", str(folder / "ref.md")])
    assert code == 0
    out = json.loads(capsys.readouterr().out)
    evaluation = out["evaluation"]
    assert {"grounding", "coverage", "reference", "perplexity", "copying", "bias"} <= set(evaluation)
    assert "jargon" in out and "readability" in out  # the other checks are still there
    grounding = evaluation["grounding"]
    assert any("12 times" in c["text"] for c in grounding["unsupported"])
    assert evaluation["reference"]["rouge1"]["fmeasure"] > 0
    assert evaluation["copying"]["spans"] and evaluation["copying"]["spans"][0]["doc_id"] == doc_id
    assert {h["text"].lower() for h in evaluation["bias"]["terms"]} >= {"obviously", "simply use"}


def test_check_json_without_reference_leaves_the_reference_section_out(workspace, capsys):
    folder, _ = workspace
    assert main(["check", str(folder / "draft.md"), "--json", "--no-suggestions", "--no-model"]) == 0
    evaluation = json.loads(capsys.readouterr().out)["evaluation"]
    assert "reference" not in evaluation and evaluation["grounding"] is not None


def test_report_writes_markdown_whose_image_links_exist(workspace, tmp_path):
    folder, doc_id = workspace
    out = tmp_path / "out" / "report.md"
    assert main(["report", str(folder / "draft.md"), "--out", str(out), "--no-model",
                 "--sources", doc_id, "--reference", str(folder / "ref.md")]) == 0
    text = out.read_text(encoding="utf-8")
    assert text.startswith("# Evaluation report: draft")
    for heading in ("## Grounding", "## Readability", "## Against the reference", "## Copying", "## Bias and safety"):
        assert heading in text
    links = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", text)
    assert links, "the report has charts"
    for link in links:
        image = out.parent / link
        assert image.is_file() and image.stat().st_size > 500


def test_report_on_a_missing_file_is_one_clear_error(tmp_path, capsys, monkeypatch, settings):
    monkeypatch.setenv("PEERDRAFT_DATA_DIR", str(settings.data_dir))
    assert main(["report", str(tmp_path / "nope.md"), "--out", str(tmp_path / "r.md")]) == 1
    assert "does not exist" in capsys.readouterr().err
