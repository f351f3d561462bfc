"""The evaluation as a readable Markdown report, with its charts written as images beside it."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from engine.evaluate import EvaluationReport
from engine.evaluate.charts import bar_chart
from engine.evaluate.perplexity import EXPLANATION
from engine.evaluate.reviews import ReviewSummary
from engine.evaluate.rubric import CRITERION_KEYS, CRITERION_LABELS


@dataclass(frozen=True)
class SummaryFigure:
    """One headline number of the summary strip: label, value as shown, and a one-line help."""

    label: str
    value: str
    help: str = ""


def _pct(value: float | None) -> str:
    return "n/a" if value is None else f"{100 * value:.0f}%"


def _minutes(seconds: float) -> str:
    return f"{seconds:.0f} s" if seconds < 60 else f"{seconds / 60:.0f} min"


def _cell(text: str, limit: int = 160) -> str:
    text = " ".join(str(text).split()).replace("|", "\\|")
    return text if len(text) <= limit else text[:limit - 1] + "\u2026"


def summary_figures(evaluation: EvaluationReport | None, checks: dict | None = None,
                    reviews: ReviewSummary | None = None) -> list[SummaryFigure]:
    """The headline figures shown first in the report and on the Review page."""
    figures: list[SummaryFigure] = []
    ev = evaluation or EvaluationReport()
    if ev.grounding is not None:
        figures.append(SummaryFigure("Grounded claims", f"{ev.grounding.percent:.0f}%",
                                     "claims supported by the sources they cite (citation recall)"))
    if ev.coverage is not None:
        figures.append(SummaryFigure("Coverage", _pct(ev.coverage.share), "key points and must-cite documents covered"))
    checks = checks or {}
    if "readability" in checks:
        r = checks["readability"]
        figures.append(SummaryFigure("Readability", f"grade {r.overall.flesch_kincaid_grade:.1f}",
                                     f"target {r.target.min_grade:g}-{r.target.max_grade:g} for {r.target.audience} "
                                     f"({r.target.place(r.overall.flesch_kincaid_grade)} the band)"))
    if "jargon" in checks:
        figures.append(SummaryFigure("Undefined terms", str(len(checks["jargon"].undefined)),
                                     "technical terms not defined at first use"))
    if reviews is not None:
        figures.append(SummaryFigure("Reviews", str(reviews.count),
                                     f"average {reviews.overall:.1f} / 5" if reviews.overall else "none yet"))
    return figures


def report_markdown(evaluation: EvaluationReport, *, title: str = "Draft", checks: dict | None = None,
                    reviews: ReviewSummary | None = None, charts: dict[str, str] | None = None) -> str:
    """The report text; `charts` maps a chart name to the relative path of its image."""
    charts = charts or {}
    ev = evaluation
    out = [f"# Evaluation report: {title}", ""]
    figures = summary_figures(ev, checks, reviews)
    if figures:
        out += ["| Measure | Value | What it means |", "|---|---|---|"]
        out += [f"| {f.label} | {f.value} | {_cell(f.help)} |" for f in figures]
        out.append("")

    def image(name: str, alt: str) -> None:
        if name in charts:
            out.extend([f"![{alt}]({charts[name]})", ""])

    if ev.grounding is not None:
        g = ev.grounding
        out += ["## Grounding", "",
                f"{g.claims} claim(s) in {g.sentences} sentence(s). Cited: {_pct(g.cited_share)} of claims; "
                f"citation recall {_pct(g.citation_recall)} (claims their citations support); citation precision "
                f"{_pct(g.citation_precision)} (citations that support their sentence).", ""]
        image("grounding", "Supported share of claims per section")
        if g.unsupported:
            out += ["Claims to check:", ""]
            out += [f"- ({c.status.replace('_', ' ')}, {c.section}) \u201c{_cell(c.text)}\u201d \u2014 "
                    f"{_cell('; '.join(c.reasons) or 'not supported')}" for c in g.unsupported]
            out.append("")
    if ev.coverage is not None:
        c = ev.coverage
        out += ["## Coverage of the brief", ""]
        if not c.key_points and not c.must_cite:
            out += ["The brief lists no key points or must-cite documents to check.", ""]
        if c.key_points:
            out += ["| Key point | Covered | Closest sentence |", "|---|---|---|"]
            out += [f"| {_cell(k.point)} | {'yes' if k.covered else '**missing**'} | {_cell(k.evidence, 100)} |"
                    for k in c.key_points]
            out.append("")
        if c.must_cite:
            out.append("Must-cite documents missing: " + (", ".join(c.missing_docs) or "none") + ".")
            out.append("")
    if checks and "readability" in checks:
        r = checks["readability"]
        out += ["## Readability", "",
                f"Flesch\u2013Kincaid grade {r.overall.flesch_kincaid_grade:.1f}, Flesch reading ease "
                f"{r.overall.flesch_reading_ease:.0f}, about {_minutes(r.overall.reading_time_s)} to read. "
                f"Target for {r.target.audience}: grade {r.target.min_grade:g}\u2013{r.target.max_grade:g}.", ""]
        image("readability", "Grade per section against the target band")
    if checks and "jargon" in checks and checks["jargon"].undefined:
        out += ["## Terms to define at first use", ""]
        out += [f"- **{t.term}** (line {t.first_use_line}, {t.status.replace('_', ' ')})"
                + (f": suggestion \u201c{_cell(t.suggestion.text)}\u201d [{t.suggestion.title}]" if t.suggestion else "")
                for t in checks["jargon"].undefined]
        out.append("")
    if ev.reference is not None:
        ref = ev.reference
        out += ["## Against the reference", "", "| Metric | Precision | Recall | F1 |", "|---|---|---|---|"]
        for name, score in (("ROUGE-1", ref.rouge1), ("ROUGE-2", ref.rouge2), ("ROUGE-L", ref.rougeL)):
            out.append(f"| {name} | {score.precision:.3f} | {score.recall:.3f} | {score.fmeasure:.3f} |")
        out += ["", f"BLEU (sacrebleu): {ref.bleu:.2f}.", ""]
        image("reference", "Embedding similarity per section")
    if ev.perplexity is not None:
        p = ev.perplexity
        overall = f"{p.overall:.1f}" if p.overall is not None else "n/a"
        out += ["## Perplexity", "", f"Under {p.model or 'the local model'}: {overall} overall.", "", f"> {EXPLANATION}", ""]
        image("perplexity", "Perplexity per section")
    if ev.retrieval is not None:
        rq = ev.retrieval
        out += ["## Retrieval quality of the corpus", "",
                f"On {rq.queries} labeled queries ({rq.mode} search): MRR {rq.mrr:.3f}, recall@{rq.k} {rq.recall_at_k:.3f}.", ""]
    if ev.copying is not None:
        cp = ev.copying
        out += ["## Copying", "", f"{len(cp.spans)} span(s) of {cp.min_words}+ words copied verbatim "
                f"({_pct(cp.copied_share)} of the draft's words).", ""]
        out += [f"- {s.words} words from **{s.title}** ({s.doc_id}): \u201c{_cell(s.text, 240)}\u201d" for s in cp.spans]
        out.append("")
    if ev.bias is not None:
        b = ev.bias
        out += ["## Bias and safety", ""]
        if not b.terms and not b.personal_data:
            out += ["No lexicon terms and no personal data found.", ""]
        out += [f"- {h.kind}: {_cell(h.message, 240)}" for h in (*b.terms, *b.personal_data)]
        out.append("")
    if ev.rubric is not None:
        out += ["## Model rubric", ""]
        if ev.rubric.available:
            out += ["| Criterion | Score | Reason |", "|---|---|---|"]
            out += [f"| {CRITERION_LABELS[s.criterion]} | {s.score if s.score is not None else 'n/a'} | {_cell(s.reason)} |"
                    for s in ev.rubric.scores]
        else:
            out.append(ev.rubric.note)
        out.append("")
    if reviews is not None and reviews.count:
        out += ["## Peer reviews", ""]
        image("reviews", "Average score per criterion")
        keys = [k for k in CRITERION_KEYS if k in reviews.averages]
        out += ["| Reviewer | " + " | ".join(CRITERION_LABELS[k] for k in keys) + " |", "|---" * (len(keys) + 1) + "|"]
        out += [f"| {_cell(r.reviewer)} | " + " | ".join(str(r.scores.get(k, "")) for k in keys) + " |" for r in reviews.rows]
        out.append("")
        if reviews.comment_sections:
            out.append("Comments by section: " + ", ".join(f"{s or 'whole article'} ({n})"
                                                          for s, n in reviews.comment_sections.items()) + ".")
            out.append("")
    if ev.notes:
        out += ["## Notes", ""] + [f"- {n}" for n in ev.notes] + [""]
    return "\n".join(out).rstrip() + "\n"


def write_charts(evaluation: EvaluationReport, folder: Path, *, checks: dict | None = None,
                 reviews: ReviewSummary | None = None) -> dict[str, Path]:
    """Write every chart the data allows into `folder`; returns {chart name: file}."""
    ev = evaluation
    files: dict[str, Path] = {}
    if ev.grounding is not None and ev.grounding.sections:
        s = ev.grounding.sections
        files["grounding"] = bar_chart(folder / "grounding", "Supported claims per section", [x.title for x in s],
                                       [x.share for x in s], xlabel="share of claims supported", xmax=1.0)
    if checks and "readability" in checks:
        r = checks["readability"]
        rows = [x for x in r.sections if x.placement != "empty"]
        if rows:
            files["readability"] = bar_chart(folder / "readability", "Flesch-Kincaid grade per section",
                                             [x.title for x in rows], [x.scores.flesch_kincaid_grade for x in rows],
                                             xlabel="grade", band=(r.target.min_grade, r.target.max_grade))
    if ev.reference is not None and ev.reference.sections:
        s = ev.reference.sections
        files["reference"] = bar_chart(folder / "reference", "Similarity to the reference, per section",
                                       [x.draft_section for x in s], [x.similarity for x in s], xlabel="cosine", xmax=1.0)
    if ev.perplexity is not None and any(x.perplexity for x in ev.perplexity.sections):
        s = [x for x in ev.perplexity.sections if x.perplexity is not None]
        files["perplexity"] = bar_chart(folder / "perplexity", "Perplexity per section", [x.title for x in s],
                                        [x.perplexity for x in s], xlabel="perplexity (lower = more predictable)")
    if reviews is not None and reviews.averages:
        keys = [k for k in CRITERION_KEYS if k in reviews.averages]
        files["reviews"] = bar_chart(folder / "reviews", "Peer review: average per criterion",
                                     [CRITERION_LABELS[k] for k in keys], [reviews.averages[k] for k in keys],
                                     xlabel="score (1-5)", xmax=5.0)
    return files


def write_report(evaluation: EvaluationReport, out_path: Path, *, title: str = "Draft", checks: dict | None = None,
                 reviews: ReviewSummary | None = None) -> str:
    """Write the report to `out_path` and its charts to `<name>_files/` beside it; returns the Markdown."""
    out_path = Path(out_path)
    folder = out_path.parent / f"{out_path.stem}_files"
    files = write_charts(evaluation, folder, checks=checks, reviews=reviews)
    links = {name: f"{folder.name}/{path.name}" for name, path in files.items()}
    text = report_markdown(evaluation, title=title, checks=checks, reviews=reviews, charts=links)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    out_path.write_text(text, encoding="utf-8")
    return text
