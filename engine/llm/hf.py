"""transformers backend: any HF model id or local folder, the embedded GGUF, 4-bit NF4 via bitsandbytes.

Quantization modes (Settings.quantization):
- auto: CUDA → bitsandbytes NF4 (double quantization, bf16 compute); CPU → int4. Dynamic
  int8 on CPU is faster but measured here to make SmolLM2's output loop (shared/STACK.md), so
  it is not offered.
- int4 (CPU only): weight-only 4-bit, groups of 32 input channels with a scale and an offset
  each, through torch's `_weight_int4pack_mm_for_cpu`; activations in bf16 (that kernel's
  float32 path is not vectorized). Decoding one token reads every weight once, so on a
  memory-bound CPU 4-bit weights are the fastest transformers path (bench/results.md "llm").
  For the embedded GGUF it is no further loss: its block weights are Q4_1, which is exactly
  this format (4 bits, 32-wide groups, scale + minimum). The tied output head becomes int8
  per output channel instead, as the GGUF keeps it at 8 bits (Q8_0).
- nf4: bitsandbytes 4-bit NF4 (CUDA, or CPU with bitsandbytes >= 0.49).
- int8: CUDA → bitsandbytes LLM.int8(); CPU → weight-only int8 (per-output-channel scales,
  `torch._weight_int8pack_mm`, activations in bf16 because that op is only vectorized for
  bf16 on AVX2 CPUs). Unlike torch dynamic int8, which also quantizes activations and made
  SmolLM2 loop, it keeps the output sane; the tied output head is quantized too.
- none: full weights in `dtype` (auto → bf16 on CUDA; float32 for a GGUF on CPU).
A GGUF model cannot be handed to bitsandbytes directly: it is dequantized once and saved as
a plain HF copy under the cache directory, which bitsandbytes then loads.

Settings.compile (PEERDRAFT_COMPILE, default off): a static KV cache sized in 512-token
buckets plus `torch.compile` (inductor, no CUDA graphs on CPU) of the decoding step. The
compile runs once at load (a warm-up generation), so load time grows by the compile time;
each larger cache bucket compiles once more. bench/results.md ("llm") has the measured
trade-off on this machine, which is why it is off by default.
"""

from __future__ import annotations

import functools
import importlib.util
import logging
import math
import os
import threading
from pathlib import Path
from typing import Iterator, Sequence

from engine.embedded import SMOLLM2_NAME, embedded_llm, offline_hub
from engine.errors import ConfigError, ModelError
from engine.llm import GenerationParams, Message, cuda_available
from engine.settings import Settings

log = logging.getLogger(__name__)


def _model_source(settings: Settings) -> tuple[str, str | None, str]:
    """(folder or HF id, gguf file name or None, display name) for the configured model."""
    if not settings.llm_model:
        model = embedded_llm()
        return str(model.directory), model.file_name, SMOLLM2_NAME
    raw = settings.llm_model
    path = Path(raw).expanduser()
    if path.suffix == ".gguf":
        if not path.is_file():
            raise ConfigError(f"Model file {path} does not exist.", "Fix PEERDRAFT_LLM_MODEL.")
        return str(path.parent), path.name, path.name
    if path.exists() or raw.startswith((".", "/", "~")):
        if not (path / "config.json").is_file():
            raise ConfigError(f"Model folder {path} does not exist or has no config.json.",
                              "Point PEERDRAFT_LLM_MODEL at a saved transformers model folder.")
        return str(path), None, path.name
    return raw, None, raw  # an HF id: works with a populated HF cache or PEERDRAFT_ALLOW_HUB=1


def _available_bytes(on_cuda: bool) -> int | None:
    if on_cuda:
        import torch

        free, _total = torch.cuda.mem_get_info()
        return int(free)
    try:
        with open("/proc/meminfo") as meminfo:
            for line in meminfo:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        return None
    return None


def _weights_bytes(folder: str, gguf_file: str | None) -> int | None:
    root = Path(folder)
    if not root.is_dir():
        return None
    if gguf_file:
        # Dequantized to 16/32-bit floats when loaded by transformers: a GGUF Q4 grows ~4-8x.
        return (root / gguf_file).stat().st_size * 8
    return sum(p.stat().st_size for p in root.glob("*.safetensors")) or \
        sum(p.stat().st_size for p in root.glob("*.bin")) or None


CACHE_BUCKET = 512


