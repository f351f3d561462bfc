"""Retrieve stage: dense, BM25 and hybrid (reciprocal-rank fusion) search, optional MMR, term highlighting."""

from __future__ import annotations

import re
from typing import Iterable, Protocol, Sequence

import numpy as np

from engine.bibliography import ReferenceEntry, with_cited_works
from engine.errors import ConfigError
from engine.index import CorpusIndex
from engine.records import Chunk, Document, Passage

MODES = ("hybrid", "dense", "bm25")
FUSIONS = ("rrf", "convex")
# Fusion defaults, chosen on half of the labeled writer queries and checked on the other half (bench/retrieval.py,
# bench/results.md): all-MiniLM-L6-v2 alone trails BM25 on those queries, so equal-weight RRF left hybrid below BM25.
FUSION = "rrf"
# Weighted RRF with dense weight 0.25 and k_rrf=5 was best on the tuning half (held-out nDCG@10 0.909 vs BM25 0.900);
# it is mostly a BM25 ranking whose near-ties the dense ranking breaks. The gain is small: tuning on the other half
# picks dense weight 0.4, k_rrf=60, which stays below BM25 on the first half.
RRF_K = 5
DENSE_WEIGHT = 0.25
CONVEX_ALPHA = 0.3  # share of the (min-max scaled) dense score in convex fusion
MIN_CANDIDATES = 50
MMR_LAMBDA = 0.7
_WORD = re.compile(r"\w+")
_PROSE_KINDS = ("text", "footnote", "caption")  # a table's '[12]' may be a cell value: left as printed


class Retriever(Protocol):
    """Anything that returns the k passages best matching a query, optionally within some documents."""

    def __call__(self, query: str, *, k: int, doc_ids: Sequence[str] | None = None) -> list[Passage]: ...


def _rrf(rankings: Iterable[tuple[float, list[tuple[int, float]]]], rrf_k: int) -> list[tuple[int, float]]:
    """Weighted reciprocal-rank fusion: each (weight, ranking) adds weight / (rrf_k + rank) to a chunk's score."""
    fused: dict[int, float] = {}
    for weight, ranking in rankings:
        for rank, (vid, _) in enumerate(ranking, start=1):
            fused[vid] = fused.get(vid, 0.0) + weight / (rrf_k + rank)
    return sorted(fused.items(), key=lambda item: -item[1])


def _scaled(ranking: list[tuple[int, float]]) -> dict[int, float]:
    """Scores of one ranking min-max scaled to [0, 1] (a single hit scores 1)."""
    if not ranking:
        return {}
    scores = [s for _, s in ranking]
    low, spread = min(scores), (max(scores) - min(scores)) or 1.0
    return {vid: (s - low) / spread if len(ranking) > 1 else 1.0 for vid, s in ranking}


def fuse_rankings(dense: list[tuple[int, float]], bm25: list[tuple[int, float]], *, fusion: str = FUSION,
                  rrf_k: int = RRF_K, dense_weight: float = DENSE_WEIGHT,
                  alpha: float = CONVEX_ALPHA) -> list[tuple[int, float]]:
    """One ranking from a dense and a BM25 ranking: weighted RRF, or a convex mix of min-max scaled scores."""
    if fusion == "rrf":
        return _rrf([(dense_weight, dense), (1.0, bm25)], rrf_k)
    if fusion != "convex":
        raise ConfigError(f"Fusion must be one of {', '.join(FUSIONS)}, but is {fusion!r}.", "Use rrf or convex.")
    # A chunk missing from one list gets that list's floor (0): it was not among its candidates.
    dense_scaled, bm25_scaled = _scaled(dense), _scaled(bm25)
    fused = {vid: alpha * dense_scaled.get(vid, 0.0) + (1 - alpha) * bm25_scaled.get(vid, 0.0)
             for vid in dense_scaled.keys() | bm25_scaled.keys()}
    return sorted(fused.items(), key=lambda item: (-item[1], item[0]))


def _mmr(index: CorpusIndex, query_vector: np.ndarray, ranked: list[tuple[int, float]], k: int,
         lam: float) -> list[tuple[int, float]]:
    """Greedy maximal marginal relevance over the ranked candidates (relevance = min-max scaled score)."""
    if len(ranked) <= 1:
        return ranked[:k]
    vids = [vid for vid, _ in ranked]
    vectors = index.vectors_for(vids)
    scores = np.array([s for _, s in ranked], dtype=np.float32)
    spread = float(scores.max() - scores.min()) or 1.0
    relevance = (scores - scores.min()) / spread
    similarity = vectors @ vectors.T
    chosen: list[int] = []
    remaining = list(range(len(vids)))
    while remaining and len(chosen) < k:
        if chosen:
            redundancy = similarity[np.ix_(remaining, chosen)].max(axis=1)
        else:
            redundancy = np.zeros(len(remaining), dtype=np.float32)
        gains = lam * relevance[remaining] - (1 - lam) * redundancy
        best = remaining[int(np.argmax(gains))]
        chosen.append(best)
        remaining.remove(best)
    return [ranked[i] for i in chosen]


