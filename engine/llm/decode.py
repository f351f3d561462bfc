"""A lean CPU decoding loop for Llama-architecture models, on weights loaded by transformers.

`model.generate()` spends most of a small model's time outside the matmuls: per layer it runs
three projections where one would do, grows the KV cache with `torch.cat` every token, calls
CPU flash attention (~0.2 ms per call for a single query) and a few dozen small ops, and then
runs the logits processors and stopping criteria. On SmolLM2-135M that overhead is larger than
the weights' own arithmetic. This loop keeps the model's numbers and does the same maths with
fewer, larger operations:

- q, k and v are one matmul (their weights stacked), gate and up another; the attention scale
  is folded into the q weights (RoPE is linear, so it commutes);
- the KV cache is preallocated per generation and written in place;
- decoding attention for one query is two batched matmuls over the cache, grouped-query heads
  sharing their key/value head without copies; the prompt goes through
  `scaled_dot_product_attention` with a causal mask;
- RoPE uses precomputed cos/sin tables and a half-swap instead of `cat`.

It supports models whose `config.model_type` is "llama" with a RoPE whose frequencies do not
depend on the sequence length (default, linear, llama3); `unsupported_reason` says why not
otherwise, and the backend then uses `generate()`. Weights are fused from the float model
before any quantization, then packed by the same int4 / int8 / float linears the backend uses.
tests/test_llm_decode.py checks its logits against the transformers forward pass.
"""

from __future__ import annotations

import math
from typing import Callable, Iterator

STATIC_ROPE = {"default", "linear", "llama3"}
# From this many tokens at once (a long prompt), projections dequantize their weights and run dense
# float32 matmuls. Measured on SmolLM2 here: dequantizing costs ~0.7 s a forward pass, and the two
# paths cross at ~256 tokens (1.29 s vs 1.31 s); at 512 dense takes 2.1 s against the kernel's 2.9 s.
MANY_ROWS = 256


def unsupported_reason(model) -> str | None:
    """None when `LlamaDecoder` can run `model`, else a short reason."""
    config = model.config
    if getattr(config, "model_type", None) != "llama":
        return f"model type {getattr(config, 'model_type', '?')!r} is not llama"
    rope = (getattr(config, "rope_parameters", None) or getattr(config, "rope_scaling", None) or {})
    rope_type = rope.get("rope_type", rope.get("type", "default")) if isinstance(rope, dict) else "default"
    if rope_type not in STATIC_ROPE:
        return f"RoPE type {rope_type!r} changes with sequence length"
    if getattr(config, "pretraining_tp", 1) != 1:
        return "pretraining_tp > 1"
    if getattr(config, "mlp_bias", False):
        return "MLP biases"
    if getattr(config, "hidden_act", "silu") != "silu":
        return f"activation {config.hidden_act!r}"
    return None


