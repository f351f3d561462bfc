"""Plan stage: Brief → Outline following peer-writing practice, shaped by the corpus.

The outline is built from retrieved passages, so it is useful even when the model is weak:
an opening that states what the reader will learn; background only for terms the audience does
not already know (brief.assumed_terms are skipped); core sections, one per key point or, without
key points, one per (document, aspect) among the best passages; a practical example; a diagram
suggestion with a Mermaid sketch (in the notes of the first core section); limitations; further
research; an invitation for questions.

A capable model then rewrites the core headings. "Capable" (`model_can_plan`): an
openai-compatible endpoint, or a configured model whose name does not say it is under 1B
parameters. The embedded SmolLM2-135M is not capable: its headings are left as planned.
"""

from __future__ import annotations

import copy
import re
from typing import TYPE_CHECKING, Sequence

from engine import prompts
from engine.events import Event, OnEvent, ignore_event
from engine.markup import sentences_of_text
from engine.records import KIND_LABELS, SECTION_KINDS, Brief, Outline, Passage, Section
from engine.settings import Settings

if TYPE_CHECKING:  # a type only: plan needs no retrieval code at run time
    from engine.retrieve import Retriever

__all__ = ["KIND_LABELS", "SECTION_KINDS"]  # re-exported: callers read the kinds from the plan stage
# Share of the target length per kind (normalised over the outline's sections).
KIND_WEIGHTS = {"opening": 0.6, "background": 0.8, "core": 1.5, "example": 1.0, "limitations": 0.7,
                "further_research": 0.5, "questions": 0.25}
# Which sections survive `trim_outline`, most important first.
KIND_PRIORITY = ("core", "opening", "example", "limitations", "background", "further_research", "questions")

# Corpus notes use these section names; each becomes a heading pattern for a core section.
_ASPECT_HEADINGS = {"method": "How {name} works", "problem": "The problem {name} addresses",
                    "key results": "What {name} achieves"}
# A title without a short name before a colon reads better in front of the aspect.
_LONG_ASPECT_HEADINGS = {"method": "{name}: how it works", "problem": "{name}: the problem",
                         "key results": "{name}: key results"}
_NON_CORE_ASPECTS = {"limitations", "further reading", "key terms", "references"}
_DEFINITION = re.compile(r"^(?:An?\s+|The\s+)?(?P<term>[A-Z0-9][^.;:,]{1,60}?)\s+(?:is|are|refers to)\s+(?P<article>an?\s|the\s)?")
# First words of no term: function words, and those of a paper's sentence that reads "X is the ...": a "term" that
# kept its "The" because a lowercase word follows ("The first objective function is the cross entropy ...", "The
# third is ..."), a quantifier, ordinal or wh-word (session 17's PDF briefs planned "define The third").
_NOT_TERMS = frozenset("for in on with this it these those that there here when if as at by from after before "
                       "the most many some several each every both all other another such one first second third "
                       "last next which what who its their his her".split())
# ... nor one that speaks for the paper's authors ("Most related to ours is the model of ...").
_AUTHORS_WORDS = frozenset("we our ours us".split())
_GLOSSARY_SECTIONS = ("key terms", "definitions", "glossary", "terminology")
_PARAMS = re.compile(r"(\d+(?:\.\d+)?)\s*([mb])(?![a-z])", re.I)


# --------------------------------------------------------------------------- sections and kinds
def section_kind(section: Section) -> str:
    """The section's kind (its `kind` field; the purpose text no longer decides it)."""
    return section.kind


def short_name(title: str) -> str:
    """'LoRA' from 'LoRA: Low-Rank Adaptation of Large Language Models'."""
    return title.split(":", 1)[0].strip() or title.strip()


def _capitalised(text: str) -> str:
    text = " ".join(text.split()).rstrip(".")
    return text[:1].upper() + text[1:]


