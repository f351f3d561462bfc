"""Evaluate a saved draft with what the workspace holds: the embedder, the index, the labeled queries, the model.

The CLI (`check --json`, `report`) and the Review page share this wiring; `evaluate_draft`
itself takes every input explicitly.
"""

from __future__ import annotations

from typing import Sequence

from engine.errors import PeerDraftError
from engine.evaluate import EvaluationReport, evaluate_draft
from engine.evaluate.copying import sources_from_index
from engine.evaluate.retrieval import load_queries
from engine.evaluate.sources import citation_map_for
from engine.events import OnEvent, ignore_event
from engine.records import Brief
from engine.settings import Settings


def open_existing_index(settings: Settings, embedder):
    """The corpus index when one has been built, else None (evaluation never builds one)."""
    if not (settings.index_dir / "CURRENT").exists():
        return None
    from engine.index import open_index

    return open_index(settings, embedder)


def evaluate_with_settings(markdown: str, settings: Settings, *, doc_ids: Sequence[str] = (),
                           reference: str | None = None, brief: Brief | None = None, embedder=None, llm=None,
                           index=None, load_model: bool = True, rubric: bool = False,
                           on_event: OnEvent = ignore_event) -> EvaluationReport:
    """Load what is missing (embedder, index, model), resolve the draft's citations, run every measure."""
    notes: list[str] = []
    if embedder is None:
        from engine.embed import load_embedder

        embedder = load_embedder(settings)
    if index is None:
        index = open_existing_index(settings, embedder)
    if index is None:
        notes.append("No corpus index yet: citations cannot be checked against sources (run `peerdraft index`).")
    citation_map, map_notes = citation_map_for(markdown, index, doc_ids) if index is not None else ({}, [])
    notes += map_notes
    cited = {p.doc_id for passages in citation_map.values() for p in passages}
    wanted = list(dict.fromkeys([*doc_ids, *sorted(cited)]))
    sources = sources_from_index(index, wanted) if index is not None and wanted else []
    if llm is None and load_model:
        from engine.llm import load_llm

        try:
            llm = load_llm(settings)
        except PeerDraftError as exc:
            notes.append(f"Language model unavailable ({exc.reason if hasattr(exc, 'reason') else exc}).")
    report = evaluate_draft(markdown, embedder=embedder, citation_map=citation_map, brief=brief, sources=sources,
                            reference=reference, llm=llm, settings=settings, index=index,
                            queries=load_queries() if index is not None else (), rubric=rubric, on_event=on_event)
    report.notes[:0] = notes
    return report