class LlamaDecoder:
    """Prefill and one-token decoding steps over a preallocated KV cache.

    `kind` is how the projection weights are stored (see engine.llm.packed.PackedWeight);
    `head_kind` the output head's. The residual stream, norms, RoPE and attention stay float32.

    An RMSNorm costs three small ops instead of a dozen: its weight (times √hidden) multiplies the
    input into the projection's own dtype in one op, and the division by the row's norm is applied
    to the projection's output (the projection is linear). The weight is not folded into the
    projection's columns: that would move int4 weights off their 4-bit grid (the GGUF's Q4_1).
    """

    def __init__(self, model, kind: str, head_kind: str, torch):
        from engine.llm.packed import PackedWeight

        self.torch = torch
        config = model.config
        self.heads = config.num_attention_heads
        self.kv_heads = config.num_key_value_heads
        self.hidden = config.hidden_size
        self.head_dim = getattr(config, "head_dim", None) or self.hidden // self.heads
        self.group = self.heads // self.kv_heads
        self.max_positions = getattr(config, "max_position_embeddings", 2048) or 2048
        self.intermediate = config.intermediate_size
        self.q_width = self.heads * self.head_dim
        self.kv_width = self.kv_heads * self.head_dim
        inner = model.model
        rotary = inner.rotary_emb
        self.inv_freq = rotary.inv_freq.detach().float().clone()
        self.rope_scaling = float(getattr(rotary, "attention_scaling", 1.0))
        self.embed = inner.embed_tokens.weight.detach().float()
        eps = float(config.rms_norm_eps)
        # rms_norm(x)·w = x·w·√d / √(‖x‖² + d·eps): hypot(‖x‖, √(d·eps)) is that denominator.
        self._eps_term = torch.tensor(math.sqrt(self.hidden * eps))
        root_d = math.sqrt(self.hidden)
        scale = self.head_dim ** -0.5

        def norm_weight(norm):
            return norm.detach().float() * root_d

        def bias(linear, factor=1.0):
            return None if getattr(linear, "bias", None) is None else linear.bias.detach().float() * factor

        self.layers = []
        with torch.no_grad():
            for layer in inner.layers:
                attn, mlp = layer.self_attn, layer.mlp
                norm1, norm2 = layer.input_layernorm.weight, layer.post_attention_layernorm.weight
                qkv = torch.cat([attn.q_proj.weight.float() * scale, attn.k_proj.weight.float(),
                                 attn.v_proj.weight.float()])
                qkv_bias = None
                if attn.q_proj.bias is not None:
                    qkv_bias = torch.cat([bias(attn.q_proj, scale), bias(attn.k_proj), bias(attn.v_proj)])
                gate_up = torch.cat([mlp.gate_proj.weight.float(), mlp.up_proj.weight.float()])
                self.layers.append((norm_weight(norm1), PackedWeight(qkv, kind, torch), qkv_bias,
                                    PackedWeight(attn.o_proj.weight.float(), kind, torch), bias(attn.o_proj),
                                    norm_weight(norm2), PackedWeight(gate_up, kind, torch),
                                    PackedWeight(mlp.down_proj.weight.float(), kind, torch)))
            head = model.get_output_embeddings()
            self.head = PackedWeight(head.weight.float(), head_kind, torch)
            self.final_norm = norm_weight(inner.norm.weight)
            self.head_bias = bias(head)
        self._cos = self._sin = None
        self.k_cache = self.v_cache = None
        self.length = 0

    # -- state -----------------------------------------------------------------------------
    def _rope_tables(self, positions: int) -> None:
        torch = self.torch
        if self._cos is not None and self._cos.shape[0] >= positions:
            return
        freqs = torch.arange(positions, dtype=torch.float32)[:, None] * self.inv_freq[None, :]
        cos, sin = freqs.cos() * self.rope_scaling, freqs.sin() * self.rope_scaling
        # x·cos + swap(x)·sin, with swap(x) = (x2, x1) = roll by half and the sign of -x2 in sin.
        self._cos = torch.cat([cos, cos], dim=-1)[:, None, :]
        self._sin = torch.cat([-sin, sin], dim=-1)[:, None, :]

    def reset(self, capacity: int) -> None:
        """Forget the cached sequence; make room for `capacity` positions."""
        capacity = max(capacity, 1)
        if self.capacity < capacity:
            # (layer, key/value head, position, head_dim): one head's keys are a plain matrix, which
            # the attention matmuls read fastest (measured against one joint k+v row per position).
            shape = (len(self.layers), self.kv_heads, capacity, self.head_dim)
            self.k_cache, self.v_cache = self.torch.empty(shape), self.torch.empty(shape)
        self._rope_tables(capacity)
        self.length = 0

    @property
    def capacity(self) -> int:
        return 0 if self.k_cache is None else self.k_cache.shape[2]

    # -- maths ---------------------------------------------------------------------------
    def _norm(self, h):
        """The row-wise RMSNorm denominator, shape (n, 1); its weight multiplies the projection's input."""
        torch = self.torch
        return torch.hypot(torch.linalg.vector_norm(h, dim=-1, keepdim=True), self._eps_term)

    def _normed_project(self, weight, norm, h):
        """rms_norm(h)·norm @ weightᵀ, float32."""
        torch = self.torch
        if h.shape[0] >= MANY_ROWS:
            return weight.many_rows(h * norm).div_(self._norm(h))
        x = torch.empty(h.shape, dtype=weight.input_dtype)
        torch.mul(h, norm, out=x)
        return weight(x).float().div_(self._norm(h))

    def _project(self, weight, x):
        if x.shape[0] >= MANY_ROWS:
            return weight.many_rows(x)
        return weight(x.to(weight.input_dtype)).float()  # .float() returns float32 outputs as they are

    def forward(self, ids, all_logits: bool = False):
        """Run `ids` (1-D token tensor) after the cached sequence; float32 logits of the last
        position (shape (1, vocab)), or of every position with `all_logits`."""
        torch = self.torch
        F = torch.nn.functional
        n, start = ids.shape[0], self.length
        end = start + n
        if end > self.capacity:
            raise ValueError(f"KV cache holds {self.capacity} positions; {end} needed "
                             "(call reset with a larger capacity)")
        cos, sin = self._cos[start:end], self._sin[start:end]
        hd, kvh, q_width, kv_width = self.head_dim, self.kv_heads, self.q_width, self.kv_width
        qk_width, half = q_width + kv_width, hd // 2
        h = F.embedding(ids, self.embed)  # (n, hidden), float32
        for i, (norm1, qkv, qkv_bias, out, out_bias, norm2, gate_up, down) in enumerate(self.layers):
            y = self._normed_project(qkv, norm1, h)  # (n, q + k + v)
            if qkv_bias is not None:
                y.add_(qkv_bias)
            qk = y[:, :qk_width].unflatten(-1, (-1, hd))
            torch.addcmul(qk * cos, qk.roll(half, dims=-1), sin, out=qk)  # RoPE, in place
            k_cache, v_cache = self.k_cache[i], self.v_cache[i]  # (kvh, capacity, hd)
            k_cache[:, start:end].copy_(y[:, q_width:qk_width].view(n, kvh, hd).transpose(0, 1))
            v_cache[:, start:end].copy_(y[:, qk_width:].view(n, kvh, hd).transpose(0, 1))
            keys, values = k_cache[:, :end], v_cache[:, :end]
            if n == 1:
                # The group's queries share one key/value head: (kvh, group, hd) @ (kvh, hd, end).
                scores = torch.bmm(y[:, :q_width].view(kvh, self.group, hd), keys.transpose(1, 2))
                attn = torch.bmm(scores.softmax(dim=-1), values).view(1, q_width)
            else:
                # Batched (4-D) inputs: torch takes its CPU flash kernel only for those; 3-D ones
                # fall to the math path, measured ~7x slower on a 1,200-token prompt.
                queries = y[:, :q_width].view(n, self.heads, hd).transpose(0, 1)[None]
                mask = None if start == 0 else self._causal_mask(start, end)
                attn = F.scaled_dot_product_attention(queries, keys[None], values[None], attn_mask=mask,
                                                      is_causal=start == 0, scale=1.0, enable_gqa=self.group > 1)
                attn = attn[0].transpose(0, 1).reshape(n, q_width)
            h.add_(self._project(out, attn))
            if out_bias is not None:
                h.add_(out_bias)
            g = self._normed_project(gate_up, norm2, h)
            mixed = F.silu(g[:, :self.intermediate]).mul_(g[:, self.intermediate:])
            h.add_(self._project(down, mixed))
        self.length = end
        if not all_logits:
            h = h[-1:]
        logits = self._normed_project(self.head, self.final_norm, h)
        return logits if self.head_bias is None else logits.add_(self.head_bias)

    def _causal_mask(self, start: int, end: int):
        torch = self.torch
        rows = torch.arange(start, end)[:, None]
        return torch.arange(end)[None, :] <= rows  # True = may attend

    # -- generation ----------------------------------------------------------------------
    def generate(self, prompt_ids, max_new_tokens: int, choose: Callable, stop_ids: set[int],
                 should_stop: Callable[[], bool] = lambda: False) -> Iterator[int]:
        """Yield up to `max_new_tokens` new token ids; `choose(logits, seen_ids)` picks each.

        Inference mode is entered per step, not across the yields, so the caller's own code between
        tokens runs in its normal autograd state."""
        torch = self.torch
        prompt_ids = prompt_ids.reshape(-1)
        if prompt_ids.shape[0] >= self.max_positions:
            raise ValueError(f"The prompt has {prompt_ids.shape[0]} tokens; the model takes at most "
                             f"{self.max_positions}.")
        limit = min(max_new_tokens, self.max_positions - prompt_ids.shape[0])
        self.reset(prompt_ids.shape[0] + limit)
        seen = torch.empty(prompt_ids.shape[0] + limit, dtype=torch.long)
        seen[:prompt_ids.shape[0]] = prompt_ids
        count = prompt_ids.shape[0]
        with torch.inference_mode():
            token = int(choose(self.forward(prompt_ids)[-1], seen[:count]))
        for step in range(limit):
            yield token
            if token in stop_ids or step == limit - 1 or should_stop():
                return
            seen[count] = token
            count += 1
            with torch.inference_mode():
                token = int(choose(self.forward(seen[count - 1:count])[-1], seen[:count]))