def quantize_weights_int8(model, torch, only_head: bool = False) -> None:
    """Replace every nn.Linear of `model` (the tied output head included), or only the head, by a weight-only int8 one."""
    head = model.get_output_embeddings()
    if head is not None and head.weight is model.get_input_embeddings().weight:
        untied = torch.nn.Linear(head.in_features, head.out_features, bias=False,
                                 dtype=head.weight.dtype, device=head.weight.device)
        untied.weight = torch.nn.Parameter(head.weight.detach().clone(), requires_grad=False)
        model.set_output_embeddings(untied)
    if only_head:
        head = model.get_output_embeddings()
        if isinstance(head, torch.nn.Linear):
            model.set_output_embeddings(_int8_linear(head, torch))
        return
    for module in list(model.modules()):
        for name, child in list(module.named_children()):
            if isinstance(child, torch.nn.Linear):
                setattr(module, name, _int8_linear(child, torch))


def _int8_linear(linear, torch):
    """A weight-only int8 copy of `linear`: int8 rows with one float scale per output channel."""
    weight = linear.weight.detach().float()
    scales = weight.abs().amax(dim=1).clamp(min=1e-12) / 127.0
    qweight = torch.round(weight / scales[:, None]).clamp(-127, 127).to(torch.int8)
    bias = None if linear.bias is None else linear.bias.detach()
    return _int8_linear_class()(qweight, scales.to(linear.weight.dtype), bias)


INT4_GROUP = 32


def quantize_weights_int4(model, torch, group_size: int = INT4_GROUP) -> None:
    """Replace each nn.Linear of a bf16 `model` by a weight-only int4 one; the output head becomes int8.

    Linears the kernel cannot pack (input width not a multiple of `group_size`, output width not a
    multiple of 16) stay as they are."""
    quantize_weights_int8(model, torch, only_head=True)
    for module in list(model.modules()):
        for name, child in list(module.named_children()):
            if isinstance(child, torch.nn.Linear) and child.in_features % group_size == 0 \
                    and child.out_features % 16 == 0:
                setattr(module, name, _int4_linear(child, torch, group_size))


