"""transformers backend: any HF model id or local folder, the embedded GGUF, 4-bit NF4 via bitsandbytes.

Quantization modes (Settings.quantization):
- auto: CUDA → bitsandbytes NF4 (double quantization, bf16 compute); CPU → int4. Dynamic
  int8 on CPU is faster but measured here to make SmolLM2's output loop (shared/STACK.md), so
  it is not offered.
- int4 (CPU only): weight-only 4-bit in groups of 32 (engine/llm/packed.py). Decoding one token
  reads every weight once, so on a memory-bound CPU 4-bit weights are the fastest transformers
  path. For the embedded GGUF it is no further loss: its block weights are Q4_1, exactly this
  format. The output head becomes int8 per output channel, as the GGUF keeps it at 8 bits (Q8_0).
- nf4: bitsandbytes 4-bit NF4 (CUDA, or CPU with bitsandbytes >= 0.49).
- int8: CUDA → bitsandbytes LLM.int8(); CPU → weight-only int8 (per-output-channel scales).
  Unlike torch dynamic int8, which also quantizes activations and made SmolLM2 loop, it keeps
  the output sane; the output head is quantized too.
- none: full weights in `dtype` (auto → bf16 on CUDA; float32 for a GGUF on CPU).
A GGUF is converted once to a plain float32 HF copy under the cache directory (reading a GGUF
through transformers takes ~40 s here, the copy loads in seconds), and every mode loads that copy;
bitsandbytes could not read the GGUF directly anyway.

On CPU, Llama-architecture models (the embedded SmolLM2 included) decode through PeerDraft's own
loop (engine/llm/decode.py; Settings.lean_decode, on by default) on weights transformers loaded:
the same maths with fused projections and a preallocated KV cache, about twice the tokens/s of
`generate()` here (bench/results.md, "llm"). It streams in the caller's thread. Other
architectures, CUDA, and `compile` use `generate()` with a TextIteratorStreamer thread.

Settings.compile (PEERDRAFT_COMPILE, default off): a static KV cache sized in 512-token
buckets plus `torch.compile` (inductor, no CUDA graphs on CPU) of the decoding step. The
compile runs once at load (a warm-up generation), so load time grows by the compile time;
each larger cache bucket compiles once more. bench/results.md ("llm") has the measured
trade-off on this machine, which is why it is off by default.
"""

from __future__ import annotations

import importlib.util
import logging
import math
import os
import shutil
import threading
from pathlib import Path
from typing import Iterator, Sequence

from engine.bundled_models import offline_hub, profile_llm
from engine.errors import ConfigError, ModelError
from engine.llm import GenerationParams, Message, cuda_available
from engine.llm.copyguard import CopyGuard, guard_for, vocabulary_ids
from engine.llm.packed import quantize_weights_int4, quantize_weights_int8
from engine.settings import Settings

log = logging.getLogger(__name__)


def _model_source(settings: Settings) -> tuple[str, str | None, str]:
    """(folder or HF id, gguf file name or None, display name) for the configured model."""
    if not settings.llm_model:
        model = profile_llm(settings.llm_profile)
        return str(model.directory), model.file_name, model.name
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


def _read_text(path: Path) -> str | None:
    try:
        return path.read_text()
    except OSError:
        return None


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


