"""bench/verify.py: the figures it reports, the LLM judge's answer cache, and the judge asked only where unsure."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import numpy as np
import pytest

# Loaded from its file under its own name: putting bench/ on sys.path would let bench/llm.py shadow packages.
_SPEC = importlib.util.spec_from_file_location("bench_verify", Path(__file__).resolve().parents[1] / "bench" / "verify.py")
verify_bench = importlib.util.module_from_spec(_SPEC)
_SPEC.loader.exec_module(verify_bench)


def test_figures_count_the_unsupported_flag_as_the_positive_class():
    y = np.array([1, 1, 0, 0, 0])
    score = np.array([0.9, 0.2, 0.1, 0.8, 0.3])  # one supported flagged, one unsupported passed
    f = verify_bench.figures(y, score, 0.5)
    assert f["n"] == 5
    assert f["precision"] == pytest.approx(2 / 3) and f["recall"] == pytest.approx(2 / 3)
    assert f["balanced_accuracy"] == pytest.approx((1 / 2 + 2 / 3) / 2)


def test_the_llm_answer_cache_is_read_by_claim_key_and_a_missing_file_is_empty(tmp_path):
    assert verify_bench.load_llm_cache(tmp_path / "none.jsonl") == {}
    path = tmp_path / "answers.jsonl"
    rows = [{"key": "a", "yes": 0.7, "no": 0.2, "seconds": 4.0}, {"key": "b", "yes": 0.1, "no": 0.8, "seconds": 5.0}]
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n", encoding="utf-8")
    cached = verify_bench.load_llm_cache(path)
    assert set(cached) == {"a", "b"} and cached["b"]["no"] == 0.8


def _claims(features: list[dict[str, float]]) -> dict:
    return {"x": features, "y": np.zeros(len(features))}


def test_outside_the_unsure_band_the_signals_decide_and_inside_it_the_stack_does():
    signals = ({"bias": 0.0, "dense": 1.0}, 0.5)
    stacked = {"weights": {"bias": 0.0, "judge": 1.0}, "threshold": 0.5}
    m = _claims([{"dense": 3.0, "judge": -5.0},   # signals sure it is supported: the judge is not asked
                 {"dense": 0.1, "judge": -5.0}])  # signals unsure: the judge's 'no' decides
    score, limit, share = verify_bench._cascade(m, signals, stacked, band=0.1)
    assert share == 0.5
    assert score[0] >= limit and score[1] < limit
    always, _, share_always = verify_bench._cascade(m, signals, stacked, band=None)
    assert share_always == 1.0 and (always < limit).all()
