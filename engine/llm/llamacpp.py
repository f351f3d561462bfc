"""llama.cpp backend (llama-cpp-python): GGUF models on CPU, the fastest path on this machine."""

from __future__ import annotations

import logging
import math
import os
import threading
from pathlib import Path
from typing import Iterator, Sequence

import numpy as np

from engine.bundled_models import profile_llm
from engine.errors import ConfigError, ModelError
from engine.llm import GenerationParams, Message
from engine.llm.copyguard import guard_for, vocabulary_ids
from engine.settings import Settings

log = logging.getLogger(__name__)
_PERPLEXITY_WINDOW = 512

# The OpenMP wait policy (PASSIVE) is set in engine/__init__.py, before torch or llama_cpp can load.
def _omp_policy_note() -> str | None:
    """Why the passive OpenMP wait policy may not apply in this process, or None when it does."""
    import engine

    if engine.OMP_POLICY_FROM_USER is not None:
        return None if engine.OMP_POLICY_FROM_USER.upper() == "PASSIVE" \
            else f"OMP_WAIT_POLICY={engine.OMP_POLICY_FROM_USER} was set"
    if engine.OPENMP_LOADED_BEFORE_ENGINE:
        return ("torch or llama_cpp was imported before the engine, so the shared OpenMP runtime "
                "started with its spinning default; export OMP_WAIT_POLICY=PASSIVE")
    return None


def gguf_path(settings: Settings) -> tuple[Path, str]:
    """The GGUF file to load and a display name for it."""
    if not settings.llm_model:
        model = profile_llm(settings.llm_profile)
        return model.path, model.name
    path = Path(settings.llm_model).expanduser()
    if path.suffix != ".gguf":
        raise ConfigError(f"The llama-cpp backend needs a .gguf file, but PEERDRAFT_LLM_MODEL is {settings.llm_model!r}.",
                          "Point PEERDRAFT_LLM_MODEL at a .gguf file or set PEERDRAFT_LLM_BACKEND=transformers.")
    if not path.is_file():
        raise ConfigError(f"Model file {path} does not exist.", "Fix PEERDRAFT_LLM_MODEL.")
    return path, path.name


