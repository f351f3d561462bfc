"""Fakes for the drafting tests: a scripted LLM and a word-overlap retriever over a tiny corpus."""

from __future__ import annotations

import re
import threading
from typing import Sequence

from engine.llm import GenerationParams, Message
from engine.records import Passage

_WORD = re.compile(r"[a-z0-9]+")


class ScriptedLLM:
    """Answers every chat with the next scripted reply, streamed word by word; records the prompts."""

    backend = "fake"
    model_name = "scripted"

    def __init__(self, *replies: str):
        self.replies = list(replies)
        self.prompts: list[list[Message]] = []

    def stream_chat(self, messages: Sequence[Message], params: GenerationParams,
                    stop_event: threading.Event | None = None):
        self.prompts.append(list(messages))
        reply = self.replies.pop(0) if len(self.replies) > 1 else self.replies[0]
        for piece in re.findall(r"\S+\s*", reply):
            if stop_event is not None and stop_event.is_set():
                return
            yield piece

    def count_tokens(self, text: str) -> int:
        return len(text.split())


def passage(chunk_id: str, doc_id: str, title: str, section: str, text: str, *, year: int = 2021,
            authors: tuple[str, ...] = ("Edward J. Hu", "Yelong Shen")) -> Passage:
    return Passage(chunk_id=chunk_id, doc_id=doc_id, text=text, score=0.0, title=title, authors=authors, year=year,
                   section=section)


LORA = "LoRA: Low-Rank Adaptation of Large Language Models"
QLORA = "QLoRA: Efficient Finetuning of Quantized LLMs"
CORPUS = [
    passage("lora-1", "lora", LORA, "Problem", "Full fine-tuning updates every weight of a pre-trained model, so "
            "each downstream task produces a complete copy of the network. For GPT-3 with 175B parameters that "
            "means hundreds of gigabytes per task."),
    passage("lora-2", "lora", LORA, "Method", "LoRA freezes the pre-trained weight matrix W0 and learns the update "
            "as a product BA of two thin matrices with rank r. Only A and B receive gradients. After training, BA "
            "can be merged into W0, so inference latency does not change."),
    passage("lora-3", "lora", LORA, "Key results", "On GPT-3 175B, LoRA reduces the number of trainable "
            "parameters by 10,000 times and GPU memory during training by 3 times."),
    passage("lora-4", "lora", LORA, "Key terms", "Low-rank adaptation (LoRA) is a fine-tuning method that freezes "
            "the pre-trained weights and learns a low-rank weight update. Intrinsic rank is the idea that the "
            "weight change needed for a task lies close to a low-dimensional subspace."),
    passage("lora-5", "lora", LORA, "Limitations", "LoRA makes batching inputs of different tasks harder when the "
            "update is merged into the weights."),
    passage("qlora-1", "qlora", QLORA, "Method", "QLoRA backpropagates through a frozen 4-bit quantized model into "
            "LoRA adapters. It introduces the 4-bit NormalFloat data type and double quantization.",
            year=2023, authors=("Tim Dettmers", "Artidoro Pagnoni")),
    passage("qlora-2", "qlora", QLORA, "Key results", "QLoRA fine-tunes a 65B parameter model on a single 48GB GPU "
            "while matching 16-bit fine-tuning quality.", year=2023, authors=("Tim Dettmers", "Artidoro Pagnoni")),
]


class OverlapRetriever:
    """Ranks the passages by shared words with the query; records every call."""

    def __init__(self, passages: Sequence[Passage] = CORPUS):
        self.passages = list(passages)
        self.calls: list[tuple[str, int, tuple[str, ...] | None]] = []

    def __call__(self, query: str, *, k: int, doc_ids: Sequence[str] | None = None) -> list[Passage]:
        self.calls.append((query, k, tuple(doc_ids) if doc_ids is not None else None))
        words = set(_WORD.findall(query.lower()))
        pool = [p for p in self.passages if doc_ids is None or p.doc_id in doc_ids]
        scored = [(len(words & set(_WORD.findall(f"{p.title} {p.section} {p.text}".lower()))), i, p)
                  for i, p in enumerate(pool)]
        scored.sort(key=lambda item: (-item[0], item[1]))
        from dataclasses import replace
        return [replace(p, score=float(s)) for s, _, p in scored[:k] if s > 0]
