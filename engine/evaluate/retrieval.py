"""Retrieval quality of the current corpus on labeled queries: MRR and recall@k by document."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Sequence

from engine.events import Event, OnEvent, ignore_event

QUERIES_DIR = Path(__file__).resolve().parents[2] / "bench" / "data" / "queries"


@dataclass(frozen=True)
class LabeledQuery:
    """A query and the ids of the documents that answer it."""

    query: str
    relevant: tuple[str, ...]


@dataclass(frozen=True)
class RetrievalMeasure:
    """Mean reciprocal rank of the first relevant document, and recall@k, over the usable queries."""

    queries: int
    skipped: int  # labeled queries whose relevant documents are not in this corpus
    k: int
    mrr: float
    recall_at_k: float
    mode: str

    def to_dict(self) -> dict:
        return asdict(self)


def load_queries(directory: Path = QUERIES_DIR) -> list[LabeledQuery]:
    """Every `{"query", "relevant"}` line of the *.jsonl files in `directory` (none when it is absent)."""
    out: list[LabeledQuery] = []
    if not directory.is_dir():
        return out
    for path in sorted(directory.glob("*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                row = json.loads(line)
                out.append(LabeledQuery(row["query"], tuple(row["relevant"])))
    return out


def measure_retrieval(index, queries: Sequence[LabeledQuery], *, k: int = 5, mode: str = "hybrid",
                      readable: set[str] | None = None, on_event: OnEvent = ignore_event) -> RetrievalMeasure | None:
    """MRR and recall@k (relevant documents among the top k passages' documents); None without usable queries.

    With `readable`, only those documents are searched (a reader's figures never depend on others' uploads)."""
    from engine.retrieve import retrieve_passages

    present = set(index.documents) if readable is None else set(index.documents) & set(readable)
    usable = [q for q in queries if set(q.relevant) & present]
    if not usable:
        return None
    reciprocal, recall = 0.0, 0.0
    for done, q in enumerate(usable, start=1):
        on_event(Event("evaluate", "retrieval on labeled queries", done, len(usable)))
        ranked_docs: list[str] = []
        for passage in retrieve_passages(index, q.query, k=max(k, 10), mode=mode,
                                         doc_ids=None if readable is None else sorted(present)):
            if passage.doc_id not in ranked_docs:
                ranked_docs.append(passage.doc_id)
        relevant = set(q.relevant) & present
        first = next((rank for rank, d in enumerate(ranked_docs, start=1) if d in relevant), None)
        reciprocal += 1.0 / first if first else 0.0
        recall += len(relevant & set(ranked_docs[:k])) / len(relevant)
    n = len(usable)
    return RetrievalMeasure(n, len(queries) - n, k, round(reciprocal / n, 4), round(recall / n, 4), mode)