class LlamaCppLLM:
    """Chat completions with streaming through llama-cpp-python."""

    backend = "llama-cpp"

    def __init__(self, settings: Settings):
        note = _omp_policy_note()
        if note:
            log.warning("llama.cpp threads may spin between tokens: %s.", note)
        try:
            from llama_cpp import Llama
        except ImportError as exc:
            raise ConfigError("The llama-cpp backend needs llama-cpp-python, which is not installed.",
                              "Install it (pip install 'peerdraft[llama]') or set PEERDRAFT_LLM_BACKEND=transformers.") from exc
        self._path, self.model_name = gguf_path(settings)
        self._threads = settings.llm_threads or os.cpu_count() or 1
        self._n_ctx = settings.context_tokens
        try:
            self._llama = Llama(model_path=str(self._path), n_threads=self._threads, n_ctx=self._n_ctx,
                                verbose=False)
        except (ValueError, RuntimeError) as exc:
            raise ModelError(f"llama.cpp could not load {self._path}: {exc}",
                             "Check that the file is a valid GGUF model.") from exc
        self._scorer = None  # a second instance with logits for every position, made on demand
        self._formatter = None  # the GGUF's chat template, for answer_probabilities
        self._answer_tokens: dict[str, set[int]] = {}
        self._word_ids: dict[str, int] | None = None  # the copy guard's vocabulary_ids, built on first use
        self.last_prompt_tokens = (0, 0)
        self._lock = threading.Lock()

    def stream_chat(self, messages: Sequence[Message], params: GenerationParams,
                    stop_event: threading.Event | None = None) -> Iterator[str]:
        payload = [{"role": m.role, "content": m.content} for m in messages]
        with self._lock:
            stream = self._llama.create_chat_completion(
                messages=payload, stream=True, max_tokens=params.max_new_tokens,
                temperature=params.temperature, top_p=params.top_p if params.temperature > 0 else 1.0,
                top_k=0 if params.temperature > 0 else 1, repeat_penalty=params.repetition_penalty,
                stop=list(params.stop) or None, seed=params.seed if params.seed is not None else -1,
                logits_processor=self._copy_limit(params))
            try:
                for chunk in stream:
                    if stop_event is not None and stop_event.is_set():
                        break
                    piece = chunk["choices"][0]["delta"].get("content")
                    if piece:
                        yield piece
            finally:
                stream.close()

    def _piece(self, token: int) -> str:
        return self._llama.detokenize([token]).decode("utf-8", errors="replace")

    def _vocabulary(self) -> dict[str, int]:
        if self._word_ids is None:
            self._word_ids = vocabulary_ids((t, self._piece(t)) for t in range(self._llama.n_vocab()))
        return self._word_ids

    def _copy_limit(self, params: GenerationParams):
        """A logits processor that applies `params.no_copy` (engine/llm/copyguard.py), or None."""
        guard = guard_for(params, self._tokens, self._piece, self._vocabulary)
        if guard is None:
            return None

        def process(input_ids, scores):
            if banned := guard.banned_after(input_ids):
                scores[list(banned)] = -np.inf
            return scores

        from llama_cpp import LogitsProcessorList

        return LogitsProcessorList([process])

    def answer_probabilities(self, messages: Sequence[Message], answers: Sequence[str] = ("Yes", "No")) -> tuple[float, ...]:
        """P of each answer word as the first token of the model's reply (summed over casing and a leading space).

        The prompt reuses the longest prefix already in llama.cpp's KV cache, so questions asked after the same
        long prefix (the prompt that drafted a section, up to its sources) cost only their own tokens. Only the
        last position's logits are read, so this instance needs no `logits_all` copy."""
        tokens = self._chat_tokens(messages)
        with self._lock:
            llama = self._llama
            cached = llama._input_ids  # llama-cpp-python keeps the tokens its KV cache holds
            prefix = 0
            for have, want in zip(cached, tokens[:-1]):
                if have != want:
                    break
                prefix += 1
            llama.n_tokens = prefix  # eval() drops the cache from here on and decodes the rest
            llama.eval(tokens[prefix:])
            self.last_prompt_tokens = (len(tokens), len(tokens) - prefix)  # (prompt, decoded now): the reuse
            logits = np.array(np.ctypeslib.as_array(llama._ctx.get_logits(), shape=(llama.n_vocab(),)),
                              dtype=np.float64)
        probabilities = np.exp(logits - logits.max())
        probabilities /= probabilities.sum()
        return tuple(float(sum(probabilities[i] for i in self._answer_ids(answer))) for answer in answers)

    def _chat_tokens(self, messages: Sequence[Message]) -> list[int]:
        """The prompt tokens create_chat_completion would build for `messages` (the GGUF's own chat template)."""
        if self._formatter is None:
            from llama_cpp.llama_chat_format import Jinja2ChatFormatter

            template = self._llama.metadata.get("tokenizer.chat_template")
            if not template:
                raise ModelError(f"{self.model_name} has no chat template in its GGUF metadata, so it cannot be asked "
                                 "yes/no questions.", "Use PEERDRAFT_VERIFY_JUDGE=signals with this model.")
            text = self._llama._model.token_get_text
            eos, bos = self._llama.token_eos(), self._llama.token_bos()
            self._formatter = Jinja2ChatFormatter(template=template, eos_token=text(eos) if eos != -1 else "",
                                                  bos_token=text(bos) if bos != -1 else "")
        result = self._formatter(messages=[{"role": m.role, "content": m.content} for m in messages])
        return self._llama.tokenize(result.prompt.encode("utf-8"), add_bos=not result.added_special, special=True)

    def _answer_ids(self, answer: str) -> set[int]:
        """The single tokens that spell `answer` (any casing, with or without a leading space), found once."""
        if answer in self._answer_tokens:
            return self._answer_tokens[answer]
        ids: set[int] = set()
        for form in {answer, answer.lower(), answer.upper(), answer.capitalize()}:
            for variant in (form, " " + form):
                pieces = self._llama.tokenize(variant.encode("utf-8"), add_bos=False, special=False)
                if len(pieces) == 1:
                    ids.add(pieces[0])
        self._answer_tokens[answer] = ids
        return ids

    def _tokens(self, text: str) -> list[int]:
        return self._llama.tokenize(text.encode("utf-8"), add_bos=False, special=False)

    def count_tokens(self, text: str) -> int:
        return len(self._tokens(text))

    def perplexity(self, text: str) -> float:
        tokens = self._llama.tokenize(text.encode("utf-8"), add_bos=True, special=False)
        if len(tokens) < 2:
            raise ModelError("Perplexity needs at least two tokens of text.")
        with self._lock:
            if self._scorer is None:
                from llama_cpp import Llama

                self._scorer = Llama(model_path=str(self._path), n_threads=self._threads,
                                     n_ctx=_PERPLEXITY_WINDOW, logits_all=True, verbose=False)
            nll, count = 0.0, 0
            # Non-overlapping windows: simple and bounded in memory; each window restarts context.
            for start in range(0, len(tokens) - 1, _PERPLEXITY_WINDOW - 1):
                window = tokens[start:start + _PERPLEXITY_WINDOW]
                if len(window) < 2:
                    break
                self._scorer.reset()
                self._scorer.eval(window)
                logits = np.asarray(self._scorer.scores[: len(window) - 1], dtype=np.float64)
                top = logits.max(axis=1)
                log_z = top + np.log(np.exp(logits - top[:, None]).sum(axis=1))
                targets = np.asarray(window[1:])
                nll += float((log_z - logits[np.arange(len(targets)), targets]).sum())
                count += len(targets)
        return math.exp(nll / count)

