"""Coverage: which of the brief's key points and must-cite documents the draft covers, and which are missing."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Mapping, Sequence

import numpy as np

from engine.records import Passage
from engine.verify import citations_in, split_sentences, strip_citations
from engine.verify.signals import content_stems

# A key point counts as covered when the draft has a passage of one or two adjacent sentences
# that is close in meaning (cosine of all-MiniLM-L6-v2 vectors) AND shares enough of its
# content words, or that is very close in meaning alone (a paraphrase with other words).
# The figures were set on small hand-made pairs: paraphrases score 0.6-0.8, same-topic
# sentences that do not make the point 0.35-0.55.
SIMILAR = 0.5
LEXICAL = 0.4
VERY_SIMILAR = 0.7


@dataclass(frozen=True)
class KeyPointCoverage:
    """One key point: covered or not, and the draft sentence that comes closest."""

    point: str
    covered: bool
    similarity: float
    lexical: float
    offset: int | None = None  # of the closest sentence in the draft
    length: int = 0
    evidence: str = ""


@dataclass(frozen=True)
class CoverageMeasure:
    """Key points and must-cite documents, covered and missing."""

    key_points: tuple[KeyPointCoverage, ...]
    must_cite: tuple[str, ...]
    cited_docs: tuple[str, ...]

    @property
    def missing_points(self) -> list[str]:
        return [k.point for k in self.key_points if not k.covered]

    @property
    def missing_docs(self) -> list[str]:
        return [d for d in self.must_cite if d not in self.cited_docs]

    @property
    def share(self) -> float:
        """Covered share of key points and must-cite documents together (1.0 when the brief asks for none)."""
        total = len(self.key_points) + len(self.must_cite)
        if not total:
            return 1.0
        covered = sum(k.covered for k in self.key_points) + len(self.must_cite) - len(self.missing_docs)
        return round(covered / total, 4)

    def to_dict(self) -> dict:
        data = asdict(self)
        data.update(share=self.share, missing_points=self.missing_points, missing_docs=self.missing_docs)
        return data


def _windows(markdown: str) -> list[tuple[int, int, str]]:
    """(offset, length, text) for each sentence and each pair of adjacent sentences."""
    spans = split_sentences(markdown)
    out = [(s.offset, s.length, strip_citations(s.text)) for s in spans]
    for a, b in zip(spans, spans[1:]):
        out.append((a.offset, b.offset + b.length - a.offset, strip_citations(a.text + " " + b.text)))
    return out


def _lexical(point: str, text: str) -> float:
    words = content_stems(point)
    return len(words & content_stems(text)) / len(words) if words else 0.0


def cited_doc_ids(markdown: str, citation_map: Mapping[int, Sequence[Passage]]) -> list[str]:
    """Documents the draft cites: those behind the `[n]` markers used in its text, in first-use order."""
    seen: list[str] = []
    for number in citations_in(markdown):
        for passage in citation_map.get(number, ()):
            if passage.doc_id not in seen:
                seen.append(passage.doc_id)
    return seen


def measure_coverage(markdown: str, key_points: Sequence[str], must_cite: Sequence[str],
                     citation_map: Mapping[int, Sequence[Passage]], embedder) -> CoverageMeasure:
    """Match each key point to the draft's closest sentence(s); check each must-cite document is cited."""
    points = [p.strip() for p in key_points if p and p.strip()]
    windows = _windows(markdown)
    results: list[KeyPointCoverage] = []
    if points and windows:
        vectors = embedder.embed_passages([w[2] for w in windows] + points)
        sims = vectors[len(windows):] @ vectors[:len(windows)].T
        for point, row in zip(points, sims):
            lexical = np.array([_lexical(point, w[2]) for w in windows])
            ok = ((row >= SIMILAR) & (lexical >= LEXICAL)) | (row >= VERY_SIMILAR)
            # The closest window: the best among those that pass, else the most similar overall.
            best = int(np.argmax(np.where(ok, row + lexical, -1.0))) if ok.any() else int(np.argmax(row))
            offset, length, text = windows[best]
            results.append(KeyPointCoverage(point, bool(ok.any()), round(float(row[best]), 4),
                                            round(float(lexical[best]), 4), offset, length, text))
    else:
        results = [KeyPointCoverage(p, False, 0.0, 0.0) for p in points]
    cited = cited_doc_ids(markdown, citation_map)
    # A must-cite document named in the text (a reference list, a link) counts as cited too.
    lowered = markdown.lower()
    cited += [d for d in must_cite if d not in cited and d.lower() in lowered]
    return CoverageMeasure(tuple(results), tuple(must_cite), tuple(cited))
