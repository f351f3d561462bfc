"""The lean CPU decoder (engine/llm/decode.py) computes what transformers computes.

Fast tests build small random Llama models from a config (no weights to load) and compare
logits position by position with the transformers forward pass, and compare the token chooser
with transformers' own logits processors. The model-marked tests run the real embedded
SmolLM2 through both paths."""

from __future__ import annotations

import threading

import pytest

from engine.llm import GenerationParams, Message, generate

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")


def _tiny_llama(**overrides):
    from transformers import LlamaConfig, LlamaForCausalLM

    config = dict(vocab_size=160, hidden_size=64, intermediate_size=96, num_hidden_layers=2,
                  num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=64,
                  rms_norm_eps=1e-5, tie_word_embeddings=True)
    config.update(overrides)
    torch.manual_seed(0)
    model = LlamaForCausalLM(LlamaConfig(**config)).eval()
    with torch.no_grad():  # norms away from 1 so a mistake in folding them would show
        for name, param in model.named_parameters():
            if name.endswith("norm.weight"):
                param.uniform_(0.5, 1.5)
    return model


def _decoder(model, kind="float32", head_kind="float32"):
    from engine.llm.decode import LlamaDecoder

    return LlamaDecoder(model, kind, head_kind, torch)


@pytest.mark.parametrize("overrides", [{}, {"attention_bias": True, "tie_word_embeddings": False},
                                       {"num_key_value_heads": 4}])
def test_prefill_and_every_decoding_step_match_the_transformers_forward(overrides, monkeypatch):
    monkeypatch.setattr("engine.llm.decode.MANY_ROWS", 16)  # the prompt below takes the dense path
    model = _tiny_llama(**overrides)
    decoder = _decoder(model)
    ids = torch.randint(0, 160, (40,))
    with torch.inference_mode():
        reference = model(ids[None]).logits[0]
        decoder.reset(40)
        # A prompt long enough for the dense many-rows path, a few single steps, then a short
        # multi-token chunk after the cache (the masked attention path).
        prefill = decoder.forward(ids[:24], all_logits=True)
        steps = [decoder.forward(ids[i:i + 1]) for i in range(24, 32)]
        chunk = decoder.forward(ids[32:40], all_logits=True)
    assert torch.allclose(prefill, reference[:24], atol=1e-4)
    assert torch.allclose(torch.cat(steps), reference[24:32], atol=1e-4)
    assert torch.allclose(chunk, reference[32:], atol=1e-4)
    assert decoder.length == 40


@pytest.mark.parametrize("kind", ["int4", "int8", "bfloat16"])
def test_dense_copy_of_a_packed_weight_is_what_its_kernel_computes(kind):
    from engine.llm.packed import PackedWeight

    torch.manual_seed(2)
    weight = PackedWeight(torch.randn(48, 64), kind, torch)
    x = torch.randn(5, 64)
    with torch.inference_mode():
        kernel = weight(x.to(weight.input_dtype)).float()
        dense = weight.many_rows(x)
    assert torch.allclose(dense, kernel, atol=0.02 * kernel.abs().max().item())


def test_int4_decoder_stays_close_to_float_and_keeps_the_argmax():
    model = _tiny_llama(hidden_size=128, intermediate_size=256)
    ids = torch.randint(0, 160, (16,))
    with torch.inference_mode():
        reference = model(ids[None]).logits[0]
        decoder = _decoder(model, "int4", "int8")
        decoder.reset(16)
        logits = decoder.forward(ids, all_logits=True)
    assert decoder.layers[0][1].kind == "int4" and decoder.head.kind == "int8"
    assert (logits - reference).abs().max() < 0.1 * reference.abs().max()
    assert (logits.argmax(-1) == reference.argmax(-1)).float().mean() >= 0.8


def test_generate_stops_at_a_stop_id_at_the_limit_and_when_asked():
    from engine.llm.decode import make_chooser

    decoder = _decoder(_tiny_llama())
    prompt = torch.tensor([3, 5, 7])
    greedy = make_chooser(torch)
    tokens = list(decoder.generate(prompt, 10, greedy, stop_ids=set()))
    assert len(tokens) == 10
    assert list(decoder.generate(prompt, 10, greedy, stop_ids={tokens[2]}))[-1] == tokens[2]
    assert len(list(decoder.generate(prompt, 10, greedy, set(), should_stop=lambda: True))) == 1
    with pytest.raises(ValueError, match="at most 64"):
        list(decoder.generate(torch.zeros(64, dtype=torch.long), 4, greedy, set()))
    # Greedy decoding agrees with transformers' generate() on the same weights.
    model = _tiny_llama()
    with torch.inference_mode():
        reference = model.generate(prompt[None], max_new_tokens=10, do_sample=False, min_new_tokens=10,
                                   pad_token_id=0, eos_token_id=None)[0, 3:].tolist()
    assert tokens == reference