def _int4_linear(linear, torch, group_size: int):
    """A weight-only int4 copy of `linear`: per group of `group_size` inputs, w ≈ q·scale + minimum."""
    weight = linear.weight.detach().float()
    out_features, in_features = weight.shape
    groups = weight.reshape(out_features, in_features // group_size, group_size)
    low, high = groups.amin(dim=-1, keepdim=True), groups.amax(dim=-1, keepdim=True)
    scale = ((high - low) / 15.0).clamp(min=1e-12)
    q = torch.round((groups - low) / scale).clamp(0, 15).to(torch.int32).reshape(out_features, in_features)
    packed = torch.ops.aten._convert_weight_to_int4pack_for_cpu(q, 1)
    # The kernel computes (q - 8)·scale + zero, so zero is the group's value at q = 8.
    zero = low + 8 * scale
    scales_and_zeros = torch.stack([scale.reshape(out_features, -1).t(), zero.reshape(out_features, -1).t()],
                                   dim=-1).contiguous().to(torch.bfloat16)
    bias = None if linear.bias is None else linear.bias.detach()
    return _int4_linear_class()(packed, scales_and_zeros, bias, group_size, out_features, in_features)


@functools.cache
def _int4_linear_class():
    import torch  # defined on first use so importing this module stays light

    class Int4WeightOnlyLinear(torch.nn.Module):
        """y = x @ dequantized(packed).T + bias, through torch's packed int4 CPU matmul (bf16 activations)."""

        def __init__(self, packed, scales_and_zeros, bias, group_size, out_features, in_features):
            super().__init__()
            self.register_buffer("packed", packed)
            self.register_buffer("scales_and_zeros", scales_and_zeros)
            self.register_buffer("bias", bias)
            self.group_size, self.out_features, self.in_features = group_size, out_features, in_features

        def forward(self, x):
            flat = x.reshape(-1, self.in_features).to(torch.bfloat16)
            y = torch._weight_int4pack_mm_for_cpu(flat, self.packed, self.group_size, self.scales_and_zeros)
            y = y.reshape(*x.shape[:-1], self.out_features).to(x.dtype)
            return y if self.bias is None else y + self.bias

    return Int4WeightOnlyLinear


@functools.cache
def _int8_linear_class():
    import torch  # defined on first use so importing this module stays light

    class Int8WeightOnlyLinear(torch.nn.Module):
        """y = x @ (qweight * scales[:, None]).T + bias, through torch's packed int8 matmul."""

        def __init__(self, qweight, scales, bias):
            super().__init__()
            self.register_buffer("qweight", qweight.contiguous())
            self.register_buffer("scales", scales)
            self.register_buffer("bias", bias)
            self.out_features, self.in_features = qweight.shape

        def forward(self, x):
            y = torch._weight_int8pack_mm(x.reshape(-1, self.in_features), self.qweight, self.scales.to(x.dtype))
            y = y.reshape(*x.shape[:-1], self.out_features)
            return y if self.bias is None else y + self.bias

    return Int8WeightOnlyLinear


class TransformersLLM:
    """Chat generation with streaming through transformers' TextIteratorStreamer."""

    backend = "transformers"

    def __init__(self, settings: Settings):
        offline_hub()
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer

        folder, gguf_file, self.model_name = _model_source(settings)
        self._on_cuda = cuda_available()
        self.device = "cuda" if self._on_cuda else "cpu"
        self.quantization = self._resolve_quantization(settings.quantization)
        dtype = self._resolve_dtype(settings.dtype, torch, from_gguf=gguf_file is not None)
        if settings.llm_threads:
            torch.set_num_threads(settings.llm_threads)
        self.compile = settings.compile

        need, have = _weights_bytes(folder, gguf_file), _available_bytes(self._on_cuda)
        if need and have and self.quantization == "none" and need > have:
            raise ModelError(f"{self.model_name} needs about {need / 2**30:.1f} GiB but only "
                             f"{have / 2**30:.1f} GiB is free on {self.device}.",
                             "Set PEERDRAFT_QUANTIZATION=nf4 (CUDA) or choose a smaller PEERDRAFT_LLM_MODEL.")
        try:
            self.tokenizer = AutoTokenizer.from_pretrained(folder, gguf_file=gguf_file)
            if self.quantization == "nf4" or (self.quantization == "int8" and self._on_cuda):
                if gguf_file:
                    folder = str(self._plain_copy(settings, folder, gguf_file))
                self.model = AutoModelForCausalLM.from_pretrained(
                    folder, quantization_config=self._bnb_config(torch),
                    device_map="auto" if self._on_cuda else "cpu", dtype=torch.bfloat16)
            else:
                if self.quantization in ("int8", "int4"):
                    dtype = torch.bfloat16  # the packed int8/int4 matmuls are only fast with bf16 activations
                self.model = AutoModelForCausalLM.from_pretrained(folder, gguf_file=gguf_file, dtype=dtype)
                self.model.to(self.device)
                if self.quantization == "int8":
                    quantize_weights_int8(self.model, torch)
                elif self.quantization == "int4":
                    quantize_weights_int4(self.model, torch)
        except OSError as exc:
            raise ModelError(f"Could not load model {self.model_name!r}: {exc}",
                             "Use a local folder, a .gguf file, or an HF id already in your HF cache "
                             "(set PEERDRAFT_ALLOW_HUB=1 to let it download).") from exc
        self.model.eval()
        self._torch = torch
        self._lock = threading.Lock()
        if self.compile:
            self._warm_up()

    def _warm_up(self) -> None:
        """Run a short greedy generation so torch.compile happens at load, not on first use."""
        from engine.llm import GenerationParams, Message

        for _piece in self.stream_chat([Message("user", "Hello.")],
                                       GenerationParams(max_new_tokens=4, temperature=0.0, repetition_penalty=1.0)):
            pass

    def _compile_kwargs(self, prompt_tokens: int, max_new_tokens: int) -> dict:
        """generate() arguments for the static-cache + torch.compile path."""
        from transformers import CompileConfig

        config = CompileConfig(fullgraph=False, dynamic=False, backend="inductor",
                               mode="reduce-overhead" if self._on_cuda else "default")
        config._compile_all_devices = True  # transformers only auto-compiles on accelerators otherwise
        # Attention over a static cache reads every slot each step, so size it tightly; a bucket
        # keeps its shape (and the compiled graph) across calls of similar length.
        bucket = -(-(prompt_tokens + max_new_tokens) // CACHE_BUCKET) * CACHE_BUCKET
        return dict(cache_implementation="static", max_cache_len=bucket, compile_config=config)

    def _resolve_quantization(self, mode: str) -> str:
        if mode == "auto":
            if not self._on_cuda:
                return "int4"
            return "nf4" if importlib.util.find_spec("bitsandbytes") else "none"
        if mode == "int4" and self._on_cuda:
            raise ConfigError("Quantization int4 is a CPU mode (torch's packed int4 CPU kernel).",
                              "Set PEERDRAFT_QUANTIZATION=nf4 (or auto) on CUDA.")
        if mode == "nf4" and importlib.util.find_spec("bitsandbytes") is None:
            raise ConfigError("Quantization nf4 needs bitsandbytes, which is not installed.",
                              "Install it (pip install 'peerdraft[gpu]') or set PEERDRAFT_QUANTIZATION=none.")
        return mode

    def _resolve_dtype(self, dtype: str, torch, from_gguf: bool):
        if dtype == "auto":
            # transformers keeps GGUF weights packed and computes in float32 on CPU; casting
            # to bf16 only adds conversions. Plain checkpoints run well in bf16.
            return torch.float32 if from_gguf and not self._on_cuda else torch.bfloat16
        return getattr(torch, dtype)

    @staticmethod
    def _bnb_config(torch):
        from transformers import BitsAndBytesConfig

        return BitsAndBytesConfig(load_in_4bit=True, bnb_4bit_quant_type="nf4",
                                  bnb_4bit_use_double_quant=True, bnb_4bit_compute_dtype=torch.bfloat16)

    def _plain_copy(self, settings: Settings, folder: str, gguf_file: str) -> Path:
        """A dequantized HF copy of a GGUF model (bitsandbytes cannot read GGUF), made once."""
        from transformers import AutoModelForCausalLM, AutoTokenizer

        target = settings.cache_dir / "hf-models" / Path(gguf_file).stem
        if (target / "config.json").is_file():
            return target
        model = AutoModelForCausalLM.from_pretrained(folder, gguf_file=gguf_file)
        # The GGUF quantizer blocks save_pretrained; drop it, the weights are already plain floats.
        model.hf_quantizer = None
        if hasattr(model.config, "quantization_config"):
            del model.config.quantization_config
        tmp = target.with_name(target.name + ".tmp")
        model.save_pretrained(tmp)
        AutoTokenizer.from_pretrained(folder, gguf_file=gguf_file).save_pretrained(tmp)
        os.replace(tmp, target)
        return target

    def _encode_chat(self, messages: Sequence[Message]):
        chat = [{"role": m.role, "content": m.content} for m in messages]
        prompt = self.tokenizer.apply_chat_template(chat, tokenize=False, add_generation_prompt=True)
        return self.tokenizer(prompt, return_tensors="pt", add_special_tokens=False).to(self.device)

    def stream_chat(self, messages: Sequence[Message], params: GenerationParams,
                    stop_event: threading.Event | None = None) -> Iterator[str]:
        from transformers import StoppingCriteria, StoppingCriteriaList, TextIteratorStreamer

        finished = threading.Event()  # ours: set when the consumer stops reading

        class _StopWhenSet(StoppingCriteria):
            def __call__(self, input_ids, scores, **kwargs):
                return finished.is_set() or (stop_event is not None and stop_event.is_set())

        inputs = self._encode_chat(messages)
        streamer = TextIteratorStreamer(self.tokenizer, skip_prompt=True, skip_special_tokens=True,
                                        timeout=600)
        kwargs = dict(**inputs, streamer=streamer, max_new_tokens=params.max_new_tokens,
                      repetition_penalty=params.repetition_penalty,
                      stopping_criteria=StoppingCriteriaList([_StopWhenSet()]),
                      pad_token_id=self.tokenizer.pad_token_id or self.tokenizer.eos_token_id)
        if self.compile:
            kwargs.update(self._compile_kwargs(inputs["input_ids"].shape[1], params.max_new_tokens))
        else:
            kwargs.update(disable_compile=True)
        if params.temperature > 0:
            kwargs.update(do_sample=True, temperature=params.temperature, top_p=params.top_p)
            if params.seed is not None:
                self._torch.manual_seed(params.seed)
        else:
            kwargs.update(do_sample=False, temperature=None, top_p=None, top_k=None)
        errors: list[BaseException] = []

        def work() -> None:
            try:
                with self._torch.inference_mode():
                    self.model.generate(**kwargs)
            except BaseException as exc:  # surfaced to the consumer below
                errors.append(exc)
                streamer.end()

        with self._lock:
            thread = threading.Thread(target=work, daemon=True)
            thread.start()
            try:
                text = ""
                for piece in streamer:
                    text += piece
                    if piece:
                        yield piece
                    if params.stop and any(s in text for s in params.stop):
                        break
            finally:
                finished.set()
                thread.join()
        if errors:
            raise ModelError(f"Generation failed: {errors[0]}")

    def count_tokens(self, text: str) -> int:
        return len(self.tokenizer.encode(text, add_special_tokens=False))

    def perplexity(self, text: str) -> float:
        torch = self._torch
        ids = self.tokenizer(text, return_tensors="pt").input_ids.to(self.device)
        if ids.shape[1] < 2:
            raise ModelError("Perplexity needs at least two tokens of text.")
        window = min(1024, getattr(self.model.config, "max_position_embeddings", 1024) or 1024)
        nll, count = 0.0, 0
        with self._lock, torch.inference_mode():
            for start in range(0, ids.shape[1] - 1, window - 1):
                chunk = ids[:, start:start + window]
                if chunk.shape[1] < 2:
                    break
                out = self.model(chunk, labels=chunk)
                n = chunk.shape[1] - 1
                nll += float(out.loss) * n
                count += n
        return math.exp(nll / count)
