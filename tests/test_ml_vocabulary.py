"""scripts/build_ml_vocabulary.py builds the reader model's table from real Markdown, and the shipped table loads."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_the_builder_keeps_words_ml_writing_uses_more_than_english(tmp_path):
    docs = tmp_path / "docs"
    docs.mkdir()
    for n in range(8):
        (docs / f"d{n}.md").write_text(
            f"# Chapter {n}\n\nThe softmax turns logits into probabilities, and backpropagation trains the encoder.\n"
            "The softmax is applied again after the encoder.\n\n```python\nimport zzzcodeword\n```\n", encoding="utf-8")
    out = tmp_path / "vocab.json"
    subprocess.run([sys.executable, str(ROOT / "scripts" / "build_ml_vocabulary.py"), str(docs), "--out", str(out),
                    "--source", "test fixture"], check=True, capture_output=True)
    table = json.loads(out.read_text(encoding="utf-8"))
    assert table["documents"] == 8 and table["sources"] == ["test fixture"]
    assert "softmax" in table["terms"] and "encoder" in table["terms"]
    assert "the" not in table["terms"] and "zzzcodeword" not in table["terms"]  # everyday words; code is not prose


def test_the_shipped_table_names_its_sources_and_knows_the_field():
    from engine.check.reader import ML_PEERS, NEW_TO_ML, VOCABULARY

    table = json.loads(VOCABULARY.read_text(encoding="utf-8"))
    assert table["tokens"] > 1_000_000 and len(table["sources"]) >= 5
    assert ML_PEERS.knows("softmax") and ML_PEERS.knows("backpropagation")
    assert not NEW_TO_ML.knows("backpropagation")