class Detokenizer:
    """Text pieces for token ids as they come, decoding a window of a few tokens each time.

    transformers' TextStreamer decodes everything since the last newline at every token, which cost
    this loop milliseconds a token on long lines. The window starts one emitted piece back, so a
    tokenizer that drops the leading space of the first token it decodes drops it from both texts
    compared; a piece is held back while it ends in an incomplete UTF-8 character (U+FFFD)."""

    def __init__(self, tokenizer):
        self.tokenizer, self.ids = tokenizer, []
        self.prefix = self.read = 0  # ids[prefix:read] were decoded already; ids[read:] are pending

    def _pending(self) -> str:
        """The text ids[read:] add after what was emitted, decoded with the window's prefix."""
        decode = self.tokenizer.decode
        before = decode(self.ids[self.prefix:self.read], skip_special_tokens=True)
        now = decode(self.ids[self.prefix:], skip_special_tokens=True)
        return now[len(before):] if len(now) > len(before) else ""

    def add(self, token_id: int) -> str:
        self.ids.append(token_id)
        piece = self._pending()
        if not piece or piece.endswith("\ufffd"):
            return ""
        self.prefix, self.read = self.read, len(self.ids)
        return piece

    def flush(self) -> str:
        """Whatever is still held back at the end of generation."""
        piece = self._pending()
        self.prefix = self.read = len(self.ids)
        return piece


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
        self.decoder = None  # the lean CPU decoding loop (engine/llm/decode.py), when it applies
        try:
            if gguf_file:
                # Reading a GGUF through transformers takes ~40 s here (parsing its vocabulary and
                # mapping tensor names); the plain copy it is converted to once loads in seconds.
                folder, gguf_file = str(self._plain_copy(settings, folder, gguf_file)), None
            self.tokenizer = AutoTokenizer.from_pretrained(folder)
            if self.quantization == "nf4" or (self.quantization == "int8" and self._on_cuda):
                self.model = AutoModelForCausalLM.from_pretrained(
                    folder, quantization_config=self._bnb_config(torch),
                    device_map="auto" if self._on_cuda else "cpu", dtype=torch.bfloat16)
            else:
                lean = settings.lean_decode and not self._on_cuda and not self.compile
                if self.quantization in ("int8", "int4"):
                    # The lean loop quantizes from float32 (a GGUF's Q4_1 grid survives exactly);
                    # the packed matmuls in a transformers model want bf16 activations.
                    dtype = torch.float32 if lean else torch.bfloat16
                self.model = AutoModelForCausalLM.from_pretrained(folder, dtype=dtype)
                self.model.to(self.device)
                if lean:
                    self.decoder = self._lean_decoder(dtype, torch)
                if self.decoder is None and self.quantization == "int8":
                    quantize_weights_int8(self.model, torch)
                elif self.decoder is None and self.quantization == "int4":
                    quantize_weights_int4(self.model, torch)
        except OSError as exc:
            raise ModelError(f"Could not load model {self.model_name!r}: {exc}",
                             "Use a local folder, a .gguf file, or an HF id already in your HF cache "
                             "(set PEERDRAFT_ALLOW_HUB=1 to let it download).") from exc
        self.config = self.model.config
        self.stop_ids = self._stop_ids(self.model.generation_config)
        self.top_k = getattr(self.model.generation_config, "top_k", None) or 0
        if self.decoder is not None:
            self.model = None  # the decoder holds its own (packed) copy of every weight
        else:
            self.model.eval()
        self._torch = torch
        self._lock = threading.Lock()
        self._word_ids: dict[str, int] | None = None  # the copy guard's vocabulary_ids, built on first use
        if self.compile:
            self._warm_up()

    def _lean_decoder(self, dtype, torch):
        """The lean decoding loop for this model, or None (logged) when it does not apply."""
        from engine.llm.decode import LlamaDecoder, unsupported_reason

        reason = unsupported_reason(self.model)
        if reason is None and self.quantization == "none" and dtype not in (torch.float32, torch.bfloat16):
            reason = f"dtype {dtype} on CPU"
        if reason is not None:
            log.info("transformers generate() for %s: the lean decoder does not apply (%s)", self.model_name, reason)
            return None
        if self.quantization == "none":
            kind = head_kind = str(dtype).removeprefix("torch.")
        else:
            # The output head stays 8-bit, as the GGUF keeps it (Q8_0): at 4 bits greedy text drifts.
            kind, head_kind = self.quantization, "int8"
        with torch.inference_mode():
            return LlamaDecoder(self.model, kind, head_kind, torch)

    def _stop_ids(self, generation_config) -> set[int]:
        ids = getattr(generation_config, "eos_token_id", None)
        ids = set(ids if isinstance(ids, (list, tuple)) else [] if ids is None else [ids])
        if self.tokenizer.eos_token_id is not None:
            ids.add(self.tokenizer.eos_token_id)
        return ids

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
            # A GGUF arrives as its float32 plain copy (its quantized weights, dequantized exactly);
            # on CPU it stays float32. Plain checkpoints run well in bf16.
            return torch.float32 if from_gguf and not self._on_cuda else torch.bfloat16
        return getattr(torch, dtype)

    @staticmethod
    def _bnb_config(torch):
        from transformers import BitsAndBytesConfig

        return BitsAndBytesConfig(load_in_4bit=True, bnb_4bit_quant_type="nf4",
                                  bnb_4bit_use_double_quant=True, bnb_4bit_compute_dtype=torch.bfloat16)

    def _plain_copy(self, settings: Settings, folder: str, gguf_file: str) -> Path:
        """A float32 HF copy of a GGUF model (weights, config, tokenizer) under the cache directory,
        made once per GGUF file (size and modification time) and reused by every later load."""
        from transformers import AutoModelForCausalLM, AutoTokenizer

        source = Path(folder) / gguf_file
        stat = source.stat()
        stamp = f"{source.name} {stat.st_size} {stat.st_mtime_ns}"
        target = settings.cache_dir / "hf-models" / source.stem
        if (target / "config.json").is_file() and _read_text(target / "source.txt") == stamp:
            return target
        log.info("Converting %s to a plain transformers copy in %s (once)", source.name, target)
        import torch

        # float32 keeps a Q4_1 weight exactly on its 4-bit grid for the int4 repacking.
        model = AutoModelForCausalLM.from_pretrained(folder, gguf_file=gguf_file, dtype=torch.float32)
        # The GGUF quantizer blocks save_pretrained; drop it, the weights are already plain floats.
        model.hf_quantizer = None
        if hasattr(model.config, "quantization_config"):
            del model.config.quantization_config
        tmp = target.with_name(f"{target.name}.tmp-{os.getpid()}")
        shutil.rmtree(tmp, ignore_errors=True)
        model.save_pretrained(tmp)
        AutoTokenizer.from_pretrained(folder, gguf_file=gguf_file).save_pretrained(tmp)
        (tmp / "source.txt").write_text(stamp)
        shutil.rmtree(target, ignore_errors=True)
        os.replace(tmp, target)
        return target

    def _encode_chat(self, messages: Sequence[Message]):
        chat = [{"role": m.role, "content": m.content} for m in messages]
        prompt = self.tokenizer.apply_chat_template(chat, tokenize=False, add_generation_prompt=True)
        return self.tokenizer(prompt, return_tensors="pt", add_special_tokens=False).to(self.device)

    def stream_chat(self, messages: Sequence[Message], params: GenerationParams,
                    stop_event: threading.Event | None = None) -> Iterator[str]:
        if self.decoder is not None:
            yield from self._lean_stream(messages, params, stop_event)
            return
        from transformers import StoppingCriteria, StoppingCriteriaList, TextIteratorStreamer

        finished = threading.Event()  # ours: set when the consumer stops reading

        class _StopWhenSet(StoppingCriteria):
            def __call__(self, input_ids, scores, **kwargs):
                return finished.is_set() or (stop_event is not None and stop_event.is_set())

        inputs = self._encode_chat(messages)
        streamer = TextIteratorStreamer(self.tokenizer, skip_prompt=True, skip_special_tokens=True,
                                        timeout=600)
        guard = self._copy_guard(params)
        processors = []
        if guard is not None:
            from transformers import LogitsProcessor

            class _CopyLimit(LogitsProcessor):
                def __call__(self, input_ids, scores):
                    if banned := guard.banned_after(input_ids[0]):
                        scores[:, list(banned)] = float("-inf")
                    return scores

            processors.append(_CopyLimit())
        kwargs = dict(**inputs, streamer=streamer, max_new_tokens=params.max_new_tokens,
                      repetition_penalty=params.repetition_penalty, logits_processor=processors,
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

    def _tokens(self, text: str) -> list[int]:
        return self.tokenizer.encode(text, add_special_tokens=False)

    def count_tokens(self, text: str) -> int:
        return len(self._tokens(text))

    def _vocabulary(self) -> dict[str, int]:
        if self._word_ids is None:
            self._word_ids = vocabulary_ids((t, self.tokenizer.decode([t])) for t in range(len(self.tokenizer)))
        return self._word_ids

    def _copy_guard(self, params: GenerationParams) -> CopyGuard | None:
        """The guard that applies `params.no_copy` (engine/llm/copyguard.py) to one generation, or None."""
        return guard_for(params, self._tokens, lambda t: self.tokenizer.decode([t]), self._vocabulary)

    def _lean_stream(self, messages: Sequence[Message], params: GenerationParams,
                     stop_event: threading.Event | None) -> Iterator[str]:
        """Stream from the lean decoder in the caller's own thread.

        No worker thread, unlike generate(): a second thread brings a second OpenMP pool, and with
        more pool threads than cores libgomp stops spinning between parallel regions, which cost
        this loop about a fifth of its speed here (bench/results.md, "llm")."""
        from engine.llm.decode import make_chooser

        torch = self._torch
        generator = None
        if params.temperature > 0 and params.seed is not None:
            generator = torch.Generator().manual_seed(params.seed)
        choose = make_chooser(torch, temperature=params.temperature, top_p=params.top_p, top_k=self.top_k,
                              repetition_penalty=params.repetition_penalty, generator=generator)
        prompt = self._encode_chat(messages)["input_ids"]
        if (guard := self._copy_guard(params)) is not None:
            plain_choose = choose

            def choose(logits, seen):
                if banned := guard.banned_after(seen):
                    logits = logits.clone()
                    logits[list(banned)] = float("-inf")
                return plain_choose(logits, seen)
        text_of = Detokenizer(self.tokenizer)
        with self._lock:
            tokens = self.decoder.generate(prompt[0], params.max_new_tokens, choose, self.stop_ids,
                                           should_stop=lambda: stop_event is not None and stop_event.is_set())
            text = ""
            try:
                for token in tokens:
                    piece = text_of.add(token)
                    if piece:
                        text += piece
                        yield piece
                    if params.stop and any(s in text for s in params.stop):
                        return
            except ValueError as exc:  # a prompt longer than the model's context
                raise ModelError(f"Generation failed: {exc}", "Shorten the brief or the retrieved context.") from exc
            rest = text_of.flush()
            if rest:
                yield rest

    def perplexity(self, text: str) -> float:
        torch = self._torch
        ids = self.tokenizer(text, return_tensors="pt").input_ids.to(self.device)
        if ids.shape[1] < 2:
            raise ModelError("Perplexity needs at least two tokens of text.")
        window = min(1024, getattr(self.config, "max_position_embeddings", 1024) or 1024)
        nll, count = 0.0, 0
        with self._lock, torch.inference_mode():
            for start in range(0, ids.shape[1] - 1, window - 1):
                chunk = ids[:, start:start + window]
                if chunk.shape[1] < 2:
                    break
                n = chunk.shape[1] - 1
                if self.decoder is not None:
                    self.decoder.reset(chunk.shape[1])
                    logits = self.decoder.forward(chunk[0], all_logits=True)
                    loss = torch.nn.functional.cross_entropy(logits[:-1], chunk[0, 1:])
                else:
                    loss = self.model(chunk, labels=chunk).loss
                nll += float(loss) * n
                count += n
        return math.exp(nll / count)
