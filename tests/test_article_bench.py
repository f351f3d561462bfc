"""bench/article.py's hand review: a count of wrong sentences belongs to the draft that was read."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

# Loaded from its file under its own name: putting bench/ on sys.path would let bench/llm.py shadow packages.
_SPEC = importlib.util.spec_from_file_location("bench_article", Path(__file__).resolve().parents[1] / "bench" / "article.py")
article_bench = importlib.util.module_from_spec(_SPEC)
sys.modules["bench_article"] = article_bench  # dataclasses look their module up by name
_SPEC.loader.exec_module(article_bench)


def test_a_hand_review_counts_only_for_the_draft_it_read():
    fig = article_bench.Figures(draft_sha256="abc")
    assert article_bench.reviewed_wrong({"wrong": 5, "draft_sha256": "abc"}, fig) == 5
    # a new draft of the same brief is not read yet, though an old review of the brief exists
    assert article_bench.reviewed_wrong({"wrong": 5, "draft_sha256": "old"}, fig) is None
    assert article_bench.reviewed_wrong({"wrong": 5}, fig) is None
    assert article_bench.reviewed_wrong({}, fig) is None
    # a run and a review from before the hash was kept still match each other
    assert article_bench.reviewed_wrong({"wrong": 3}, article_bench.Figures()) == 3
