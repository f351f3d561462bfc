"""Comparison with a reference text: ROUGE-1/2/L (rouge-score), BLEU (sacrebleu), and section-by-section similarity.

Both texts are reduced to their prose first (engine.markup.prose_map: code, URLs, citation markers,
tables and math left out), so a reference list or a code block does not count as overlap.
The numbers are the libraries' own on that prose: rouge-score with the Porter stemmer
(as in its README and most papers), sacrebleu's corpus BLEU with its default 13a tokenizer.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field

import numpy as np

from engine.markup import prose_map


@dataclass(frozen=True)
class RougeScore:
    """Precision, recall and F1 of one ROUGE variant."""

    precision: float
    recall: float
    fmeasure: float


@dataclass(frozen=True)
class SectionSimilarity:
    """A draft section, the reference section it was paired with, and their embedding cosine."""

    draft_section: str
    reference_section: str
    similarity: float | None  # None: no reference section to compare with


@dataclass(frozen=True)
class ReferenceMeasure:
    """ROUGE, BLEU and section similarities of the draft against one reference."""

    rouge1: RougeScore
    rouge2: RougeScore
    rougeL: RougeScore
    bleu: float  # 0-100, sacrebleu's scale
    sections: tuple[SectionSimilarity, ...] = field(default_factory=tuple)

    def to_dict(self) -> dict:
        return asdict(self)


def prose_text(markdown: str) -> str:
    """The prose of a Markdown text as one plain string (what ROUGE and BLEU see)."""
    return re.sub(r"\s+", " ", prose_map(markdown).text).strip()


def rouge_scores(draft: str, reference: str) -> dict[str, RougeScore]:
    """rouge-score's ROUGE-1, ROUGE-2 and ROUGE-L of plain `draft` against plain `reference`."""
    from rouge_score import rouge_scorer

    scorer = rouge_scorer.RougeScorer(["rouge1", "rouge2", "rougeL"], use_stemmer=True)
    scores = scorer.score(target=reference, prediction=draft)
    return {name: RougeScore(round(s.precision, 6), round(s.recall, 6), round(s.fmeasure, 6))
            for name, s in scores.items()}


def bleu_score(draft: str, reference: str) -> float:
    """sacrebleu corpus BLEU (0-100) of plain `draft` against one plain `reference`."""
    import sacrebleu

    return round(float(sacrebleu.corpus_bleu([draft], [[reference]]).score), 6)


def _sections(markdown: str) -> list[tuple[str, str]]:
    mapped = prose_map(markdown)
    return [(s.title, mapped.text[s.text_start:s.text_end].strip()) for s in mapped.sections
            if mapped.text[s.text_start:s.text_end].strip()]


def _normal(title: str) -> str:
    return re.sub(r"[^a-z0-9]+", " ", title.lower()).strip()


def section_similarities(draft: str, reference: str, embedder) -> list[SectionSimilarity]:
    """Pair sections by heading (else by position) and compare their mean sentence embeddings."""
    ours, theirs = _sections(draft), _sections(reference)
    if not ours:
        return []
    by_title = {_normal(t): i for i, (t, _) in enumerate(theirs)}
    pairs: list[tuple[int, int | None]] = []
    for i, (title, _) in enumerate(ours):
        j = by_title.get(_normal(title))
        pairs.append((i, j if j is not None else (i if i < len(theirs) else None)))
    texts = [t for _, t in ours] + [t for _, t in theirs]
    vectors = embedder.embed_passages(texts) if texts else np.zeros((0, 1))
    out = []
    for i, j in pairs:
        if j is None:
            out.append(SectionSimilarity(ours[i][0], "", None))
            continue
        sim = float(vectors[i] @ vectors[len(ours) + j])
        out.append(SectionSimilarity(ours[i][0], theirs[j][0], round(sim, 4)))
    return out


def measure_reference(draft_markdown: str, reference_markdown: str, embedder=None) -> ReferenceMeasure:
    """All reference-based figures; section similarity only when an embedder is given."""
    draft, reference = prose_text(draft_markdown), prose_text(reference_markdown)
    rouge = rouge_scores(draft, reference)
    sections = section_similarities(draft_markdown, reference_markdown, embedder) if embedder else []
    return ReferenceMeasure(rouge["rouge1"], rouge["rouge2"], rouge["rougeL"], bleu_score(draft, reference),
                            tuple(sections))
