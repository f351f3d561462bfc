"""OpenAI-compatible backend: any server speaking /v1/chat/completions with SSE streaming
(vLLM, TGI, llama.cpp server, Ollama) — how a team runs a bigger model on shared GPUs."""

from __future__ import annotations

import json
import math
import threading
from typing import Iterator, Sequence

from engine.errors import ModelError
from engine.llm import GenerationParams, Message
from engine.settings import Settings


class OpenAICompatibleLLM:
    """Chat completions over HTTP with server-sent events."""

    backend = "openai-compatible"

    def __init__(self, settings: Settings, timeout: float = 120.0):
        import httpx

        self._base = settings.endpoint_url.rstrip("/")
        headers = {"Authorization": f"Bearer {settings.endpoint_key}"} if settings.endpoint_key else {}
        self._client = httpx.Client(base_url=self._base, headers=headers,
                                    timeout=httpx.Timeout(timeout, connect=5.0))
        self._httpx = httpx
        self.model_name = settings.endpoint_model or settings.llm_model or self._first_served_model()

    def _request(self, method: str, path: str, **kwargs):
        try:
            response = self._client.request(method, path, **kwargs)
        except self._httpx.TransportError as exc:
            raise ModelError(f"The LLM endpoint {self._base} is unreachable ({exc.__class__.__name__}: {exc}).",
                             "Start the server or fix PEERDRAFT_ENDPOINT_URL.") from exc
        if response.status_code in (401, 403):
            raise ModelError(f"The LLM endpoint {self._base} refused the key (HTTP {response.status_code}).",
                             "Set PEERDRAFT_ENDPOINT_KEY.")
        if response.status_code >= 400:
            raise ModelError(f"The LLM endpoint answered HTTP {response.status_code}: {response.text[:300]}")
        return response

    def _first_served_model(self) -> str:
        models = self._request("GET", "/models").json().get("data", [])
        if not models:
            raise ModelError(f"The LLM endpoint {self._base} serves no model.",
                             "Set PEERDRAFT_ENDPOINT_MODEL to the model name the server expects.")
        return str(models[0]["id"])

    def stream_chat(self, messages: Sequence[Message], params: GenerationParams,
                    stop_event: threading.Event | None = None) -> Iterator[str]:
        body = {"model": self.model_name, "stream": True, "max_tokens": params.max_new_tokens,
                "messages": [{"role": m.role, "content": m.content} for m in messages],
                "temperature": params.temperature, "top_p": params.top_p}
        if params.repetition_penalty != 1.0:
            body["repetition_penalty"] = params.repetition_penalty  # vLLM / llama.cpp extension
        if params.stop:
            body["stop"] = list(params.stop)
        if params.seed is not None:
            body["seed"] = params.seed
        try:
            with self._client.stream("POST", "/chat/completions", json=body) as response:
                if response.status_code >= 400:
                    response.read()
                    raise ModelError(f"The LLM endpoint answered HTTP {response.status_code}: "
                                     f"{response.text[:300]}")
                for line in response.iter_lines():
                    if stop_event is not None and stop_event.is_set():
                        break
                    if not line.startswith("data:"):
                        continue
                    data = line[5:].strip()
                    if data == "[DONE]":
                        break
                    choices = json.loads(data).get("choices") or [{}]
                    piece = (choices[0].get("delta") or {}).get("content")
                    if piece:
                        yield piece
        except self._httpx.TransportError as exc:
            raise ModelError(f"The LLM endpoint {self._base} is unreachable ({exc}).",
                             "Start the server or fix PEERDRAFT_ENDPOINT_URL.") from exc

    def count_tokens(self, text: str) -> int:
        # The chat API has no tokenizer call; ~4 characters per token is the usual estimate.
        return max(1, round(len(text) / 4)) if text else 0

    def perplexity(self, text: str) -> float:
        """Uses /completions with echo + logprobs (vLLM supports it); other servers may refuse."""
        body = {"model": self.model_name, "prompt": text, "max_tokens": 1, "echo": True, "logprobs": 1}
        choice = self._request("POST", "/completions", json=body).json()["choices"][0]
        logprobs = [lp for lp in (choice.get("logprobs") or {}).get("token_logprobs") or [] if lp is not None]
        if len(logprobs) < 2:
            raise ModelError("This endpoint does not return prompt log-probabilities, so perplexity "
                             "cannot be computed.", "Use a vLLM endpoint or a local backend for perplexity.")
        return math.exp(-sum(logprobs[:-1]) / len(logprobs[:-1]))
