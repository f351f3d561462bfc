"""LLM backends behind one Protocol, registered by name; `load_llm(settings)` picks one.

Backends: `llama-cpp` (GGUF on CPU, fastest here), `transformers` (any HF model or local
folder; bitsandbytes NF4 on CUDA), `openai-compatible` (vLLM, TGI, llama.cpp server, Ollama).
`auto` chooses llama-cpp for GGUF models on a machine without CUDA when llama-cpp-python is
installed, otherwise transformers.
"""

from __future__ import annotations

import importlib
import importlib.util
import threading
import time
from dataclasses import dataclass
from typing import Callable, Iterator, Protocol, Sequence

from engine.errors import ConfigError
from engine.settings import Settings


@dataclass(frozen=True)
class Message:
    """One chat turn."""

    role: str  # system | user | assistant
    content: str


@dataclass(frozen=True)
class GenerationParams:
    """Sampling settings for one generation; temperature 0 means greedy."""

    max_new_tokens: int = 256
    temperature: float = 0.7
    top_p: float = 0.9
    repetition_penalty: float = 1.1
    stop: tuple[str, ...] = ()
    seed: int | None = None
    # Texts the model may not copy more than `no_copy_words` words of in a row (engine/llm/copyguard.py); 0 = off.
    no_copy: tuple[str, ...] = ()
    no_copy_words: int = 0

    @classmethod
    def from_settings(cls, settings: Settings, **overrides) -> "GenerationParams":
        values = dict(max_new_tokens=settings.max_new_tokens, temperature=settings.temperature,
                      top_p=settings.top_p, repetition_penalty=settings.repetition_penalty,
                      no_copy_words=settings.copy_limit_words)
        values.update(overrides)
        return cls(**values)


@dataclass
class GenerationResult:
    """A finished generation with its token count and timings."""

    text: str
    new_tokens: int
    seconds: float
    first_token_seconds: float | None
    backend: str
    model: str
    stopped: bool = False

    @property
    def tokens_per_second(self) -> float:
        return self.new_tokens / self.seconds if self.seconds > 0 else 0.0

    def to_json(self) -> dict:
        return {"text": self.text, "new_tokens": self.new_tokens, "seconds": round(self.seconds, 3),
                "backend": self.backend, "model": self.model}


class LLM(Protocol):
    """What every backend offers: streamed chat, token counting, perplexity."""

    backend: str
    model_name: str

    def stream_chat(self, messages: Sequence[Message], params: GenerationParams,
                    stop_event: threading.Event | None = None) -> Iterator[str]:
        """Yield text pieces as they are generated; stops early when stop_event is set."""
        ...

    def count_tokens(self, text: str) -> int: ...

    def perplexity(self, text: str) -> float:
        """exp(mean negative log-likelihood per token) of `text` under the model."""
        ...


_REGISTRY: dict[str, str] = {
    "llama-cpp": "engine.llm.llamacpp:LlamaCppLLM",
    "transformers": "engine.llm.hf:TransformersLLM",
    "openai-compatible": "engine.llm.openai_compat:OpenAICompatibleLLM",
}


def backend_names() -> list[str]:
    return sorted(_REGISTRY)


def llama_cpp_available() -> bool:
    return importlib.util.find_spec("llama_cpp") is not None


def cuda_available() -> bool:
    try:
        import torch
    except ImportError:
        return False
    return bool(torch.cuda.is_available())


def resolve_backend(settings: Settings) -> str:
    """The concrete backend name `auto` stands for on this machine."""
    if settings.llm_backend != "auto":
        return settings.llm_backend
    if settings.endpoint_url:
        return "openai-compatible"
    model = settings.llm_model
    gguf = (not model) or model.endswith(".gguf")
    if gguf and llama_cpp_available() and not (settings.quantization == "nf4" or cuda_available()):
        return "llama-cpp"
    return "transformers"


def load_llm(settings: Settings) -> LLM:
    """Build the configured backend (heavy imports happen here, not at engine import)."""
    name = resolve_backend(settings)
    if name not in _REGISTRY:
        raise ConfigError(f"Unknown LLM backend {name!r}.", f"Use one of: {', '.join(backend_names())}.")
    module_name, class_name = _REGISTRY[name].split(":")
    cls = getattr(importlib.import_module(module_name), class_name)
    return cls(settings)


def generate(llm: LLM, messages: Sequence[Message], params: GenerationParams,
             on_text: Callable[[str], None] | None = None,
             stop_event: threading.Event | None = None) -> GenerationResult:
    """Run one streamed generation to the end, collecting text and timings."""
    start = time.perf_counter()
    first: float | None = None
    pieces: list[str] = []
    for piece in llm.stream_chat(messages, params, stop_event=stop_event):
        if first is None:
            first = time.perf_counter() - start
        pieces.append(piece)
        if on_text:
            on_text(piece)
    seconds = time.perf_counter() - start
    text = "".join(pieces)
    result = GenerationResult(text=text, new_tokens=llm.count_tokens(text) if text else 0, seconds=seconds,
                              first_token_seconds=first, backend=llm.backend, model=llm.model_name,
                              stopped=bool(stop_event and stop_event.is_set()))
    _record_metrics(result)
    return result


def _record_metrics(result: GenerationResult) -> None:
    from engine import metrics  # prometheus_client counters; cheap, and a no-op without a server

    metrics.record_generation(result.seconds, result.new_tokens, result.backend)
