"""Verify stage, meaning-level judge: evidence windows, the combined score, the fixed data splits, the trained judge."""

from __future__ import annotations

import json

import pytest

from engine.records import Passage
from engine.verify import judge as judge_mod
from engine.verify import judge_data, support
from engine.verify.support import EvidenceSpan, judge_evidence, support_score

LORA = Passage(
    chunk_id="lora-1", doc_id="lora", score=1.0, title="LoRA", authors=("Edward J. Hu",), year=2021,
    text=("LoRA keeps the weights of a pretrained model frozen and adds a pair of small trainable low-rank "
          "matrices to selected layers of the Transformer. Against full fine-tuning of GPT-3 175B with Adam, "
          "it needs 10,000 times fewer trainable parameters and about 3 times less GPU memory. Because the "
          "low-rank update can be merged into the frozen weights, it adds no latency at inference time."))


class FixedJudge:
    """A judge that always answers the same probability (stands in for a model's verdict)."""

    name = "fixed test judge"

    def __init__(self, probability: float) -> None:
        self.probability = probability
        self.premises: list[str] = []

    def entailment(self, premise: str, hypothesis: str) -> float:
        self.premises.append(premise)
        return self.probability


def _span(passage: int, offset: int, text: str, window: bool = False) -> EvidenceSpan:
    return EvidenceSpan(passage, offset, len(text), text, 0.0, window)


def test_judge_evidence_takes_the_best_units_without_overlap_in_passage_order():
    ranked = [_span(0, 50, "second sentence here."), _span(0, 40, "first and second overlap.", window=True),
              _span(0, 0, "first sentence."), _span(1, 0, "other passage.")]
    text = judge_evidence(ranked, budget_words=6)
    assert text == "first sentence. ... second sentence here."  # the overlapping window and the over-budget unit left out


def test_a_judge_that_rejects_a_fluent_sentence_flags_it_and_says_what_is_missing(embedder):
    sentence = "LoRA keeps the pretrained weights frozen so that its matrices merge into more layers for convergence [1]."
    judge = FixedJudge(0.01)
    result = support_score(sentence, [LORA], embedder, nli=judge)
    assert not result.supported
    assert result.judge == "fixed test judge"
    assert judge.premises and "frozen" in judge.premises[0]  # the judge reads the matched evidence, not the claim
    reason = next(r for r in result.reasons() if r.startswith("the judge"))
    assert "0.01" in reason and "not in it:" in reason


def test_a_judge_that_accepts_keeps_a_faithful_paraphrase_supported(embedder):
    result = support_score("LoRA trains small low-rank matrices while the pretrained weights stay frozen [1].",
                           [LORA], embedder, nli=FixedJudge(0.97))
    assert result.supported
    assert result.reasons() == []


def test_without_a_judge_the_result_names_no_judge_and_the_panel_says_signals_only(embedder):
    result = support_score("LoRA trains small low-rank matrices while the pretrained weights stay frozen [1].",
                           [LORA], embedder)
    assert result.judge == "" and result.signals.nli is None
    assert judge_mod.judge_name(None).startswith("signals only")
    assert "judge" not in result.signals.features()


def test_fitted_weights_round_trip_through_their_json_file(tmp_path):
    path = tmp_path / "weights.json"
    support.save_weights(path, {"bias": -1.0, "dense": 2.0}, 0.4, {"bias": 0.5, "judge": 1.25}, 0.55, note="t")
    data = json.loads(path.read_text())
    assert data["signals"] == {"weights": {"bias": -1.0, "dense": 2.0}, "threshold": 0.4}
    assert data["with_judge"]["weights"]["judge"] == 1.25 and data["with_judge"]["threshold"] == 0.55


def test_shipped_weights_cover_every_signal_feature():
    assert set(support.SIGNAL_FEATURES) <= set(support.WEIGHTS)
    if support.JUDGED_WEIGHTS is not None:
        assert set(support.SIGNAL_FEATURES) | {"judge"} <= set(support.JUDGED_WEIGHTS)


