"""The faster transformers CPU paths keep the plain fp32 path's greedy output: weight-only int4 (the
CPU default), weight-only int8 and static cache + torch.compile, each with streaming and the stop
control intact."""

from __future__ import annotations

import threading

import pytest

from engine.errors import ConfigError
from engine.llm import GenerationParams, Message, generate
from engine.settings import load_settings

QUESTION = [Message("user", "Name one use of attention in neural networks.")]
GREEDY = GenerationParams(max_new_tokens=12, temperature=0.0, repetition_penalty=1.0)
SAME_PREFIX_TOKENS = 6  # bf16 activations may drift later; the opening must match fp32


def _settings(tmp_path, **env):
    env = {"PEERDRAFT_DATA_DIR": str(tmp_path / "data"), "PEERDRAFT_LLM_PROFILE": "small",
           **{f"PEERDRAFT_{k.upper()}": v for k, v in env.items()}}
    return load_settings(env=env, toml_path=tmp_path / "absent.toml")


def _token_ids(llm, text: str) -> list[int]:
    return llm.tokenizer.encode(text, add_special_tokens=False)


@pytest.fixture(scope="module")
def fp32_greedy_ids(fp32_reference_llm):
    return _token_ids(fp32_reference_llm, generate(fp32_reference_llm, QUESTION, GREEDY).text)


def test_compile_setting_reads_env_and_rejects_garbage(tmp_path):
    assert _settings(tmp_path).compile is False
    assert _settings(tmp_path, compile="1").compile is True
    with pytest.raises(ConfigError, match="PEERDRAFT_COMPILE"):
        _settings(tmp_path, compile="sometimes")


def _tiny_tied_model(torch):
    class Tiny(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.embed = torch.nn.Embedding(64, 32)
            self.proj = torch.nn.Linear(32, 32, bias=True)
            self.head = torch.nn.Linear(32, 64, bias=False)
            self.head.weight = self.embed.weight

        def get_input_embeddings(self):
            return self.embed

        def get_output_embeddings(self):
            return self.head

        def set_output_embeddings(self, head):
            self.head = head

        def forward(self, ids):
            return self.head(self.proj(self.embed(ids)))

    torch.manual_seed(0)
    return Tiny().to(torch.bfloat16)


def test_int8_replaces_every_linear_including_the_tied_head():
    torch = pytest.importorskip("torch")
    from engine.llm.packed import quantize_weights_int8

    model = _tiny_tied_model(torch)
    ids = torch.tensor([[1, 5, 9]])
    with torch.inference_mode():
        before = model(ids).float()
        quantize_weights_int8(model, torch)
        after = model(ids).float()
    assert not any(isinstance(m, torch.nn.Linear) for m in model.modules())
    assert model.embed.weight.dtype == torch.bfloat16  # the lookup table stays unquantized
    assert torch.allclose(after, before, atol=0.05 * before.abs().max().item())


def test_int4_packs_linears_in_groups_and_makes_the_tied_head_int8():
    torch = pytest.importorskip("torch")
    from engine.llm.packed import int4_linear_class, int8_linear_class, quantize_weights_int4

    model = _tiny_tied_model(torch)
    ids = torch.tensor([[1, 5, 9]])
    with torch.inference_mode():
        before = model(ids).float()
        quantize_weights_int4(model, torch)
        after = model(ids).float()
    assert isinstance(model.proj, int4_linear_class())
    assert isinstance(model.head, int8_linear_class())
    assert model.embed.weight.dtype == torch.bfloat16  # the lookup table stays unquantized
    assert torch.allclose(after, before, atol=0.1 * before.abs().max().item())


def test_int4_reproduces_weights_already_on_a_4_bit_grid_exactly():
    torch = pytest.importorskip("torch")
    from engine.llm.packed import int4_linear

    # A GGUF Q4_1 weight dequantizes to q·scale + minimum per 32 inputs: int4 must add no error.
    torch.manual_seed(1)
    q = torch.randint(0, 16, (16, 64)).float()
    q[:, ::32] = 0  # each group spans the full 0..15 range, as the GGUF quantizer makes it
    q[:, 1::32] = 15
    scale = torch.rand(16, 2).repeat_interleave(32, dim=1) * 0.01 + 0.001
    low = torch.randn(16, 2).repeat_interleave(32, dim=1) * 0.05
    linear = torch.nn.Linear(64, 16, bias=False)
    linear.weight.data = (q * scale + low).to(torch.bfloat16).float()
    x = torch.randn(3, 64).to(torch.bfloat16)
    with torch.inference_mode():
        exact = x.float() @ linear.weight.t()
        packed = int4_linear(linear, torch, 32)(x).float()
    assert torch.allclose(packed, exact, atol=0.02 * exact.abs().max().item())


def test_int4_is_refused_on_cuda_and_listed_as_a_setting(tmp_path, monkeypatch):
    from engine.llm import hf

    assert _settings(tmp_path, quantization="int4").quantization == "int4"
    llm = hf.TransformersLLM.__new__(hf.TransformersLLM)
    llm._on_cuda = True
    with pytest.raises(ConfigError, match="nf4"):
        llm._resolve_quantization("int4")
    llm._on_cuda = False
    assert llm._resolve_quantization("auto") == "int4"


@pytest.mark.model
def test_cpu_default_is_int4_and_its_greedy_opening_matches_fp32(hf_llm, fp32_greedy_ids):
    assert hf_llm.quantization == "int4"
    assert hf_llm.decoder is not None and hf_llm.decoder.layers[0][1].kind == "int4"
    assert hf_llm.decoder.head.kind == "int8"  # as the GGUF keeps it (Q8_0)
    fast = generate(hf_llm, QUESTION, GREEDY)
    assert _token_ids(hf_llm, fast.text)[:SAME_PREFIX_TOKENS] == fp32_greedy_ids[:SAME_PREFIX_TOKENS]
    assert len(list(hf_llm.stream_chat(QUESTION, GREEDY))) > 1


@pytest.mark.model
def test_int8_weight_only_greedy_opening_matches_the_plain_path(tmp_path, fp32_greedy_ids):
    from engine.llm.hf import TransformersLLM

    int8 = TransformersLLM(_settings(tmp_path, llm_backend="transformers", quantization="int8"))
    fast = generate(int8, QUESTION, GREEDY)
    assert _token_ids(int8, fast.text)[:SAME_PREFIX_TOKENS] == fp32_greedy_ids[:SAME_PREFIX_TOKENS]
    assert len(list(int8.stream_chat(QUESTION, GREEDY))) > 1


@pytest.mark.model
def test_compiled_static_cache_path_streams_the_plain_greedy_text_and_stops(fp32_reference_llm, fp32_greedy_ids):
    # The same fp32 model switched to the compiled path: no second load; the compile itself
    # (minutes on 2 busy cores) is the cost of this test. Runs last in the module.
    plain_text = generate(fp32_reference_llm, QUESTION, GREEDY).text
    fp32_reference_llm.compile = True
    try:
        chunks = list(fp32_reference_llm.stream_chat(QUESTION, GREEDY))
        assert len(chunks) > 1
        assert "".join(chunks) == plain_text  # fp32 both ways: identical
        stop = threading.Event()
        result = generate(fp32_reference_llm, QUESTION, GenerationParams(max_new_tokens=100, temperature=0.0),
                          on_text=lambda _p: stop.set(), stop_event=stop)
        assert result.stopped and result.new_tokens < 20
    finally:
        fp32_reference_llm.compile = False
