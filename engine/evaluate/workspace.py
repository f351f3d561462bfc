"""Evaluate a saved draft with what the workspace holds: the embedder, the index, the labeled queries, the model.

The CLI (`check --json`, `report`) and the Review page share this wiring; `evaluate_draft`
itself takes every input explicitly.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Sequence

from engine.corpus_access import visible_doc_ids
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
    from engine.index import has_index, open_index

    if not has_index(settings.index_dir):
        return None

    return open_index(settings, embedder)


def evaluate_with_settings(markdown: str, settings: Settings, *, doc_ids: Sequence[str] = (),
                           reference: str | None = None, brief: Brief | None = None, embedder=None, llm=None,
                           index=None, load_model: bool = True, rubric: bool = False, user=None,
                           on_event: OnEvent = ignore_event) -> EvaluationReport:
    """Load what is missing (embedder, index, model), resolve the draft's citations, run every measure.

    With `user`, citations, copying sources and retrieval use only the documents that user may read
    (the shared corpus and their own uploads); without, every document (the operator's CLI)."""
    notes: list[str] = []
    if embedder is None:
        from engine.embed import load_embedder

        embedder = load_embedder(settings)
    if index is None:
        index = open_existing_index(settings, embedder)
    if index is None:
        notes.append("No corpus index yet: citations cannot be checked against sources (run `peerdraft index`).")
    readable = visible_doc_ids(index, user) if index is not None and user is not None else None
    citation_map, map_notes = (citation_map_for(markdown, index, doc_ids, readable) if index is not None
                               else ({}, []))
    notes += map_notes
    cited = {p.doc_id for passages in citation_map.values() for p in passages}
    wanted = [d for d in dict.fromkeys([*doc_ids, *sorted(cited)]) if readable is None or d in readable]
    if index is not None and not wanted:  # nothing cited resolves: still look for text copied from the corpus
        wanted = resembling_documents(markdown, index, readable)
    if brief is not None and readable is not None and set(brief.must_cite) - readable:
        hidden = set(brief.must_cite) - readable  # a shared article's brief may name the owner's private papers
        brief = replace(brief, must_cite=tuple(d for d in brief.must_cite if d in readable))
        notes.append(f"Coverage: {len(hidden)} must-cite document(s) of this brief are private to the article's "
                     "owner and not checked here.")
    sources = sources_from_index(index, wanted) if index is not None and wanted else []
    if llm is None and load_model:
        from engine.llm import load_llm

        try:
            llm = load_llm(settings)
        except PeerDraftError as exc:
            notes.append(f"Language model unavailable ({exc.reason if hasattr(exc, 'reason') else exc}).")
    report = evaluate_draft(markdown, embedder=embedder, citation_map=citation_map, brief=brief, sources=sources,
                            reference=reference, llm=llm, settings=settings, index=index,
                            queries=load_queries() if index is not None else (), rubric=rubric, readable=readable,
                            on_event=on_event)
    report.notes[:0] = notes
    return report


COPY_CANDIDATE_PARAGRAPHS = 40  # paragraphs of the draft looked up; each brings its 3 best BM25 documents


def resembling_documents(markdown: str, index, readable: set[str] | None = None) -> list[str]:
    """Doc ids of the documents the draft's paragraphs match best by BM25 (the copying check's candidates
    when the draft names no source), among `readable` when given."""
    from engine.retrieve import retrieve_passages

    paragraphs = [p for p in markdown.split("\n\n") if len(p.split()) >= 8][:COPY_CANDIDATE_PARAGRAPHS]
    found: dict[str, None] = {}
    for paragraph in paragraphs:
        for passage in retrieve_passages(index, paragraph[:2000], k=3, mode="bm25",
                                         doc_ids=None if readable is None else sorted(readable)):
            found.setdefault(passage.doc_id)
    return list(found)


PRIVATE_SOURCE = "(a source private to the article's owner)"


def evaluation_for_reader(data: dict, readable: set[str]) -> dict:
    """A stored evaluation (`EvaluationReport.to_dict`) as someone other than the writer who ran it may see it.

    The figures and the flagged draft sentences stay; what quotes a source does not when the reader may not
    read that source: copying spans from such documents lose their title and source text, must-cite documents
    they cannot read are not named, and grounding claims and key points lose their quoted evidence (they do
    not record which document the evidence came from)."""
    out = dict(data)
    copying = data.get("copying")
    if copying:
        spans = [span if span.get("doc_id") in readable else
                 {**span, "doc_id": "", "title": PRIVATE_SOURCE, "source_text": ""} for span in copying["spans"]]
        out["copying"] = {**copying, "spans": spans}
    grounding = data.get("grounding")
    if grounding:
        out["grounding"] = {**grounding, "unsupported": [{**c, "evidence": ""} for c in grounding["unsupported"]]}
    coverage = data.get("coverage")
    if coverage:
        out["coverage"] = {**coverage, **{key: [d for d in coverage.get(key, []) if d in readable]
                                          for key in ("must_cite", "cited_docs", "missing_docs")},
                           "key_points": [{**k, "evidence": ""} for k in coverage.get("key_points", [])]}
    return out


def store_evaluation(store, user, article_id: int, version_id: int, report: EvaluationReport, checks: dict) -> None:
    """Keep an evaluation of a saved version: its figures, its Markdown report, and the Library's two figures
    (grounded-claims percent and the readability band of the grade)."""
    from engine.evaluate.report import report_markdown

    evaluation = report.to_dict()
    title = store.get_article(user, article_id).title
    store.save_evaluation(user, version_id, evaluation, report_markdown(report, title=title, checks=checks))
    readability = checks["readability"]
    store.save_library_figures(user, version_id, grounding_percent=(evaluation["grounding"] or {}).get("percent"),
                               readability_band=readability.target.place(readability.overall.flesch_kincaid_grade))
