"""Perplexity of each section of the draft under the local language model, with what the number means."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

from engine.errors import ModelError
from engine.events import Event, OnEvent, ignore_event
from engine.markup import prose_map

EXPLANATION = (
    "Perplexity is how surprised the local language model is by each word, on average: lower means the "
    "text is more predictable to that model. It rises with rare terms, numbers, names and unusual phrasing, "
    "and falls with fluent, conventional sentences. It does not say whether the text is correct, well "
    "argued or useful, and a small model finds specialist prose surprising even when it is excellent. "
    "Use it to compare sections and versions of the same article, and look at an outlier section for "
    "garbled or repetitive sentences - not as a grade."
)
_MIN_CHARS = 40  # a heading and a half-sentence say nothing


@dataclass(frozen=True)
class SectionPerplexity:
    """One section's perplexity (None when it is too short to score)."""

    title: str
    perplexity: float | None
    words: int


@dataclass(frozen=True)
class PerplexityMeasure:
    """Per-section and whole-draft perplexity, the model used, and how to read them."""

    model: str
    overall: float | None
    sections: tuple[SectionPerplexity, ...]
    explanation: str = EXPLANATION

    def to_dict(self) -> dict:
        return asdict(self)


def measure_perplexity(markdown: str, llm, *, on_event: OnEvent = ignore_event) -> PerplexityMeasure:
    """Score the prose of each section with `llm.perplexity`; the overall figure is token-weighted."""
    mapped = prose_map(markdown)
    rows: list[SectionPerplexity] = []
    log_total, weight_total = 0.0, 0
    sections = list(mapped.sections)
    for done, section in enumerate(sections, start=1):
        on_event(Event("evaluate", f"perplexity of '{section.title}'", done, len(sections)))
        text = mapped.text[section.text_start:section.text_end].strip()
        words = len(text.split())
        if not words:
            continue  # a title or a reference list: no prose to score
        if len(text) < _MIN_CHARS:
            rows.append(SectionPerplexity(section.title, None, words))
            continue
        try:
            value = float(llm.perplexity(text))
        except ModelError:
            rows.append(SectionPerplexity(section.title, None, words))
            continue
        rows.append(SectionPerplexity(section.title, round(value, 3), words))
        tokens = llm.count_tokens(text) if hasattr(llm, "count_tokens") else words
        log_total += math.log(value) * tokens
        weight_total += tokens
    overall = round(math.exp(log_total / weight_total), 3) if weight_total else None
    return PerplexityMeasure(getattr(llm, "model_name", ""), overall, tuple(rows))