# --------------------------------------------------------------------------- capability
def model_can_plan(settings: Settings, model_name: str = "") -> bool:
    """Whether the configured model is trusted to rewrite headings (see module docstring)."""
    if settings.llm_backend == "openai-compatible" or settings.endpoint_url:
        return True
    if not settings.llm_model:
        return settings.llm_profile != "small"  # the embedded Qwen2.5-Coder-1.5B can; SmolLM2-135M cannot
    match = _PARAMS.search(f"{settings.llm_model} {model_name}")
    if match is None:
        return True
    size, unit = float(match.group(1)), match.group(2).lower()
    return unit == "b" and size >= 1.0


# --------------------------------------------------------------------------- planning from passages
def background_terms(passages: Sequence[Passage], assumed: Sequence[str], limit: int = 4) -> list[str]:
    """Terms the corpus defines ('X is …' sentences) that the audience is not assumed to know."""
    known = {a.strip().lower() for a in assumed if a.strip()}
    terms: list[str] = []
    glossary = [p for p in passages if p.section.strip().lower() in _GLOSSARY_SECTIONS]
    for passage in [*glossary, *(p for p in passages if p not in glossary)]:
        in_glossary = passage in glossary
        for sentence in (span.text for span in sentences_of_text(passage.text)):
            match = _DEFINITION.match(sentence.strip())
            words = match.group("term").lower().split() if match else []
            if not match or len(words) > 5 or words[0] in _NOT_TERMS or _AUTHORS_WORDS.intersection(words) \
                    or (words[0].endswith("ing") and {"a", "an", "the"}.intersection(words[1:])):
                continue  # ... nor an act with its object ("Training an ensemble of models is ...")
            if not in_glossary and not match.group("article"):
                continue  # outside a glossary only 'X is a …' reads as a definition
            term = match.group("term").strip()
            names = {term.lower(), *(m.lower() for m in re.findall(r"\(([^)]+)\)", term)),
                     re.sub(r"\s*\([^)]*\)", "", term).lower()}
            if names & known or any(k in names or k == term.lower() for k in known):
                continue
            if term.lower() not in (t.lower() for t in terms):
                terms.append(term)
            if len(terms) >= limit:
                return terms
    return terms


_ASPECT_ORDER = ("problem", "method", "key results")


def _core_from_passages(passages: Sequence[Passage], n_core: int) -> list[Section]:
    """One core section per (document, aspect) among the best passages; a document's aspects in reading order."""
    picked: list[Passage] = []
    seen: set[tuple[str, str]] = set()
    for passage in passages:
        aspect = passage.section.strip().lower()
        if aspect in _NON_CORE_ASPECTS:
            continue
        key = (passage.doc_id, aspect)
        if key in seen:
            continue
        seen.add(key)
        picked.append(passage)
        if len(picked) >= n_core:
            break
    doc_rank = {doc: i for i, doc in reversed(list(enumerate(p.doc_id for p in picked)))}
    picked.sort(key=lambda p: (doc_rank[p.doc_id], _ASPECT_ORDER.index(p.section.strip().lower())
                               if p.section.strip().lower() in _ASPECT_ORDER else len(_ASPECT_ORDER)))
    sections: list[Section] = []
    for passage in picked:
        aspect = passage.section.strip().lower()
        name = short_name(passage.title)
        patterns = _ASPECT_HEADINGS if len(name.split()) <= 3 else _LONG_ASPECT_HEADINGS
        heading = patterns.get(aspect, "{name}: " + (passage.section or "overview")).format(name=name)
        sections.append(Section(heading=heading, kind="core", purpose=f"explain {heading[0].lower()}"
                                                                    f"{heading[1:]} from {passage.title}",
                                query=f"{name} {passage.section}".strip()))
    return sections


def mermaid_sketch(topic: str, headings: Sequence[str]) -> str:
    """A Mermaid flowchart sketch linking the topic to the core sections, as a starting point."""
    def label(text: str) -> str:
        return text.replace('"', "'")[:48]
    lines = ["```mermaid", "flowchart LR", f'  T["{label(topic)}"]']
    for i, heading in enumerate(headings, start=1):
        lines.append(f'  T --> S{i}["{label(heading)}"]')
    lines.append("```")
    return "\n".join(lines)