def retrieve_passages(index: CorpusIndex, query: str, *, k: int = 8, mode: str = "hybrid", mmr: bool = False,
                      doc_ids: Iterable[str] | None = None, fusion: str = FUSION, rrf_k: int = RRF_K,
                      dense_weight: float = DENSE_WEIGHT, alpha: float = CONVEX_ALPHA, candidates: int | None = None,
                      mmr_lambda: float = MMR_LAMBDA) -> list[Passage]:
    """The k passages that best answer `query`, best first, each with its source metadata."""
    if mode not in MODES:
        raise ConfigError(f"Retrieval mode must be one of {', '.join(MODES)}, but is {mode!r}.",
                          "Use --mode hybrid, dense or bm25.")
    if not query.strip() or k <= 0 or not len(index):
        return []
    allowed = None
    if doc_ids is not None:
        wanted = set(doc_ids)
        allowed = {vid for vid, chunk in index.chunks.items() if chunk.doc_id in wanted}
    depth = max(candidates or MIN_CANDIDATES, k * 4 if mmr else k)
    query_vector = None
    if mode in ("dense", "hybrid") or mmr:
        query_vector = index.embedder.embed_queries([query])[0]
    if mode == "dense":
        ranked = index.search_dense(query_vector, depth, allowed)
    elif mode == "bm25":
        ranked = index.search_bm25(query, depth, allowed)
    else:
        ranked = fuse_rankings(index.search_dense(query_vector, depth, allowed),
                               index.search_bm25(query, depth, allowed), fusion=fusion, rrf_k=rrf_k,
                               dense_weight=dense_weight, alpha=alpha)
    ranked = _mmr(index, query_vector, ranked, k, mmr_lambda) if mmr else ranked[:k]
    return [indexed_passage(index, index.chunks[vid], score) for vid, score in ranked]


def indexed_passage(index: CorpusIndex, chunk: Chunk, score: float = 0.0) -> Passage:
    """`passage_from_chunk` with the chunk's document and parsed reference list as the index keeps them."""
    stored = index.documents[chunk.doc_id]
    return passage_from_chunk(chunk, stored.document, score, bibliography=stored.bibliography)


def passage_from_chunk(chunk: Chunk, document: Document, score: float = 0.0, *,
                       bibliography: tuple[ReferenceEntry, ...] = ()) -> Passage:
    """The Passage of an indexed chunk: its text and provenance with the document's citation metadata.

    With the paper's parsed reference list, its own '[12]' markers name the works they mean (`with_cited_works`):
    drafts, quotes and verification then read 'as in (Vaswani et al., 2017)', never a number that means another
    source in the article."""
    text = with_cited_works(chunk.text, bibliography) if chunk.kind in _PROSE_KINDS else chunk.text
    return Passage(chunk_id=chunk.chunk_id, doc_id=chunk.doc_id, text=text, score=score, title=document.title,
                   authors=document.authors, year=document.year, page=chunk.page, section=chunk.section,
                   start=chunk.start, end=chunk.end, kind=chunk.kind, label=chunk.label)


def passages_by_chunk_id(index: CorpusIndex, chunk_ids: Iterable[str], *, user=None) -> dict[str, Passage]:
    """The passages of those chunk ids still indexed (and, given a `user`, readable by them), by chunk id."""
    wanted = set(chunk_ids)
    found: dict[str, Passage] = {}
    for chunk in index.chunks.values():  # one pass for all of them
        if chunk.chunk_id in wanted and chunk.doc_id in index.documents:
            if user is None or index.documents[chunk.doc_id].document.readable_by(user.name):
                found[chunk.chunk_id] = indexed_passage(index, chunk)
    return found


def highlight_terms(text: str, query: str) -> list[tuple[int, int]]:
    """(start, end) spans of words in `text` that match a query word (same English stem; stopwords ignored)."""
    import Stemmer
    from bm25s.stopwords import STOPWORDS_EN

    stemmer = Stemmer.Stemmer("english")
    stop = set(STOPWORDS_EN)
    wanted = {stemmer.stemWord(w) for w in (m.group().lower() for m in _WORD.finditer(query)) if w not in stop}
    if not wanted:
        return []
    return [(m.start(), m.end()) for m in _WORD.finditer(text)
            if m.group().lower() not in stop and stemmer.stemWord(m.group().lower()) in wanted]