def _attribution_dev(tmp_path, n: int = 8):
    folder = tmp_path / "attributionbench"
    folder.mkdir()
    rows = [{"claim": f"claim {source} {i}", "references": [f"passage {i}"], "src_dataset": source,
             "attribution_label": "attributable" if i % 2 else "not attributable"}
            for source in ("ExpertQA", "LFQA") for i in range(n)]
    (folder / "dev.jsonl").write_text("\n".join(json.dumps(r) for r in rows), encoding="utf-8")
    return tmp_path


def test_attribution_halves_are_fixed_disjoint_and_balanced_per_source_and_label(tmp_path):
    data = _attribution_dev(tmp_path)
    fit, report = judge_data.attributionbench("fit", data), judge_data.attributionbench("report", data)
    assert {c.claim for c in fit}.isdisjoint({c.claim for c in report})
    assert len(fit) == len(report) == 8
    for part in (fit, report):
        for source in ("AttributionBench/ExpertQA", "AttributionBench/LFQA"):
            labels = [c.supported for c in part if c.source == source]
            assert labels.count(True) == labels.count(False) == 2
    assert [c.claim for c in judge_data.attributionbench("fit", data)] == [c.claim for c in fit]


def test_missing_benchmark_data_gives_no_claims_instead_of_failing(tmp_path):
    assert judge_data.attributionbench("fit", tmp_path) == []
    assert judge_data.scifact("train", tmp_path) == []


@pytest.fixture(scope="module")
def tiny_judge(tmp_path_factory):
    """A cross-encoder fine-tuned for one epoch on a handful of pairs (real weights, real save and load)."""
    torch = pytest.importorskip("torch")
    torch.set_num_threads(1)
    examples = [judge_mod.Example("LoRA freezes the pretrained weights.", LORA.text, True, "test"),
                judge_mod.Example("LoRA retrains every weight of the model.", LORA.text, False, "test")] * 4
    cache = tmp_path_factory.mktemp("cache")
    meta = judge_mod.train_cross_encoder(examples, judge_mod.judge_dir(cache), epochs=1, batch_size=4)
    return cache, meta


def test_a_built_cross_encoder_judge_loads_from_the_cache_and_scores_pairs(tiny_judge):
    cache, meta = tiny_judge
    assert meta["examples"] == 8 and meta["sources"] == {"test": 8}
    judge = judge_mod.load_judge(cache)
    assert judge is not None and "cross-encoder" in judge_mod.judge_name(judge)
    scores = judge.entailment_batch([(LORA.text, "LoRA freezes the pretrained weights."),
                                     (LORA.text, "LoRA retrains every weight of the model.")])
    assert all(0.0 <= s <= 1.0 for s in scores) and len(scores) == 2


def test_no_built_judge_means_none(tmp_path):
    assert judge_mod.load_judge(tmp_path) is None


def test_grounding_names_its_judge_and_shows_the_reason_beside_the_closest_evidence(embedder):
    from engine.evaluate.grounding import measure_grounding

    draft = "# LoRA\n\nLoRA keeps the pretrained weights frozen so that its matrices merge into more layers [1].\n"
    judged = measure_grounding(draft, {1: [LORA]}, embedder, nli=FixedJudge(0.01))
    assert judged.judge == "fixed test judge"
    claim = judged.unsupported[0]
    assert "frozen" in claim.evidence and any(r.startswith("the judge") for r in claim.reasons)
    assert measure_grounding(draft, {1: [LORA]}, embedder).judge.startswith("signals only")


def test_judge_build_without_attribution_data_says_where_to_put_it_and_builds_nothing(tmp_path, monkeypatch,
                                                                                     capsys):
    monkeypatch.setattr(judge_data, "SHARED_DATA", tmp_path / "nothing")
    assert judge_mod.main(["build", "--out", str(tmp_path / "judge")]) == 0
    out = capsys.readouterr().out
    assert "No attribution data" in out and "rerun" in out
    assert not (tmp_path / "judge").exists()


def test_judge_build_if_missing_leaves_a_built_judge_alone(tiny_judge, capsys):
    cache, _ = tiny_judge
    assert judge_mod.main(["build", "--out", str(judge_mod.judge_dir(cache)), "--if-missing"]) == 0
    assert "already built" in capsys.readouterr().out