def plan_outline(brief: Brief, retriever: Retriever, *, llm=None, refine: bool = False, n_core: int = 3,
                 on_event: OnEvent = ignore_event) -> Outline:
    """An outline for `brief` shaped by the corpus; with `refine` and an llm, core headings are model-polished."""
    on_event(Event("plan", "Retrieving passages for the topic", 0, 3))
    overview = retriever(". ".join([brief.topic, *brief.key_points]), k=max(12, 3 * n_core))
    if brief.key_points:
        core = []
        for point in brief.key_points:
            hits = retriever(f"{brief.topic}. {point}", k=2)
            sources = ", ".join(dict.fromkeys(f"{short_name(p.title)} ({p.section})" for p in hits))
            core.append(Section(heading=_capitalised(point), kind="core", purpose=f"cover: {point}",
                                query=point, notes=f"Likely sources: {sources}" if sources else ""))
    else:
        core = _core_from_passages(overview, n_core)
    if not core:
        core = [Section(heading=_capitalised(brief.topic), kind="core", purpose="the main idea",
                        query=brief.topic)]
    on_event(Event("plan", "Choosing background terms", 1, 3))
    definitions = retriever(f"{brief.topic} key terms definitions", k=6)
    terms = background_terms([*definitions, *overview], brief.assumed_terms)
    if refine and llm is not None:
        on_event(Event("plan", "Refining headings with the model", 2, 3))
        refine_headings(llm, brief, core, overview[:4])
    core_names = [s.heading for s in core]
    core[0].notes = "\n".join(filter(None, [core[0].notes, "Diagram suggestion: a figure showing how the parts "
                                            "of this article connect would help here. Starting sketch:",
                                            mermaid_sketch(brief.topic, core_names)]))
    skipped = f" (skipping what the audience knows: {', '.join(brief.assumed_terms)})" if brief.assumed_terms else ""
    sections = [Section(heading="What you will learn",
                        kind="opening", purpose="state what the reader will learn: " + "; ".join(core_names),
                        query=brief.goal or brief.topic)]
    if terms:
        sections.append(Section(heading="Background", kind="background",
                                purpose=f"define {', '.join(terms)}{skipped}", query="; ".join(terms),
                                notes=f"Define at first use: {', '.join(terms)}"))
    sections += core
    sections += [
        Section(heading="A worked example", kind="example", purpose="show the ideas on one concrete case "
                "with real numbers", query=f"{core_names[0]} example results numbers"),
        Section(heading="Limitations and trade-offs", kind="limitations", purpose="what does not work "
                "or costs more", query=f"{brief.topic} limitations"),
        Section(heading="Further research", kind="further_research", purpose="open questions and "
                "where to read next", query=f"{brief.topic} further reading open problems"),
        Section(heading="Questions?", kind="questions", purpose="invite the reader's questions and "
                "comments", query=""),
    ]
    on_event(Event("plan", "Outline ready", 3, 3))
    return Outline(title=_capitalised(brief.topic), sections=sections)


def refine_headings(llm, brief: Brief, core: list[Section], passages: Sequence[Passage]) -> bool:
    """Let the model rewrite the core headings in place; keeps them when its answer does not fit."""
    from engine.llm import GenerationParams, Message, generate

    entries = [(i, f"{p.title} — {p.section}", p.text) for i, p in enumerate(passages, start=1)]
    prompt = prompts.REFINE_HEADINGS.format(
        topic=brief.topic, goal_line=prompts.optional_line("Goal", brief.goal), notice=prompts.SOURCES_NOTICE,
        sources=prompts.sources_block(entries), count=len(core), headings="\n".join(s.heading for s in core),
        audience=brief.audience)
    messages = [Message("system", prompts.OUTLINE_SYSTEM.format(audience=brief.audience)), Message("user", prompt)]
    answer = generate(llm, messages, GenerationParams(max_new_tokens=24 * len(core) + 16, temperature=0.0)).text
    lines = [re.sub(r"^\s*(?:#+|[-*]|\d+[.)])\s*", "", line).strip().strip('"') for line in answer.splitlines()]
    lines = [line for line in lines if line]
    if len(lines) != len(core) or any(not 2 <= len(line.split()) <= 12 for line in lines):
        return False
    for section, heading in zip(core, lines):
        section.heading = _capitalised(heading)
    return True