def filter_logits(torch, logits, seen, temperature: float = 1.0, top_p: float = 1.0, top_k: int = 0,
                  repetition_penalty: float = 1.0):
    """Logits as transformers' generate() leaves them before its draw: the repetition penalty over
    every seen id (prompt included), then temperature, top-k and top-p (nucleus) filtering, in
    that order; filtered-out tokens are -inf."""
    if repetition_penalty != 1.0:
        logits = logits.clone()
        picked = logits[seen]
        logits[seen] = torch.where(picked < 0, picked * repetition_penalty, picked / repetition_penalty)
    if temperature > 0 and temperature != 1.0:
        logits = logits / temperature
    if 0 < top_k < logits.shape[-1]:
        kth = torch.topk(logits, top_k).values[-1]
        logits = logits.masked_fill(logits < kth, float("-inf"))
    if top_p < 1.0:
        ordered, order = torch.sort(logits)  # ascending
        drop = ordered.softmax(dim=-1).cumsum(dim=-1) <= 1 - top_p
        drop[-1] = False  # always keep the most likely token
        logits = logits.masked_fill(drop.scatter(0, order, drop), float("-inf"))
    return logits


def make_chooser(torch, temperature: float = 0.0, top_p: float = 1.0, top_k: int = 0,
                 repetition_penalty: float = 1.0, generator=None) -> Callable:
    """`choose(logits, seen_ids) -> token id`: greedy when temperature is 0 (after the repetition
    penalty), else a draw from `filter_logits`' distribution with `generator` (a seeded
    torch.Generator, or None for torch's global one)."""

    def choose(logits, seen):
        if temperature <= 0:
            return int(filter_logits(torch, logits, seen, repetition_penalty=repetition_penalty).argmax())
        kept = filter_logits(torch, logits, seen, temperature, top_p, top_k, repetition_penalty)
        return int(torch.multinomial(kept.softmax(dim=-1), 1, generator=generator))

    return choose
