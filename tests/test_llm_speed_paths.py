"""The faster transformers CPU paths keep the plain path's greedy output: weight-only int8 and
static cache + torch.compile, each with streaming and the stop control intact."""

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
    env = {"PEERDRAFT_DATA_DIR": str(tmp_path / "data"), **{f"PEERDRAFT_{k.upper()}": v for k, v in env.items()}}
    return load_settings(env=env, toml_path=tmp_path / "absent.toml")


def _token_ids(llm, text: str) -> list[int]:
    return llm.tokenizer.encode(text, add_special_tokens=False)


def test_compile_setting_reads_env_and_rejects_garbage(tmp_path):
    assert _settings(tmp_path).compile is False
    assert _settings(tmp_path, compile="1").compile is True
    with pytest.raises(ConfigError, match="PEERDRAFT_COMPILE"):
        _settings(tmp_path, compile="sometimes")


def test_int8_replaces_every_linear_including_the_tied_head():
    torch = pytest.importorskip("torch")
    from engine.llm.hf import quantize_weights_int8

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
    model = Tiny().to(torch.bfloat16)
    ids = torch.tensor([[1, 5, 9]])
    with torch.inference_mode():
        before = model(ids).float()
        quantize_weights_int8(model, torch)
        after = model(ids).float()
    assert not any(isinstance(m, torch.nn.Linear) for m in model.modules())
    assert model.embed.weight.dtype == torch.bfloat16  # the lookup table stays unquantized
    assert torch.allclose(after, before, atol=0.05 * before.abs().max().item())


@pytest.mark.model
def test_int8_weight_only_greedy_opening_matches_the_plain_path(tmp_path, hf_llm):
    from engine.llm.hf import TransformersLLM

    int8 = TransformersLLM(_settings(tmp_path, llm_backend="transformers", quantization="int8"))
    plain = _token_ids(hf_llm, generate(hf_llm, QUESTION, GREEDY).text)
    fast = generate(int8, QUESTION, GREEDY)
    assert _token_ids(int8, fast.text)[:SAME_PREFIX_TOKENS] == plain[:SAME_PREFIX_TOKENS]
    assert len(list(int8.stream_chat(QUESTION, GREEDY))) > 1


@pytest.mark.model
def test_compiled_static_cache_path_streams_the_plain_greedy_text_and_stops(tmp_path, hf_llm):
    pytest.importorskip("torch")
    from engine.llm.hf import TransformersLLM

    compiled = TransformersLLM(_settings(tmp_path, llm_backend="transformers", quantization="none",
                                         dtype="float32", compile="1"))
    chunks = list(compiled.stream_chat(QUESTION, GREEDY))
    assert len(chunks) > 1
    assert "".join(chunks) == generate(hf_llm, QUESTION, GREEDY).text  # fp32 both ways: identical
    stop = threading.Event()
    result = generate(compiled, QUESTION, GenerationParams(max_new_tokens=100, temperature=0.0),
                      on_text=lambda _p: stop.set(), stop_event=stop)
    assert result.stopped and result.new_tokens < 20