# --------------------------------------------------------------------------- sizes
def section_words(outline: Outline, brief: Brief) -> list[int]:
    """Target words per section: brief.length_words split by section kind weights (at least 30 each)."""
    weights = [KIND_WEIGHTS[section_kind(s)] for s in outline.sections]
    total = sum(weights) or 1.0
    return [max(30, round(brief.length_words * w / total)) for w in weights]


def trim_outline(outline: Outline, n: int) -> Outline:
    """At most `n` sections, kept by kind priority (core first), in their original order."""
    if n >= len(outline.sections):
        return copy.deepcopy(outline)
    ranked = sorted(range(len(outline.sections)),
                    key=lambda i: (KIND_PRIORITY.index(section_kind(outline.sections[i])), i))
    keep = sorted(ranked[:max(0, n)])
    return Outline(outline.title, [copy.deepcopy(outline.sections[i]) for i in keep])


# --------------------------------------------------------------------------- editing (each returns a new outline)
def _copy(outline: Outline) -> Outline:
    return copy.deepcopy(outline)


def add_section(outline: Outline, heading: str, *, at: int | None = None, purpose: str = "",
                query: str = "", kind: str = "core") -> Outline:
    """The outline with a new section (a fresh id) inserted at `at` (appended when None)."""
    new = _copy(outline)
    section = Section(heading=_capitalised(heading), kind=kind, purpose=purpose or heading, query=query or heading)
    new.sections.insert(len(new.sections) if at is None else at, section)
    return new


def remove_section(outline: Outline, index: int) -> Outline:
    """The outline without the section at `index`."""
    new = _copy(outline)
    del new.sections[index]
    return new


def rename_section(outline: Outline, index: int, heading: str) -> Outline:
    """The outline with section `index` renamed (its retrieval query follows the new heading)."""
    new = _copy(outline)
    section = new.sections[index]
    if section.query in ("", section.heading):
        section.query = heading
    section.heading = heading
    return new


def move_section(outline: Outline, index: int, to: int) -> Outline:
    """The outline with section `index` moved to position `to`."""
    new = _copy(outline)
    section = new.sections.pop(index)
    new.sections.insert(max(0, min(to, len(new.sections))), section)
    return new


def outline_rows(outline: Outline) -> list[dict[str, str]]:
    """Rows (id, heading, kind label, purpose, query) for an editable table."""
    return [{"id": s.id, "heading": s.heading, "kind": KIND_LABELS[s.kind], "purpose": s.purpose, "query": s.query}
            for s in outline.sections]


def _row_kind(value) -> str:
    """A kind from a table cell holding its label ('Further research') or its name ('further_research')."""
    text = str(value or "").strip()
    labels = {label.lower(): kind for kind, label in KIND_LABELS.items()}
    return labels.get(text.lower()) or (text if text in SECTION_KINDS else "core")


def outline_from_rows(outline: Outline, rows: Sequence[dict]) -> Outline:
    """The outline after table edits: a row keeps its section's id and notes (rows without an id are new
    sections); blank headings are dropped."""
    by_id = {s.id: s for s in outline.sections}
    sections = []
    for row in rows:
        heading = str(row.get("heading") or "").strip()
        if not heading:
            continue
        old = by_id.get(str(row.get("id") or ""))
        sections.append(Section(heading=heading, kind=_row_kind(row.get("kind")) if row.get("kind") else
                                (old.kind if old else "core"), purpose=str(row.get("purpose") or heading),
                                query=str(row.get("query") or heading), notes=old.notes if old else "",
                                text=old.text if old and old.heading == heading else "", level=old.level if old else 2,
                                **({"id": old.id} if old else {})))
    return Outline(outline.title, sections)