def test_chooser_filters_logits_exactly_as_transformers_processors():
    from transformers.generation.logits_process import (RepetitionPenaltyLogitsProcessor,
                                                        TemperatureLogitsWarper, TopKLogitsWarper,
                                                        TopPLogitsWarper)

    from engine.llm.decode import filter_logits

    torch.manual_seed(3)
    logits = torch.randn(500) * 3
    seen = torch.tensor([4, 9, 9, 250, 499])
    ours = filter_logits(torch, logits, seen, temperature=0.7, top_p=0.9, top_k=50, repetition_penalty=1.3)
    theirs = logits[None].clone()
    for processor in (RepetitionPenaltyLogitsProcessor(1.3), TemperatureLogitsWarper(0.7), TopKLogitsWarper(50),
                      TopPLogitsWarper(0.9)):
        theirs = processor(seen[None], theirs)
    assert torch.equal(torch.isinf(ours), torch.isinf(theirs[0]))
    kept = ~torch.isinf(ours)
    assert 1 < kept.sum() <= 50
    assert torch.allclose(ours[kept], theirs[0][kept])


def test_seeded_sampling_repeats_and_greedy_ignores_the_seed():
    from engine.llm.decode import make_chooser

    logits, seen = torch.randn(300), torch.tensor([1, 2])
    draws = [make_chooser(torch, temperature=1.0, top_p=0.95, generator=torch.Generator().manual_seed(7))(logits, seen)
             for _ in range(2)]
    assert draws[0] == draws[1]
    assert make_chooser(torch)(logits, seen) == int(logits.argmax())


def test_models_it_cannot_run_are_named_with_the_reason():
    from transformers import GPT2Config, GPT2LMHeadModel

    from engine.llm.decode import unsupported_reason

    assert unsupported_reason(_tiny_llama()) is None
    assert "dynamic" in unsupported_reason(_tiny_llama(rope_scaling={"rope_type": "dynamic", "factor": 2.0}))
    gpt2 = GPT2LMHeadModel(GPT2Config(n_layer=1, n_embd=32, n_head=2, vocab_size=50))
    assert "gpt2" in unsupported_reason(gpt2)


@pytest.mark.model
def test_real_model_decoder_reproduces_transformers_fp32_generate_and_perplexity(fp32_reference_llm):
    """The embedded SmolLM2 in float32: the lean loop and generate() give the same greedy text."""
    from engine.llm.decode import LlamaDecoder, make_chooser

    llm = fp32_reference_llm
    decoder = LlamaDecoder(llm.model, "float32", "float32", torch)
    prompt = llm._encode_chat([Message("user", "Name one use of attention in neural networks.")])["input_ids"]
    with torch.inference_mode():
        reference = llm.model.generate(prompt, max_new_tokens=16, do_sample=False, repetition_penalty=1.0,
                                       temperature=None, top_p=None, top_k=None, disable_compile=True,
                                       pad_token_id=llm.tokenizer.eos_token_id)[0, prompt.shape[1]:].tolist()
        logits = llm.model(prompt).logits[0]
        decoder.reset(prompt.shape[1])
        mine = decoder.forward(prompt[0], all_logits=True)
    assert (mine - logits).abs().max() < 1e-2 * logits.abs().max()
    tokens = list(decoder.generate(prompt[0], 16, make_chooser(torch), llm.stop_ids))
    assert tokens == reference[:len(tokens)] and len(tokens) >= 8


@pytest.mark.model
def test_default_cpu_backend_streams_from_another_thread_and_its_perplexity_matches_fp32(
        hf_llm, fp32_reference_llm):
    assert hf_llm.decoder is not None and hf_llm.model is None  # no second copy of the weights
    out: dict = {}

    def run() -> None:  # Streamlit runs each page script in its own thread
        out["result"] = generate(hf_llm, [Message("user", "What is a KV cache?")],
                                 GenerationParams(max_new_tokens=12, temperature=0.8, top_p=0.9, seed=5))

    thread = threading.Thread(target=run)
    thread.start()
    thread.join()
    assert out["result"].text.strip() and 0 < out["result"].new_tokens <= 12
    text = "Attention lets each token weigh every other token in the sequence."
    int4, fp32 = hf_llm.perplexity(text), fp32_reference_llm.perplexity(text)
    assert 1.0 < int4 and abs(int4 - fp32) / fp32 < 0.25  # 4-bit weights move it a little, not a lot


@pytest.mark.model
def test_detokenizer_pieces_join_to_the_full_decode(hf_llm):
    from engine.llm.hf import Detokenizer

    tokenizer = hf_llm.tokenizer
    text = ("Naïve café — 東京 🚀 attention.\n\n  def f(x):\n      return x  # ok\n"
            "Scaled by 1/√d_k [1]. Emoji 👩‍🔬 and 'quotes' end.")
    ids = tokenizer.encode(text, add_special_tokens=False) + [tokenizer.eos_token_id]
    stream = Detokenizer(tokenizer)
    pieces = [stream.add(i) for i in ids]
    pieces.append(stream.flush())
    assert "".join(pieces) == tokenizer.decode(ids, skip_special_tokens=True)
    assert sum(1 for p in pieces if p) > 10  # it streams, not one piece at the end
    assert not any("\ufffd" in p for p in pieces)
