"""Verify stage: the word-order and self-reference signals, and a slow judge asked only where the signals are unsure."""

from __future__ import annotations

import json
import math

from engine.records import Passage
from engine.verify import judge as judge_mod
from engine.verify import signals as sig
from engine.verify import support
from engine.verify.support import support_score

RAG = Passage(
    chunk_id="rag-1", doc_id="rag", score=1.0, title="RAG",
    text=("RAG combines two memories. The parametric memory is BART-large, a pre-trained encoder-decoder with "
          "roughly 400M parameters. The non-parametric memory is a dense vector index of Wikipedia passages, "
          "searched with maximum inner product search."))


def test_word_salad_that_reuses_the_source_words_keeps_few_of_its_word_pairs():
    faithful = "The parametric memory is BART-large, a pre-trained encoder-decoder."
    salad = ("The pre-trained index builds a parametric encoder from the memory of passages searched "
             "by inner Wikipedia product.")
    assert sig.ordered_overlap(faithful, RAG.text) == 1.0
    assert sig.lexical_overlap(salad, RAG.text) > 0.8  # its words are the source's ...
    assert sig.ordered_overlap(salad, RAG.text) < 0.3  # ... their order is not


def test_a_paraphrase_with_one_word_between_a_pair_still_counts_the_pair():
    assert sig.ordered_overlap("dense index of passages", "a dense vector index of Wikipedia passages") == 1.0


def test_a_sentence_about_the_article_itself_is_a_self_reference():
    assert sig.refers_to_text("The article explains how RAG retrieves passages.")
    assert sig.refers_to_text("This section covers the limitations.")
    assert not sig.refers_to_text("RAG retrieves passages from Wikipedia.")


def test_the_new_signals_are_features_the_combiner_weighs(embedder):
    result = support_score("The article explains that RAG combines two memories [1].", [RAG], embedder)
    features = result.signals.features()
    assert features["self_reference"] == 1.0 and 0.0 <= features["ordered_overlap"] <= 1.0
    assert set(support.SIGNAL_FEATURES) <= set(features)


class CountingJudge:
    """A slow judge stand-in: records each call and answers a fixed probability."""

    name = "counting judge"
    weights_key = "with_test_judge"

    def __init__(self, probability: float) -> None:
        self.probability, self.calls = probability, 0

    def entailment(self, premise: str, hypothesis: str) -> float:
        self.calls += 1
        return self.probability


def _with_combination(monkeypatch, band):
    weights = {**{f: 0.0 for f in support.SIGNAL_FEATURES}, "bias": 0.0, "judge": 1.0}
    monkeypatch.setitem(support._FITTED, "with_test_judge",
                        {"weights": weights, "threshold": 0.5, "unsure_band": band})


def test_a_slow_judge_is_not_asked_when_the_signals_are_sure(monkeypatch, embedder):
    _with_combination(monkeypatch, 0.05)
    judge = CountingJudge(0.01)
    copied = "The parametric memory is BART-large, a pre-trained encoder-decoder with roughly 400M parameters [1]."
    result = support_score(copied, [RAG], embedder, nli=judge)
    plain = support_score(copied, [RAG], embedder)
    assert abs(plain.score - support.SUPPORT_THRESHOLD) >= 0.05  # the signals alone are sure here
    assert judge.calls == 0 and result.judge == "" and result.supported == plain.supported


def test_a_slow_judge_decides_with_its_own_weights_when_asked(monkeypatch, embedder):
    _with_combination(monkeypatch, None)  # no band: asked on every sentence
    judge = CountingJudge(0.01)
    result = support_score("RAG combines two memories [1].", [RAG], embedder, nli=judge)
    assert judge.calls == 1 and result.judge == "counting judge"
    assert math.isclose(result.score, 1 / (1 + math.exp(-support.judge_feature(0.01))), rel_tol=1e-6)
    assert not result.supported


class FakeLlama:
    """The part of llama_cpp.Llama the LLM judge calls: a chat completion with top log-probabilities."""

    def __init__(self, top: dict[str, float]) -> None:
        self.top, self.messages = top, None

    def create_chat_completion(self, messages, **_):
        self.messages = messages
        top = [{"token": t, "logprob": math.log(p)} for t, p in self.top.items()]
        return {"choices": [{"logprobs": {"content": [{"top_logprobs": top}]}}]}


def _llm_judge(top: dict[str, float]) -> judge_mod.LlmJudge:
    import threading

    judge = object.__new__(judge_mod.LlmJudge)  # no model file: the fake answers
    judge._llm, judge._lock, judge.name = FakeLlama(top), threading.Lock(), "LLM judge (fake)"
    return judge


def test_the_llm_judge_sums_yes_and_no_over_spellings_and_normalises():
    judge = _llm_judge({"Yes": 0.5, " yes": 0.1, "No": 0.3, "Maybe": 0.1})
    yes, no = judge.yes_no("RAG combines two memories.", "RAG has two memories [1].")
    assert math.isclose(yes, 0.6) and math.isclose(no, 0.3)
    assert math.isclose(judge.entailment("RAG combines two memories.", "RAG has two memories."), 0.6 / 0.9)
    user = judge._llm.messages[-1]["content"]
    assert "RAG combines two memories." in user and "<sources>" in user  # the evidence goes in the data block


def test_an_llm_judge_answering_neither_yes_nor_no_is_undecided():
    assert _llm_judge({"Maybe": 0.9}).entailment("evidence", "claim") == 0.5


def test_the_llm_judge_combination_round_trips_through_the_weights_file(tmp_path):
    path = tmp_path / "weights.json"
    support.save_weights(path, {"bias": -1.0}, 0.4, None, None,
                         with_llm_judge={"weights": {"bias": 0.2, "judge": 0.9}, "threshold": 0.45, "unsure_band": 0.2})
    data = json.loads(path.read_text())
    assert data["with_llm_judge"] == {"weights": {"bias": 0.2, "judge": 0.9}, "threshold": 0.45, "unsure_band": 0.2}
    assert judge_mod.LlmJudge.weights_key == "with_llm_judge"