def test_the_verify_judge_setting_chooses_who_judges_while_drafting_and_in_evaluations(session_settings, tmp_path):
    from engine.errors import ConfigError

    assert judge_mod.judge_for(session_settings.with_values(verify_judge="signals"), drafting=False) is None
    auto = session_settings.with_values(verify_judge="auto", data_dir=tmp_path)
    assert judge_mod.judge_for(auto, drafting=True) is None  # drafting keeps to the signals unless told
    assert judge_mod.judge_for(auto, drafting=False) is None  # no cross-encoder built under this data dir
    with pytest.raises(ConfigError, match="llama.cpp backend"):
        judge_mod.judge_for(session_settings.with_values(verify_judge="llm", llm_backend="transformers"),
                            drafting=True)


@pytest.mark.model
def test_verify_judge_llm_self_checks_drafts_and_loads_the_gguf_once_for_evaluations(session_settings):
    settings = session_settings.with_values(verify_judge="llm")  # the small profile's SmolLM2 GGUF in tests
    assert isinstance(judge_mod.judge_for(settings, drafting=True), judge_mod.SelfCheck)
    judge = judge_mod.judge_for(settings, drafting=False)
    assert isinstance(judge, judge_mod.LlmJudge) and "SmolLM2" in judge.name
    assert judge_mod.judge_for(settings, drafting=False) is judge
    score = judge.entailment("LoRA freezes the pre-trained weights and trains two low-rank matrices.",
                             "LoRA trains low-rank matrices.")
    assert 0.0 <= score <= 1.0


class VetoJudge(FixedJudge):
    """A second reader that can only fail sentences (the shape of drafting's SectionJudge)."""

    vetoes = True
    threshold = 0.5


def test_a_vetoing_judge_fails_what_the_signals_pass_and_is_not_asked_about_the_rest(embedder):
    passing = "LoRA keeps the pretrained weights frozen and adds small trainable low-rank matrices [1]."
    assert support_score(passing, [LORA], embedder).supported
    doubtful = VetoJudge(0.2)
    result = support_score(passing, [LORA], embedder, nli=doubtful)
    assert not result.supported and result.judge == doubtful.name and result.signals.nli == 0.2
    assert any("judge reads" in r for r in result.reasons())
    assert support_score(passing, [LORA], embedder, nli=VetoJudge(0.9)).supported
    failing = VetoJudge(0.99)
    assert not support_score("Bananas grow in Ecuador and are shipped in refrigerated boats.", [LORA], embedder,
                             nli=failing).supported
    assert failing.premises == []  # the signals already failed it: the slow reader is not asked


@pytest.mark.model
def test_the_section_self_check_asks_after_the_drafting_prompt_and_reuses_its_cache(llama_llm, embedder):
    from engine.llm import Message

    messages = [Message("system", "You are a careful technical writer."),
                Message("user", "Section to write: LoRA\n\n<sources>\n[1] LoRA\n" + LORA.text +
                        "\n</sources>\n\nWrite the body of the section.")]
    section = judge_mod.SelfCheck(threshold=0.5).for_section(llama_llm, messages)
    first = section.entailment("", "LoRA adds trainable low-rank matrices.")
    total, first_decoded = llama_llm.last_prompt_tokens
    # the session's model may hold an earlier test's prompt: at most the chat template's start is shared
    assert 0.0 <= first <= 1.0 and first_decoded > total / 2
    second = section.entailment("", "LoRA needs 10,000 times fewer trainable parameters than full fine-tuning.")
    total, decoded = llama_llm.last_prompt_tokens
    assert 0.0 <= second <= 1.0 and decoded < total / 2  # the system prompt and sources came from the cache
    yes, no = llama_llm.answer_probabilities([Message("user", "Is Paris in France? Answer Yes or No.")])
    assert 0.0 < yes + no <= 1.0 + 1e-9
    with pytest.raises(ValueError, match="sources"):
        judge_mod.SelfCheck(0.5).for_section(llama_llm, [messages[0], Message("user", "no sources here")])
    assert judge_mod.SelfCheck(0.5).for_section(object(), messages) is None  # a backend that cannot answer