"""Evaluate stage: how good a draft is, measured — grounding, coverage, reference overlap, perplexity,
retrieval quality, copying, bias and safety, and a model rubric when a capable model is configured.

`evaluate_draft` runs every measure its inputs allow; a measure that cannot run (no embedder,
no reference, no model) is left out with a note saying what it needs. One module per measure:
grounding.py, coverage.py, reference.py, perplexity.py, retrieval.py, copying.py, bias.py,
rubric.py; reviews.py summarises human peer reviews; report.py renders the Markdown report.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping, Sequence

from engine.evaluate.bias import BiasMeasure, measure_bias
from engine.evaluate.copying import CopyingMeasure, SourceText, find_copied_spans
from engine.evaluate.coverage import CoverageMeasure, measure_coverage
from engine.evaluate.grounding import GroundingMeasure, measure_grounding
from engine.evaluate.perplexity import PerplexityMeasure, measure_perplexity
from engine.evaluate.reference import ReferenceMeasure, measure_reference
from engine.evaluate.retrieval import LabeledQuery, RetrievalMeasure, measure_retrieval
from engine.evaluate.rubric import CRITERIA, RubricMeasure, model_rubric, rubric_unavailable_reason
from engine.events import Event, OnEvent, ignore_event
from engine.records import Brief, Passage

SECTIONS = ("grounding", "coverage", "reference", "perplexity", "retrieval", "copying", "bias", "rubric")


@dataclass
class EvaluationReport:
    """Every measure that could run on one draft; `notes` say why the others are missing."""

    grounding: GroundingMeasure | None = None
    coverage: CoverageMeasure | None = None
    reference: ReferenceMeasure | None = None
    perplexity: PerplexityMeasure | None = None
    retrieval: RetrievalMeasure | None = None
    copying: CopyingMeasure | None = None
    bias: BiasMeasure | None = None
    rubric: RubricMeasure | None = None
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        """The `evaluation` object of `peerdraft check --json`: one key per measure (null when not run)."""
        data: dict = {name: (getattr(self, name).to_dict() if getattr(self, name) is not None else None)
                      for name in SECTIONS}
        if data["reference"] is None:
            del data["reference"]  # present only when a reference was given
        data["notes"] = list(self.notes)
        return data


def _judge(settings):
    """The verify judge built at set-up under the settings' cache, or None (grounding then uses the signals)."""
    if settings is None:
        return None
    from engine.verify.judge import judge_for

    return judge_for(settings, drafting=False)


def evaluate_draft(markdown: str, *, embedder=None, citation_map: Mapping[int, Sequence[Passage]] | None = None,
                   brief: Brief | None = None, sources: Sequence[SourceText] = (), reference: str | None = None,
                   llm=None, settings=None, index=None, queries: Sequence[LabeledQuery] = (),
                   rubric: bool = False, readable: set[str] | None = None,
                   on_event: OnEvent = ignore_event) -> EvaluationReport:
    """Run every measure the inputs allow on `markdown` and return them together (retrieval quality over
    the `readable` documents only, when given)."""
    report = EvaluationReport()
    citation_map = citation_map or {}
    steps = 8
    on_event(Event("evaluate", "bias and personal data", 0, steps))
    report.bias = measure_bias(markdown)

    on_event(Event("evaluate", "copying from sources", 1, steps))
    if sources:
        report.copying = find_copied_spans(markdown, sources)
    else:
        report.notes.append("Copying: no sources to compare with (give --sources or cite indexed documents).")

    on_event(Event("evaluate", "grounding of claims", 2, steps))
    if embedder is None:
        report.notes.append("Grounding and coverage need the embedding model, which is not loaded.")
    else:
        report.grounding = measure_grounding(markdown, citation_map, embedder, nli=_judge(settings))
        if not citation_map:
            report.notes.append("Grounding: no citation resolves to a source, so every cited claim counts as "
                                "unsupported.")
        on_event(Event("evaluate", "coverage of the brief", 3, steps))
        report.coverage = measure_coverage(markdown, brief.key_points if brief else (),
                                           brief.must_cite if brief else (), citation_map, embedder)
        if brief is None:
            report.notes.append("Coverage: no brief, so there are no key points or must-cite documents to check.")

    on_event(Event("evaluate", "comparison with the reference", 4, steps))
    if reference is not None:
        report.reference = measure_reference(markdown, reference, embedder)

    on_event(Event("evaluate", "perplexity per section", 5, steps))
    if llm is not None:
        report.perplexity = measure_perplexity(markdown, llm)
    else:
        report.notes.append("Perplexity: no language model loaded.")

    on_event(Event("evaluate", "retrieval quality", 6, steps))
    if index is not None and queries:
        report.retrieval = measure_retrieval(index, queries, readable=readable)
    if report.retrieval is None:
        report.notes.append("Retrieval quality: no labeled queries match the documents of this corpus.")

    on_event(Event("evaluate", "model rubric", 7, steps))
    if settings is not None:
        reason = rubric_unavailable_reason(settings)
        if rubric and reason is None and llm is not None:
            report.rubric = model_rubric(markdown, llm, settings)
        else:
            report.rubric = RubricMeasure(False, getattr(llm, "model_name", ""),
                                          note=reason or "The model rubric runs only when asked for (it is slow).")
    on_event(Event("evaluate", "done", steps, steps))
    return report


__all__ = ["CRITERIA", "EvaluationReport", "LabeledQuery", "SourceText", "evaluate_draft"]
