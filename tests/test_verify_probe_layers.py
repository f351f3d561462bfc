"""bench/verify_probe_layers.py: reading a middle layer of the drafting model, and the reviewed-sentence set."""

from __future__ import annotations

import hashlib
import importlib.util
import json
from pathlib import Path

import numpy as np
import pytest

from engine.bundled_models import profile_llm
from engine.verify import judge as judge_mod

_SPEC = importlib.util.spec_from_file_location("bench_verify_probe_layers",
                                               Path(__file__).resolve().parents[1] / "bench" / "verify_probe_layers.py")
layers_bench = importlib.util.module_from_spec(_SPEC)
_SPEC.loader.exec_module(layers_bench)


def test_reviewed_sentences_carry_their_cited_chunks_and_the_readers_verdict(tmp_path):
    markdown = "# T\n\n## Method\n\nLoRA freezes W0 [1]. LoRA retrains every weight [1]. No citation here.\n"
    section = {"heading": "Method", "text": "LoRA freezes W0 [1]. LoRA retrains every weight [1]. No citation here.",
               "citations": [{"number": 1, "chunk_ids": ["lora:0001", "lora:0002"]}]}
    (tmp_path / "drafts" / "default").mkdir(parents=True)
    (tmp_path / "drafts" / "default" / "lora.json").write_text(json.dumps({"markdown": markdown,
                                                                           "sections": [section]}))
    store = tmp_path / "data" / "notes" / "index" / "gen-1"
    store.mkdir(parents=True)
    (store / "store.json").write_text(json.dumps({"chunks": [{"chunk_id": "lora:0001", "text": "W0 stays frozen."},
                                                             {"chunk_id": "lora:0002", "text": "BA is trained."}]}))
    sha = hashlib.sha256(markdown.encode()).hexdigest()
    review = {"default": {"lora": {"wrong": 1, "draft_sha256": sha, "notes": [
        "Method: 'LoRA retrains every weight [1].' — reversed: W0 stays frozen.",
        "(not counted) 'LoRA freezes W0 [1].' — dull but right.", "Overall, as the reader put it: fine."]},
        "rag": {"wrong": 0, "draft_sha256": "0" * 64, "notes": []}}}
    (tmp_path / "review.json").write_text(json.dumps(review))
    out = tmp_path / "reviewed.jsonl"
    assert layers_bench.build_reviewed(tmp_path / "drafts", tmp_path / "data", tmp_path / "review.json", out) == 2
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert [(r["sentence"], r["label"]) for r in rows] == [("LoRA freezes W0 [1].", "supported"),
                                                           ("LoRA retrains every weight [1].", "unsupported")]
    assert rows[0]["passages"] == ["W0 stays frozen.", "BA is trained."]
    # A draft that is not the one the review read is left out.
    review["default"]["lora"]["draft_sha256"] = "f" * 64
    (tmp_path / "review.json").write_text(json.dumps(review))
    assert layers_bench.build_reviewed(tmp_path / "drafts", tmp_path / "data", tmp_path / "review.json", out) == 0


def test_auc_within_sources_ignores_what_tells_the_sources_apart():
    # Each source's labels are perfectly ranked by p, but one source is all high: a pooled AUC would mix sources.
    p = np.array([0.9, 0.8, 0.95, 0.3, 0.1, 0.2])
    y = np.array([1.0, 0.0, 1.0, 1.0, 0.0, 0.0])
    sources = ["a", "a", "a", "b", "b", "b"]
    assert layers_bench._source_auc(p, y, sources) == pytest.approx(1.0)
    assert layers_bench._source_auc(np.array([0.1, 0.9]), np.array([1.0, 0.0]), ["a", "a"]) == pytest.approx(0.0)


@pytest.mark.model
def test_the_layer_reader_copies_each_chosen_block_at_the_answer_position():
    reader = layers_bench.LayerReader(profile_llm("default").path, layers=(10, 20), n_threads=2)
    evidence = "LoRA keeps the pretrained weights frozen and trains two small low-rank matrices per adapted layer."
    first = reader.states(evidence, "LoRA freezes the pretrained weights.")
    assert set(first) == {10, 20, "final"} and all(v.shape == (1536,) and np.isfinite(v).all() for v in first.values())
    assert not np.allclose(first[10], first[20])  # two blocks, two states
    again = reader.states(evidence, "LoRA freezes the pretrained weights.")
    assert all(np.allclose(first[k], again[k], atol=1e-4) for k in first)  # the same prompt reads the same
    other = reader.states(evidence, "LoRA retrains every weight of the model.")
    assert not np.allclose(first[20], other[20])
    # The final state is what the shipped probe judge reads for the same question.
    judge = judge_mod.load_llm_judge(profile_llm("default").path, n_threads=2)
    assert np.allclose(judge.hidden_state(evidence, "LoRA freezes the pretrained weights."), first["final"], atol=1e-3)
