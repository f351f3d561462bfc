"""The probe judge: the drafting model's hidden state at the judge question's answer position, read by a
linear probe (engine/verify/judge.py ProbeJudge; fitted by bench/verify_probe.py)."""

from __future__ import annotations

import importlib.util
import json
import math
from pathlib import Path

import numpy as np
import pytest

from engine.bundled_models import embedded_llm, profile_llm
from engine.errors import ModelError
from engine.verify import judge as judge_mod
from engine.verify import support

_SPEC = importlib.util.spec_from_file_location("bench_verify_probe",
                                               Path(__file__).resolve().parents[1] / "bench" / "verify_probe.py")
probe_bench = importlib.util.module_from_spec(_SPEC)
_SPEC.loader.exec_module(probe_bench)

LORA = ("LoRA keeps the weights of a pretrained model frozen and adds a pair of small trainable low-rank matrices "
        "to selected layers of the Transformer. Because the low-rank update can be merged into the frozen weights, "
        "it adds no latency at inference time.")


def test_the_probe_fit_is_the_l2_optimum_over_all_state_dimensions_and_separates_unseen_states():
    rng = np.random.default_rng(3)
    direction = np.zeros(200)
    direction[:4] = 1.0  # what tells the classes apart lives in a few of the many dimensions
    x = rng.normal(size=(90, 200)) * rng.uniform(0.5, 3, size=200) + 5.0  # fewer claims than dimensions
    y = (x @ direction + rng.normal(scale=0.5, size=90) > (x @ direction).mean()).astype(float)
    l2 = 0.1
    weights, bias = probe_bench.fit_probe(x[:60], y[:60], l2)
    # The gradient of the penalised mean log-loss over the standardised states vanishes at the returned weights:
    # solving in the span of the fit states loses nothing.
    mean, std = x[:60].mean(axis=0), x[:60].std(axis=0) + 1e-6
    standard_w = weights * std
    p = 1 / (1 + np.exp(-(x[:60] @ weights + bias)))
    grad = ((x[:60] - mean) / std).T @ (p - y[:60]) / 60 + l2 * standard_w
    assert np.abs(grad).max() < 1e-6 and abs(np.mean(p - y[:60])) < 1e-6
    unseen = x[60:] @ weights
    assert probe_bench.auc(list(unseen[y[60:] == 1]), list(unseen[y[60:] == 0])) > 0.8
    # Out-of-fold scores never come from a probe that saw the claim: on labels with no signal they are near chance.
    noise = rng.integers(0, 2, size=60).astype(float)
    oof = probe_bench.out_of_fold(x[:60], noise, l2)
    assert probe_bench.auc(list(oof[noise == 1]), list(oof[noise == 0])) < 0.75


def test_save_weights_keeps_the_entries_other_scripts_fitted_and_one_combination_can_be_replaced(tmp_path):
    path = tmp_path / "weights.json"
    path.write_text(json.dumps({"signals": {}, "self_check": {"threshold": 0.7},
                                "with_probe_judge": {"weights": {"judge": 1.0}, "threshold": 0.5}}))
    support.save_weights(path, {"bias": -1.0, "dense": 2.0}, 0.4, None, None, note="signals run")
    data = json.loads(path.read_text())
    assert data["signals"]["threshold"] == 0.4 and data["self_check"] == {"threshold": 0.7}
    assert data["with_probe_judge"]["weights"] == {"judge": 1.0}
    support.save_judge_combination(path, "with_probe_judge",
                                   {"weights": {"bias": 0.1234, "judge": 2.0}, "threshold": 0.456, "unsure_band": 0.2},
                                   note="probe run")
    data = json.loads(path.read_text())
    assert data["with_probe_judge"] == {"weights": {"bias": 0.123, "judge": 2.0}, "threshold": 0.46,
                                        "unsure_band": 0.2}
    assert data["signals"]["weights"]["dense"] == 2.0 and "probe run" in data["note"]


@pytest.mark.model
def test_a_probe_reads_the_state_where_the_answer_begins_and_belongs_to_one_model_file():
    model = embedded_llm()  # SmolLM2: 576 hidden units
    rng = np.random.default_rng(0)
    probe = {"model": model.path.name, "weights": list(rng.normal(scale=0.01, size=576)), "bias": 0.3}
    judge = judge_mod.ProbeJudge(model.path, probe, n_threads=1)
    prompt = judge.prompt(LORA, "LoRA adds   no latency.")
    assert prompt.rstrip().endswith("assistant") and "Claim: LoRA adds no latency." in prompt
    assert "reference data quoted from documents" in prompt  # the evidence is data, never instructions
    state = judge.hidden_state(LORA, "LoRA adds no latency.")
    assert state.shape == (576,) and np.isfinite(state).all()
    assert np.allclose(state, judge.hidden_state(LORA, "LoRA adds no latency."))
    other = judge.hidden_state(LORA, "LoRA trains every weight of the model.")
    assert not np.allclose(state, other)
    expected = 1 / (1 + math.exp(-(float(state @ np.array(probe["weights"])) + 0.3)))
    assert judge.entailment(LORA, "LoRA adds no latency.") == pytest.approx(expected, rel=1e-6)
    with pytest.raises(ModelError, match="No verify probe fitted"):
        judge_mod.ProbeJudge(model.path, {**probe, "model": "another.gguf"}, n_threads=1)
    with pytest.raises(ModelError, match="hidden units"):
        judge_mod.ProbeJudge(model.path, {**probe, "weights": [0.0] * 10}, n_threads=1)


@pytest.mark.model
def test_the_shipped_probe_with_the_default_model_tells_a_supported_claim_from_a_contradicted_one():
    probe = judge_mod.load_probe()
    assert probe is not None and len(probe["weights"]) == 1536 and probe["fitted_on"]
    path = profile_llm("default").path
    judge = judge_mod.load_llm_judge(path, n_threads=2)  # the probe was fitted on this very file
    assert isinstance(judge, judge_mod.ProbeJudge) and judge_mod.load_llm_judge(path, n_threads=2) is judge
    supported = judge.entailment(LORA, "LoRA freezes the pretrained weights and trains small low-rank matrices.")
    contradicted = judge.entailment(LORA, "LoRA retrains every weight of the pretrained model and slows "
                                          "inference down.")
    assert supported > contradicted
    assert support.judged_combination(judge).weights is not None  # its stack ships beside it


@pytest.mark.model
def test_auto_reads_evaluations_with_the_probe_wherever_its_model_runs_and_the_signals_elsewhere(session_settings):
    default = session_settings.with_values(llm_profile="default", verify_judge="auto")
    judge = judge_mod.judge_for(default, drafting=False)
    assert isinstance(judge, judge_mod.ProbeJudge) and "probe" in judge_mod.judge_name(judge)
    assert judge_mod.judge_for(default, drafting=True) is None  # drafting keeps to the signals unless told
    small = session_settings.with_values(verify_judge="auto")  # SmolLM2: no probe was fitted on it
    assert judge_mod.judge_for(small, drafting=False) is None  # and no cross-encoder is built in this data dir
    assert judge_mod.judge_for(default.with_values(verify_judge="signals"), drafting=False) is None
