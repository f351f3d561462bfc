"""Jargon check: is every technical term defined where the reader first meets it?

`check_jargon(markdown)` finds the terms (engine/check/terms.py) in the draft's prose
(engine/markup.py: code, URLs, citations, tables, math and HTML are not prose), then
decides for each term whether the writer defined it at its first use.

Rules a writer can rely on:
- **Headings are not first uses.** A heading names a section; the reader meets the term in
  the body below it, so the first use is the first mention in prose. A term that appears only
  in headings is not reported.
- **Recognised definitions**: "X is/are a/the …", "X means / refers to / denotes / stands for
  …", "X, a/the/which …", "X — …", "X: …", "X (…)" (an acronym's expansion or any explanatory
  parenthesis), "long form (X)", "long form, or X, is …", "X, <short aside>, is …", "called X",
  "known as X", "that is, …", "i.e.", "X whose …", "X in which …",
  a sentence with X as subject of a mechanism verb ("X splits …", "X keeps …"), and a
  definition in the sentence right after the first use (naming X again, or "It/This …").
- **Acronyms** join their long form: "long form (ACR)", "long form, or ACR," and an acronym
  spelled by the initials of a phrase used earlier ("grouped-query attention … GQA").
- **Statuses**: "defined" (at first use or in the next sentence), "defined_late" (a definition
  further on: both offsets are reported), "undefined", "assumed" (the per-article or brief's
  assumed terms; never flagged). What the audience knows is not reported at all: the reader
  model (engine/check/reader.py) built from ML writing's term frequencies for ML/AI peers;
  `audience="software engineers new to ML"` or `"general readers"` report more.
- **Not terms** (for any reader): sentence fragments (a leading verb in -ing, a trailing pronoun,
  adjective or verb before its object: "comparing pairwise similarity", "RL myself", "EDA help the"),
  the front of a longer noun phrase ("sparse learning" of "sparse learning signals,"), title-case
  compounds of everyday words ("Open-Domain"), shouted words, quoted samples, spelled-out addresses,
  paths ("r/MachineLearning"), adverbs and plain derivations ("vacuously", "non-trivially", "abstractive",
  "checkable", "superfun"), English's commonest words even shouted ("UP"), names in thanks or image credits, a
  venue with its year ("ICML 2015"), and a slip one edit from a word the text or ML writing uses ("Wassertstein",
  "feedfoward"). A term shaped after a name ("GPT-2-like", "MADE-type") is that name, known or not. Paper titles as link text and bold title-case paragraph leads are, like
  headings, no first use. For peers, an acronym before an everyday noun ("RL setting") is the
  acronym, and an everyday adjective narrows a term rather than coining one ("noisy labels", "dense
  dual-encoder" = a dual-encoder, "difficult negative" = a negative) unless ML writing uses the pair as a unit.
- **The panel shows the flags it is sure of.** Each undefined or late-defined term gets a confidence
  (`flag_confidence`: a logistic model over its form, the ML vocabulary's counts and its status, fitted on
  hand-labeled real posts and passages); for ML/AI peers the panel shows those at or above the reader's bar,
  at most one per 2,000 prose words, most confident first: in a short text at least 3, in a whole article
  (1,000 prose words or more) only those at the article's higher bar (`panel_limits`). The others are `candidates`:
  listed apart ("show all candidates", `to_dict(with_candidates=True)`), never counted or highlighted.
  Readers new to ML see every candidate as a flag.
- Offsets are character offsets into the Markdown text given; lines are 1-based.

Suggestions come only from retrieved passages (`search`): definitional sentences found with the
same patterns, explicit definitions with the term as subject first, then best retrieval score,
each with its citation. When the term's own passages hold no explicit definition the search
widens once (the acronym's long form found in them, or "TERM is a"). When the corpus holds none,
the suggestion is None; nothing is invented. A definition in the model's own words, always marked
unverified and never inserted for the writer, is `engine.check.definitions.model_definition`.
"""

from __future__ import annotations

import csv
import io
import math
import re
from bisect import bisect_right
from collections import Counter
from dataclasses import dataclass, replace
from typing import Callable, Iterable, Sequence

from engine.check.prose import cited_names
from engine.check.reader import Reader, ml_lift, ml_vocabulary, reader_for
from engine.check.terms import (STOPWORDS, Mention, _is_transparent, _singular, everyday_zipf, find_mentions,
                                mention_pattern, term_key, word_classes)
from engine.markup import ProseMap, prose_map, sentences
from engine.records import Passage

STATUSES = ("defined", "undefined", "defined_late", "assumed")
FLAGGED = ("undefined", "defined_late")

Search = Callable[[str], Sequence[Passage]]


@dataclass(frozen=True)
class Suggestion:
    """A definitional sentence found in the corpus, with the passage it came from."""

    text: str
    doc_id: str
    chunk_id: str
    title: str
    page: int
    score: float

    def to_dict(self) -> dict:
        return {"text": self.text, "citation": {"doc_id": self.doc_id, "chunk_id": self.chunk_id,
                                                "title": self.title, "page": self.page}}


@dataclass(frozen=True)
class TermResult:
    """One technical term: where it is first used, whether and where it is defined, a suggestion."""

    term: str  # as written at first use
    key: str  # case/hyphen/plural-folded form shared by all variants
    status: str  # defined | undefined | defined_late | assumed
    first_use: int  # offset into the draft
    first_use_line: int
    first_use_length: int
    definition_offset: int | None = None
    definition_line: int | None = None
    definition_text: str = ""  # the draft sentence that defines it
    mentions: tuple[tuple[int, int], ...] = ()  # (offset, length) of every prose mention
    aliases: tuple[str, ...] = ()  # other spellings that name it, e.g. the long form of an acronym
    suggestion: Suggestion | None = None
    reason: str = ""  # why it is flagged, for the writer: "rare even in ML writing; not defined before line 40"
    confidence: float = 1.0  # how sure the check is that this reader wants it defined (flag_confidence)
    candidate: bool = False  # undefined or defined late, but below the panel's confidence or budget: not a flag

    @property
    def defined(self) -> bool:
        return self.definition_offset is not None

    @property
    def flagged(self) -> bool:
        """A flag of the panel: undefined or defined late, and confident enough to show by default."""
        return self.status in FLAGGED and not self.candidate

    def to_dict(self, *, with_confidence: bool = False) -> dict:
        data = {"term": self.term,
                "first_use": {"offset": self.first_use, "line": self.first_use_line},
                "defined": self.defined, "status": self.status,
                "definition_offset": self.definition_offset, "why": self.reason,
                "suggestion": self.suggestion.to_dict() if self.suggestion else None}
        if with_confidence:
            data |= {"confidence": round(self.confidence, 3), "candidate": self.candidate}
        return data


@dataclass(frozen=True)
class HighlightSpan:
    """A span of the draft for the editor to mark: a term's first use or its definition."""

    offset: int
    length: int
    term: str
    status: str
    role: str  # first_use | definition


@dataclass(frozen=True)
class JargonReport:
    """All technical terms of a draft in order of first use."""

    terms: tuple[TermResult, ...] = ()

    @property
    def undefined(self) -> tuple[TermResult, ...]:
        """Terms the writer should define: undefined, or defined only after their first use."""
        return tuple(t for t in self.terms if t.flagged)

    @property
    def candidates(self) -> tuple[TermResult, ...]:
        """Undefined or late-defined terms the check is less sure of, most likely first: shown on request, never counted."""
        return tuple(sorted((t for t in self.terms if t.candidate), key=lambda t: (-t.confidence, t.first_use)))

    def to_dict(self, *, with_candidates: bool = False) -> dict:
        """The issue's JSON (terms, undefined = the panel's flags); `with_candidates` adds each term's confidence
        and the candidates below the panel's bar, most likely first (a "show all candidates" list)."""
        data = {"terms": [t.to_dict(with_confidence=with_candidates) for t in self.terms],
                "undefined": [t.term for t in self.undefined]}
        if with_candidates:
            data["candidates"] = [t.term for t in self.candidates]
        return data

    def summary_lines(self) -> list[str]:
        """Human-readable lines for the CLI."""
        lines = [f"Jargon: {len(self.terms)} technical term(s), {len(self.undefined)} to define at first use."]
        if self.candidates:
            lines.append(f"  ({len(self.candidates)} more candidate(s) the check is less sure of, not counted: "
                         + ", ".join(t.term for t in self.candidates[:12]) + (", ..." if len(self.candidates) > 12 else "") + ")")
        for t in self.terms:
            if t.candidate:
                continue
            where = f"line {t.first_use_line}"
            if t.status == "defined_late":
                where += f", defined later on line {t.definition_line}"
            lines.append(f"  {t.status:<12} {t.term}  ({where})" + (f": {t.reason}" if t.flagged and t.reason else ""))
            if t.flagged and t.suggestion:
                lines.append(f"               suggestion: {t.suggestion.text}  [{t.suggestion.title}, p. {t.suggestion.page}]")
            elif t.flagged:
                lines.append("               no definition found in the corpus")
        return lines


# --- sentences ----------------------------------------------------------------------------

def sentence_spans(pm: ProseMap) -> list[tuple[int, int]]:
    """(start, end) of each sentence of the prose text (the shared splitter in prose.py)."""
    return [(s.start, s.end) for s in sentences(pm)]


# --- definition patterns ------------------------------------------------------------------

_MECHANISM_VERBS = (
    "add|adapt|appl(?:y|ies)|assign|block|build|clip|combine|compare|compress|compute|control|convert|count|"
    "divide|draw|drop|encode|estimate|fine-tune|freeze|give|hide|keep|learn|let|limit|map|measure|merge|"
    "multipl(?:y|ies)|normali[sz]e|pair|predict|project|pull|punish|rank|read|remove|replace|rescale|rescore|"
    "restrict|rotate|route|run|sample|score|select|shard|skip|split|store|sum|trade|train|truncate|turn|tell|"
    "weight|ask|treat|pick|find|link|break|cut|reuse|avoid|approximate|average|concatenate|describe"
)
_MECHANISM = re.compile(rf"^\s+(?:\w+ly\s+)?(?:{_MECHANISM_VERBS})(?:s|es)?\b|^\s+works?\s+by\b", re.IGNORECASE)
_COPULA = re.compile(
    r"^\s+(?:is|are)\s+(?:(?:simply|essentially|just|basically)\s+)?"
    r"(?:a|an|the|one|what|when|how|any|defined|called|short\s+for|shorthand\s+for)\b"
    r"|^\s+(?:means?|refers?\s+to|denotes?|stands?\s+for|describes?|names?)\b",
    re.IGNORECASE)
_APPOSITIVE = re.compile(
    r"^\s*(?:,|—|–|--|\s-\s)\s*(?:i\.e\.|in\s+short)|"
    r"^\s*(?:,|—|–|--|\s-\s)\s*(?:a|an|the|which|that|who|whose|those|these|one|namely|that\s+is|"
    r"in\s+other\s+words|or|called|known\s+as|also\s+called)\b|^\s*(?:—|–|--)\s*\S|^\s+(?:which|whose|in\s+which)\s+\w+|^\s*:\s*\S+\s+\S+\s+\S+",
    re.IGNORECASE)
_PAREN = re.compile(r"^\s*\(([^()]{3,})\)")
_NOT_EXPLANATION = re.compile(r"\b(?:1[89]|20)\d\d\b|et al|^\s*(?:see|e\.g\.|cf\.|fig|table|section|eq|§)|^\s*\d", re.IGNORECASE)
_IDEA_OF = re.compile(r"\b(?:the\s+)?(?:main\s+|key\s+|core\s+|basic\s+|central\s+)?(?:idea|goal|aim|purpose|intuition|point)"
                      r"\s+(?:of|behind)\s+$", re.IGNORECASE)
_OPEN_NAME = re.compile(r"\(\s*[\"“'‘]?\s*$")
_CLOSE_NAME = re.compile(r"^\s*[\"”'’]?\s*(?:[;,][^()]{0,120})?\)")
_CALLED = re.compile(r"(?:called|known\s+as|termed|dubbed|named|so-called|referred\s+to\s+as|denoted(?:\s+by)?|"
                     r"\bcalls?\s+(?:this|it|that|these|them|such\s+\w+)|\bwe\s+call)\s*(?:(?:a|an|the)\s+)?[\"“']?$",
                     re.IGNORECASE)
# "Inverse document frequency, or IDF, is …", "Length normalisation, controlled by b, is …":
# the copula comes after an alternative name or a short aside set off by commas.
_ASIDE_COPULA = re.compile(r"^\s*,\s*(?:[^,.;()]{1,60},\s*)?(?:is|are)\s+(?:a|an|the|one)\b", re.IGNORECASE)
_OR_NAME = re.compile(r",\s*or\s*$", re.IGNORECASE)
_THAT_IS = re.compile(r"^[^.;]{0,40}?\b(?:that\s+is\b|i\.e\.|in\s+other\s+words\b|namely\b)", re.IGNORECASE)
_SUBJECT_LEAD = re.compile(r"^\s*(?:(?:the|a|an|each|our|in|with|under|for|this)\s+)*(?:[\w-]+\s+)?$", re.IGNORECASE)
_REFERRING_NOUNS = r"(?:term|method|technique|approach|idea|trick|metric|algorithm|objective|scheme|procedure|step|score|loss|layer|model)"
_ANAPHOR_LEAD = re.compile(r"^\s*(?:it|this|these|they|such\s+\w+|(?:this|the)\s+" + _REFERRING_NOUNS + r"|in\s+it)\s+(?:\w+ly\s+)?"
                           r"(?:is|are|means|refers|denotes|stands|(?!has\b|was\b|does\b|goes\b)[a-z]+[^s\W]s|"
                           + _MECHANISM_VERBS + r")\b", re.IGNORECASE)


def _defines_here(text: str, sent: tuple[int, int], start: int, end: int, *, strong_only: bool = False,
                  expansion: bool = True) -> bool:
    """True when the mention text[start:end] is defined by its own sentence.

    `strong_only` keeps the explicit forms (is/means/appositive/expansion/called) and drops
    "X splits …" mechanism sentences, which describe more often than they define.
    `expansion=False` drops "long form (X)", which names X without saying what it is.
    """
    before = text[sent[0]:start]
    # "**BERTserini** ([Yang et al., 2019](…)) pairs …": the citation left empty brackets behind.
    after = re.sub(r"^\s*\(\s*[;,]?\s*\)", "", text[end:sent[1]])
    if _IDEA_OF.search(before) and re.match(r"^\s+(?:is|are)\s+(?:to|that)\b", after):
        return True  # "The main idea of contrastive learning is to learn …"
    if re.match(r"^[\"”'’]?[^.;]{0,60}?\s(?:is|are)\s+(?:referred\s+to|called|renamed)\s+as?\b", after):
        return True  # 'the "ranker" model in the R^3 paper is referred to as the "retriever" here' 
    # 'The "open-domain" part refers to …': a quoted term and a word for it before the copula.
    after = re.sub(r"^[\"”'’]\s*(?:part|term|word|bit|here|idea)?(?=[\s:,])", "", after) if before.rstrip().endswith(('"', "“", "'")) else after
    after = re.sub(r"^\s+(?:here|simply|just|basically)(?=\s+(?:is|are|means|stands|refers|denotes)\b)", "", after)
    # "A masked language model (MLM) is a …", for both names: a short bracketed name before the copula.
    bracket = re.match(r"^\s*\(\s*[^()\s]+(?:\s+[^()\s]+)?\s*\)", after)
    if bracket and _COPULA.match(after[bracket.end():]):
        return True
    if before.rstrip().endswith("(") and after.lstrip().startswith(")") and _COPULA.match(after.lstrip()[1:]):
        return True
    spelled = re.match(r"^\s*\(([\w\s-]{3,60})\)", after)
    if spelled and _spells(text[start:end], spelled.group(1)):
        return True  # "POS (part-of-speech)"
    paren = _PAREN.match(after)
    # "DPR (Dense Passage Retriever; Karpukhin et al., 2020)": the citation after a semicolon is not the explanation.
    explanation = paren.group(1).split(";")[0].strip(" \"“”'") if paren else ""
    if paren and len(explanation.split()) >= 2 and not _NOT_EXPLANATION.search(explanation):
        return True
    if expansion and _OPEN_NAME.search(before) and _CLOSE_NAME.match(after):
        return True  # "long form (X)", "long form ('X')", "long form (X; Author, 2020)"
    if _CALLED.search(before.rstrip(" ,")) or _CALLED.search(before):
        return True
    if _ASIDE_COPULA.match(after) and (_OR_NAME.search(before) or after.count(",") >= 2):
        return True
    if _COPULA.match(after) or _APPOSITIVE.match(after) or _THAT_IS.match(after):
        return True
    if strong_only:
        return False
    # "X splits ...", "The KV cache keeps ...", "Mixture-of-experts layers route ...": X as the subject.
    clause = re.split(r"[,;:]\s", before)[-1]  # "In the decoder, a causal mask blocks …": the clause's subject
    if _SUBJECT_LEAD.match(clause) and (_MECHANISM.match(after) or re.match(r"^\s+[a-z]+s?\s*", after)
                                        and _MECHANISM.match(re.sub(r"^\s+[a-z]+", "", after, count=1))):
        return True
    return False


def _explains_next(text: str, sent: tuple[int, int], start: int) -> bool:
    """True when the sentence after the first use is about the term: it leads the sentence, which has a verb.

    "We use nucleus sampling. In nucleus sampling the next token is drawn from …"
    """
    if not _SUBJECT_LEAD.match(text[sent[0]:start]):
        return False
    rest = text[start:sent[1]]
    return bool(re.search(r"\b(?:is|are)\b", rest) or re.search(rf"\b(?:{_MECHANISM_VERBS})(?:s|es)?\b", rest, re.I))


def _defines_next(text: str, sent: tuple[int, int]) -> bool:
    """True when a sentence opens by referring back ('It keeps …', 'This trick …', 'In it …')."""
    return bool(_ANAPHOR_LEAD.match(text[sent[0]:sent[1]]))


# --- the check ----------------------------------------------------------------------------

def check_jargon(markdown: str, *, assumed_terms: Iterable[str] = (), search: Search | None = None,
                 audience: str | Reader | None = None, pm: ProseMap | None = None) -> JargonReport:
    """Every technical term of the draft with its status, first use, definition and suggestion.

    `audience` is a brief's audience text or a `Reader`; the reader model (engine/check/reader.py)
    decides which terms need no definition for it.
    """
    pm = pm or prose_map(markdown)
    text = pm.text
    sentences = sentence_spans(pm)
    sentence_starts = [s for s, _ in sentences]
    assumed = {term_key(t) for t in assumed_terms if t.strip()}
    reader = audience if isinstance(audience, Reader) else reader_for(audience)

    aliases = _acronym_long_forms(text)  # long-form key -> acronym key
    sample_spans = _sample_blocks(pm)
    list_item_starts = {b.start for b in pm.blocks if b.kind == "list_item"}
    glossary = [(sec.text_start, sec.text_end) for sec in pm.sections
                 if sec.heading is not None and _GLOSSARY_HEADING.search(sec.heading.text)]
    people = cited_names(pm)
    mentions = [m for m in find_mentions(text, extra_keys=frozenset(aliases),
                                                  basics=None if reader.peer_basics else frozenset()) if not _names_people(m.surface, people)]
    aliases.update(_acronyms_of_phrases(mentions, aliases))
    mentions = _without_compositions(text, _trimmed_fragments(text, mentions), reader, named=frozenset(aliases))
    # A word of a person's or place's name ("Shiba Inu") is that name when it comes back alone ("Shiba's eyes").
    name_words = {term_key(w) for m in mentions if _is_name_run(m.surface.split()) for w in m.surface.split()}
    # "r/MachineLearning", "GET/POST": a path; its key made every "post" of the text a mention, so all of them go.
    name_words |= {m.key for m in mentions if m.start >= 2 and text[m.start - 1] == "/" and text[m.start - 2].isalnum()}
    thanks = [(a, b) for a, b in sentences if _THANKS.match(text[a:b])]
    mentions = [m for m in mentions if not _quotes_a_title(pm, m)
                and not (_written_as_name(m.surface) and any(a <= m.start < b for a, b in thanks))]
    counts = Counter(w.lower() for w in re.findall(r"[A-Za-z][A-Za-z'’-]*[A-Za-z]", text))  # each word's uses
    # A name the citations write as a venue ("Guo et al, NIPS 2014") is that venue where the prose names it alone.
    venues = set(_VENUE_WITH_YEAR.findall(text))
    mentions = [m for m in mentions if m.surface not in venues
                and not _is_not_a_term(text, m, sample_spans) and not _cuts_known_term(text, m, reader)
                and not _misspells_known(m.surface, counts)
                and not _modifies_a_noun_after(text, m)
                and not (" " not in m.surface and (m.key in name_words or term_key(re.sub(r"['’]s$", "", m.surface)) in name_words))]
    by_key: dict[str, list[Mention]] = {}
    surfaces: dict[str, set[str]] = {}
    for m in mentions:
        key = aliases.get(m.key, m.key)
        words = m.surface.split()
        shaped = _SHAPED_AFTER.match(words[0]) if all(term_key(w) in GENERIC_HEADS for w in words[1:]) else None
        if shaped:  # "GPT-2-like (model)", "DeepDream-style", "MADE-type": the named thing is the term, known or not
            named = term_key(shaped.group(1))
            key = aliases.get(named, named)
        by_key.setdefault(key, []).append(m)
        surfaces.setdefault(key, set()).add(m.surface)

    line_starts = [0] + [i + 1 for i, c in enumerate(markdown) if c == "\n"]
    code_expansions = _code_expansions(pm, sentences)
    quotes = [(b.start, b.end) for b in pm.blocks if b.kind == "quote"]
    project_pages = _linked_project_keys(pm.source)

    def line_of(offset: int) -> int:
        return bisect_right(line_starts, offset)

    def sentence_of(index: int) -> int:
        return max(0, bisect_right(sentence_starts, index) - 1)

    results = []
    for key, ms in by_key.items():
        if key not in assumed and (any(reader.knows(k, name=_written_as_name(surface) and not _sentence_case_words(surface),
                                                  phrase=" " in surface.strip())
                                       for surface in surfaces[key] for k in {key, term_key(surface)})
                                   or any(reader.knows_variant_of(base)
                                          for surface in surfaces[key] if (base := _variant_base(surface)))
                                   or any(reader.knows_spread_name(surface.strip()) for surface in surfaces[key])):
            continue
        if all(any(a <= m.start < b for a, b in quotes) for m in ms):
            continue  # used only inside quoted text (a generated sample, someone else's words): not the writer's term
        # A product or model the draft links to its own page, anywhere: a name, pointed at.
        linked = key in project_pages or any(term_key(surface) in project_pages for surface in surfaces[key])
        first = ms[0]
        first_sent = sentence_of(first.start)
        if _written_as_name(first.surface) and len(ms) <= 2 and _named_in_passing(text, first):
            continue  # "(e.g. Freebase, WikiData)": an example the reader need not look up
        definition: Mention | None = None
        for m in ms:
            n = sentence_of(m.start)
            if _defines_here(text, sentences[n], m.start, m.end) or (
                    n == first_sent + 1 and _explains_next(text, sentences[n], m.start)) or (
                    _is_link_text(pm, m) or _written_as_name(m.surface) and _kind_named(text, sentences[n], m)
                    or _in_expansion(text, sentences[n], m) or _introduced_in_own_section(pm, m)):
                definition = m
                break
        if definition is None and _spelled_out_before(text, first):
            definition = first  # "truncated backpropagation through time … 50 character BPTT"
        if definition is None:
            # A section the writer gives the term ("## ULM-FiT: Nailing down …") is its explanation.
            definition = next((m for m in ms if _in_section_named(pm, m, key)), None)
        in_glossary = definition is None and next((m for m in ms if any(a <= m.start < b for a, b in glossary)), None)
        if in_glossary:
            definition = in_glossary  # the writer's glossary section defines it, wherever it stands
        # A list item led by a short label ("3. No trivial retrieval.") explains it in the next sentence.
        short_label = len(text[slice(*sentences[first_sent])].split()) <= 5 and sentences[first_sent][0] in list_item_starts
        label_explained = short_label and first_sent + 1 < len(sentences) and \
            sentences[first_sent + 1][0] - sentences[first_sent][1] < 3
        if label_explained and (definition is None or sentence_of(definition.start) > first_sent + 1) or (
                definition is None and first_sent + 1 < len(sentences) and _defines_next(text, sentences[first_sent + 1])):
            definition_sent = first_sent + 1
        else:
            definition_sent = sentence_of(definition.start) if definition else None
        if definition_sent is None and key in code_expansions:
            definition_sent = code_expansions[key]  # "`rmsnorm` (Root Mean Square Normalization) rescales …"
        if definition_sent is None and linked:
            definition_sent = first_sent
        if key in assumed or any(term_key(s) in assumed for s in surfaces[key]):
            status = "assumed"
        elif definition_sent is None:
            status = "undefined"
        elif definition_sent <= first_sent + 1 or in_glossary or linked or _points_ahead(pm, sentences[first_sent]) \
                or definition is not None and _in_section_named(pm, definition, key):
            # at first use, in a glossary, later where the first use says it will be, or in the section named for it
            # (the summary's "models such as transformer and SNAIL", then "## SNAIL" defines it)
            status = "defined"
        else:
            status = "defined_late"
        first_offset, first_length = pm.original_span(first.start, first.end)
        def_offset = def_line = None
        def_text = ""
        if definition_sent is not None:
            s, e = sentences[definition_sent]
            anchor = definition.start if definition and sentence_of(definition.start) == definition_sent else s
            def_offset = pm.to_original(anchor)
            def_line = line_of(def_offset)
            def_text = " ".join(text[s:e].split())
        long_forms = tuple(sorted({m.surface for m in ms if m.key != key} - {first.surface}))
        reason = ""
        if status == "undefined":
            reason = f"{reader.why_unknown(key, name=_written_as_name(first.surface))}; not defined at its first use on line {line_of(first_offset)}"
        elif status == "defined_late":
            reason = (f"{reader.why_unknown(key, name=_written_as_name(first.surface))}; first used on line {line_of(first_offset)}, "
                      f"defined only on line {def_line}")
        results.append(TermResult(
            term=first.surface, key=key, status=status, first_use=first_offset, first_use_line=line_of(first_offset),
            first_use_length=first_length, definition_offset=def_offset, definition_line=def_line,
            definition_text=def_text, mentions=tuple(pm.original_span(m.start, m.end) for m in ms),
            aliases=long_forms, reason=reason))
    results.sort(key=lambda r: r.first_use)
    results = _panel(results, reader, len(text.split()))
    if search is not None:
        results = [replace(r, suggestion=suggest_definition(r, search)) if r.flagged else r for r in results]
    return JargonReport(terms=tuple(results))


# --- how sure a flag is (issue 18) ---------------------------------------------------------
# Real expert posts leave ~0.3 truly undefined terms per 1,000 words, so a panel that shows every
# candidate is mostly noise (precision 0.05, 18 of 339, on the 30 tuning posts). Each candidate gets a confidence
# from what its form, the ML vocabulary and 95k research abstracts say about it, a logistic model whose weights
# `bench/jargon.py --fit` fits (balanced classes, C=1) on the hand labels of the 30 tuning posts and the
# labeled passages. What the labels taught: acronyms and CamelCase names that few publishers of ML writing
# use (DDPG, TRPO, QLoRA, SwiGLU) are the undefined terms; a capitalised word that is no English word
# and no ML term is a person's name (Saharia, Bottou); a lowercase word that is neither is a typo or a
# coinage of the writer's voice ("reeaally", "productionized"); a term the text defines later is seldom
# one a peer misses.
FLAG_FEATURES = ("acronym", "camel_case", "name_like", "capitalised_word", "english_word", "unknown_word",
                 "lowercase_phrase", "capitalised_phrase", "in_ml_vocabulary", "few_publishers",
                 "everyday_zipf", "defined_late", "single_use", "abstract_spread")
FLAG_WEIGHTS = dict(zip(FLAG_FEATURES, (1.12, 0.95, -0.43, 0.56, -0.06, -2.32, 0.01, 0.14, -0.31, 1.66, 0.56, -1.42, 1.15, -1.28)))
FLAG_BIAS = -1.44
FEW_PUBLISHERS = 3  # of the vocabulary's 13 publishers: a term this few use belongs to a subfield


def flag_features(term: TermResult) -> dict[str, float]:
    """The features flag_confidence weighs, from the term as first written, its mentions and the ML vocabulary."""
    surface = " ".join(term.term.split())
    letters = re.sub(r"[^A-Za-z]", "", surface)
    acronym = bool(re.fullmatch(r"[A-Z][A-Z0-9-]*[A-Z0-9]", surface)) and sum(c.isupper() for c in surface) >= 2
    spaced = " " in surface
    camel = not acronym and not spaced and any(c.isupper() for c in surface[1:])
    single = not acronym and not camel and not spaced
    english = bool(word_classes(term.key)) if single else False
    capital = surface[:1].isupper()
    entry = ml_vocabulary().get(term.key)
    publishers = _publishers(term.key)
    return {"acronym": float(acronym), "camel_case": float(camel),
            "name_like": float(single and capital and not english),
            "capitalised_word": float(single and capital and english),
            "english_word": float(single and not capital and english),
            "unknown_word": float(single and not capital and not english and bool(letters)),
            "lowercase_phrase": float(spaced and not capital), "capitalised_phrase": float(spaced and capital),
            "in_ml_vocabulary": float(entry is not None),
            "few_publishers": float(entry is not None and publishers <= FEW_PUBLISHERS),
            "everyday_zipf": min(everyday_zipf(w) for w in term.key.split(" ")) / 6,
            "defined_late": float(term.status == "defined_late"), "single_use": float(len(term.mentions) <= 1),
            "abstract_spread": _abstract_spread(term.key, name=acronym or camel or capital)}


def _abstract_spread(key: str, *, name: bool) -> float:
    """How widely research writing uses the term, 0 (no abstract of the 95k) to 1 (1,000 or more), on a log scale:
    BM25 (111 abstracts), CIFAR-100 (197) and MCTS (170) are the field's; DDPG (18), PBT (3) and AWAC (0) a subfield's."""
    from engine.check.reader import abstract_documents

    return min(1.0, math.log10(1 + abstract_documents(key, name=name)) / 3)


def flag_confidence(term: TermResult) -> float:
    """The probability, by the fitted logistic model, that this candidate is a term the reader wants defined."""
    features = flag_features(term)
    z = FLAG_BIAS + sum(FLAG_WEIGHTS[name] * value for name, value in features.items())
    return 1 / (1 + math.exp(-z))


def panel_limits(reader: Reader, words: int) -> tuple[float, int | None]:
    """The panel's confidence bar and budget (None: no budget) for a text of this many prose words: for a whole
    article (`reader.long_text_words` or more) its own bar and one flag per `words_per_flag` words; for a shorter
    text the reader's bar and that budget, at least `min_flags`."""
    whole = bool(reader.long_text_words) and words >= reader.long_text_words
    bar = reader.long_text_confidence if whole else reader.min_confidence
    if not reader.words_per_flag:
        return bar, None
    per_words = math.ceil(words / reader.words_per_flag)
    return bar, per_words if whole else max(reader.min_flags, per_words)


def _panel(results: list[TermResult], reader: Reader, words: int) -> list[TermResult]:
    """The results with each candidate's confidence; those below the reader's bar or budget become candidates.

    The budget is one flag per `reader.words_per_flag` prose words (none when 0), at least `reader.min_flags`, the
    most confident first: a peer who sees three right flags trusts the panel, forty wrong ones and they stop reading.
    """
    scored = [replace(r, confidence=flag_confidence(r)) if r.status in FLAGGED else r for r in results]
    bar, budget = panel_limits(reader, words)
    confident = sorted((r for r in scored if r.status in FLAGGED and r.confidence >= bar),
                       key=lambda r: (-r.confidence, r.first_use))
    budget = len(scored) if budget is None else budget
    shown = {id(r) for r in confident[:budget]}
    return [replace(r, candidate=True) if r.status in FLAGGED and id(r) not in shown else r for r in scored]


# Heads that name a thing's role or kind rather than a new idea: "BERT model", "QA system", "ICT loss".
GENERIC_HEADS = frozenset("""
model system task loss objective score data accuracy toolkit library retriever retrieval encoder decoder reader
generator ranker embedding encoding representation architecture method approach framework variant baseline
layer output input version setup pipeline module component training inference performance result index
based style like level sized size vector weight weights dataset corpus question answer network paper community
codebase code computation implementation license notation experiment token tokens
label labels similarity policy setting problem search
""".split())
# An acronym or CamelCase name followed by an everyday noun is the name at work, not a new term: "RL setting",
# "GPU utilization", "EM accuracy" (a title-case word is not enough: "The Inverted list" is a sentence start).
EVERYDAY_HEAD_ZIPF = 4.0
DESCRIBING_ZIPF = 3.0  # an adjective English uses this often describes; rarer ones may coin ("siamese")
# Modifiers that say which or how good, not what: "vanilla encoder", "twelve decoder", "hybrid model".
_PLAIN_MODIFIERS = frozenset("""
vanilla decent hybrid simple basic standard typical classic modern novel existing popular whole entire full
one two three four five six seven eight nine ten eleven twelve several many multiple various different
""".split())


def _without_compositions(text: str, mentions: list[Mention], reader: Reader,
                          named: frozenset[str] = frozenset()) -> list[Mention]:
    """Mentions with phrases that compose known parts taken apart: the parts, not the phrase, are the terms.

    - a name with a generic head ("BERT model", "QA systems", "ICT loss", "BERT-based") is a
      mention of the name alone;
    - a topic word of this text (used alone three times or more) before a generic head ("passage encoder",
      "document retrieval" in a post about passages and documents) is no term at all; a modifier
      the text uses once ("reward model") still makes a term of art.
    """
    counts: dict[str, int] = {}
    for w in re.findall(r"[A-Za-z][A-Za-z0-9]*", text):
        counts[term_key(w)] = counts.get(term_key(w), 0) + 1  # "passages" counts as "passage"
    phrase_counts: dict[str, int] = {}
    for m in mentions:
        phrase_counts[m.key] = phrase_counts.get(m.key, 0) + 1
    out = []
    for m in mentions:
        tokens = m.surface.split()
        tail = term_key(" ".join(tokens[1:]))
        if len(tokens) >= 2 and " " in tail and m.key not in named and _narrows(tokens[0]) and reader.field_vocabulary \
                and reader.knows(tail, phrase=True):
            # "sinusoid-wave-based positional encoding", "dense dual-encoder": a kind of a term peers know, so
            # a mention of that term ("unsupervised masked language modeling" still names MLM's long form).
            start = m.start + len(m.surface) - len(m.surface.split(None, 1)[1])
            out.append(Mention(tail, text[start:m.end], start, m.end, m.kind))
            continue
        if len(tokens) >= 2 and m.key not in named and reader.field_vocabulary and _plainly_narrows(tokens[0]) \
                and m.key not in ml_vocabulary() and reader.knows(tail, phrase=" " in tail):
            # "naive speedup", "difficult negative", "beefy linear model": an everyday adjective on a term the
            # reader knows, in a pairing ML writing never makes into a unit (a term of art is one: "hard negative").
            continue
        lead = tokens[0] if tokens else ""
        # A capital that only opens a sentence or list item ("3. In-batch negative sampling") makes no name.
        real_name = lead.isupper() or _has_inner_capital(lead) or lead.istitle() and not _opens_sentence(text, m.start)
        if len(tokens) >= 2 and " " in tail and m.key not in named and real_name and reader.knows(tail, phrase=True):
            # "GloVe word embedding": the name's own case of a term the reader knows; the name is what to judge.
            name = tokens[0]
            out.append(Mention(term_key(name), name, m.start, m.start + len(name), "name"))
            continue
        parts = m.surface.split("-")
        if len(tokens) == 1 and len(parts) == 2 and parts[0].islower() and everyday_zipf(parts[0]) >= DESCRIBING_ZIPF \
                and _written_as_name(parts[1]) and reader.knows(term_key(parts[1]), name=True):
            # "unrolled-LSTM": an everyday word on a name the reader knows
            start = m.start + len(parts[0]) + 1
            out.append(Mention(term_key(parts[1]), parts[1], start, m.end, "name"))
            continue
        words = re.split(r"[\s-]+", m.surface)
        head = words[-1]
        everyday_head = len(words) == 2 and head.islower() and " " in m.surface and "NOUN" in word_classes(head) \
            and everyday_zipf(head) >= EVERYDAY_HEAD_ZIPF
        if len(words) < 2 or term_key(head) not in GENERIC_HEADS and head.lower() not in GENERIC_HEADS \
                and not (everyday_head and (words[0].isupper() or _has_inner_capital(words[0]))):
            out.append(m)
            continue
        modifiers = words[:-1]
        if _written_as_name(modifiers[0].strip("[]")) and len(modifiers) == 1:
            name = re.match(r"\S+?(?=[\s-]|$)", m.surface).group().strip("[]")  # "[CLS] token" is about CLS
            # The span stays the phrase's: "an IDF weight times …" must not read as "IDF weights …".
            out.append(Mention(term_key(name), m.surface, m.start, m.end, "name"))
            continue

        # "multi-lingual model": a modifier spelled in parts composes as the word ML writing writes whole.
        whole = {part for token in tokens[:-1] if "-" in token and reader.knows(joined := term_key(token).replace(" ", ""))
                 and ml_lift(joined) >= 0.7 for part in token.split("-")}

        def composes(word: str) -> bool:
            if word in whole:
                return True
            alone = counts.get(term_key(word), 0) - phrase_counts.get(m.key, 0)
            # A word only ML uses that the reader knows composes ("seq2seq model", "encoder network");
            # an everyday word the reader knows does not ("reward model" is a term of art).
            # "Only ML uses" = ML writing uses it clearly more than English (the vocabulary also lists words
            # both use alike, "trivial", so that its phrases of everyday words are listed too).
            # Or a word rare in English, more used in ML writing, that 5 publishers use ("siamese": lift 0.69, 5
            # publishers; not "glance" of "glance policy", which English uses as much: "at a glance").
            known_ml = reader.knows(term_key(word), name=_written_as_name(word)) and everyday_zipf(word.lower()) < 4.0 \
                and (ml_lift(term_key(word)) >= 0.7
                     or ml_lift(term_key(word)) > 0.3 and _publishers(term_key(word)) >= reader.publisher_spread)
            # An everyday adjective says which or what kind ("toy model", "noisy labels", "wider network").
            # For a peer only: a reader new to ML still needs "focal loss" or "soft labels" defined.
            describing = reader.field_vocabulary and word.islower() and "ADJ" in word_classes(word) \
                and everyday_zipf(word) >= DESCRIBING_ZIPF
            return alone >= 3 or _written_as_name(word) and alone >= 1 or known_ml or word.lower() in _PLAIN_MODIFIERS \
                or describing

        if all(composes(w) for w in modifiers):
            continue
        out.append(m)
    return out


def _publishers(key: str) -> int:
    """How many publishers of ML writing use the key (0 when the vocabulary does not list it)."""
    entry = ml_vocabulary().get(key)
    return entry[2] if entry is not None and len(entry) > 2 else 0


def _plainly_narrows(word: str) -> bool:
    """True for an everyday adjective or participle that ML writing uses no more than English ("naive", "beefy",
    "high-quality", "structured"): it says which or how good, where "static", "sparse" or "additive" may coin."""
    if not word.islower():
        return False
    plain = word.replace("-", "")
    return (_narrows(word) or word.endswith("ed") and "VERB" in word_classes(word)) and ml_lift(term_key(word)) < 0.5 \
        and everyday_zipf(plain if not word_classes(word) else word) >= DESCRIBING_ZIPF


def _opens_sentence(text: str, start: int) -> bool:
    """True when the word at `start` opens a sentence, a line or a list item."""
    before = text[max(0, start - 6):start]
    return not before.strip() or bool(re.search(r"(?:[.!?:]\s+|\n\s*(?:[-*+]|\d+\.)?\s*|^\s*(?:[-*+]|\d+\.)\s+)$", before))


def _narrows(word: str) -> bool:
    """True for a lowercase modifier that narrows the term after it rather than coining one: an everyday
    adjective ("dense", "vanilla") or a hyphenated adjective ("sinusoid-wave-based", "task-specific")."""
    if not word.islower():
        return False
    if "-" in word:
        return word.rsplit("-", 1)[-1].endswith(_ADJECTIVE_TAILS)
    # A participle often coins: "masked language modeling" is MLM, not a kind of language modeling.
    return "ADJ" in word_classes(word) and everyday_zipf(word) >= DESCRIBING_ZIPF and not word.endswith(("ed", "ing"))


# Nouns that say what kind of thing a name is: "the Anserini IR toolkit", "the OMDb and MovieLens databases".
_CLASSIFIERS = (r"toolkit|library|package|framework|dataset|data\s+set|database|benchmark|corpus|collection|tool|engine|"
                r"platform|service|suite|software|repository|leaderboard|competition|challenge|company|lab|conference|"
                r"environment|simulator|game")
# Kinds said right after the name, or after a part of it: "a TITAN Z GPU", "the GNU license" ("on-chip SRAM"
# is no chip named SRAM, "FlashAttention on two GPUs" no GPU named FlashAttention).
_HARDWARE_KINDS = r"GPU|CPU|TPU|processor|language|license|licence|format|protocol"
_KIND_RIGHT_AFTER = re.compile(rf"^(?:\s+[A-Z0-9][\w-]*)?\s+(?:{_HARDWARE_KINDS})(?:s|es)?\b", re.IGNORECASE)
_KIND_AFTER = re.compile(rf"^(?:\s*(?:,|and|or|&)?\s*[\w-]+){{0,3}}?\s+(?:{_CLASSIFIERS})(?:s|es)?\b", re.IGNORECASE)
_KIND_BEFORE = re.compile(rf"\b(?:{_CLASSIFIERS})(?:s|es)?\s*(?:,|:|called|named)?\s*$", re.IGNORECASE)
_EXAMPLE_LEAD = re.compile(r"(?:\be\.g\.|\bsuch\s+as|\bincluding|\blike|\bfor\s+example|\bfor\s+instance)[^.;()]*$", re.IGNORECASE)


def _cuts_known_term(text: str, m: Mention, reader: Reader) -> bool:
    """True when the mention is a piece of a longer term the reader knows, cut at the wrong word.

    "nearest neighbor search" read as "neighbor search", "adaptive learning rate methods" as
    "adaptive learning": the word beside the mention and the mention's own edge word make a
    phrase of the field ("nearest neighbor", "learning rate"), so the candidate's boundary is wrong
    and what the reader meets is the known phrase, not a new term.
    """
    words = re.split(r"[\s-]+", m.surface)
    if len(words) < 2:
        return False
    before = re.search(r"([A-Za-z][A-Za-z0-9]*)[ -]$", text[max(0, m.start - 40):m.start])
    after = re.match(r"[ -]([A-Za-z][A-Za-z0-9]*)", text[m.end:m.end + 40])
    pairs = []
    if before and before.group(1).lower() not in STOPWORDS:
        pairs.append(f"{before.group(1)} {words[0]}")
    if after and after.group(1).lower() not in STOPWORDS:
        pairs.append(f"{words[-1]} {after.group(1)}")
    return any(reader.knows(term_key(pair), phrase=True) for pair in pairs)


_PHRASE_END = re.compile(r"\s*(?:[,.;:)!?]|\s(?:of|in|on|for|to|and|or|with|from|that|which|is|are|was|were|by|as)\b)")


def _modifies_a_noun_after(text: str, m: Mention) -> bool:
    """True when a lowercase phrase is the front of a longer noun phrase whose head comes after it.

    "To avoid such sparse learning signals, ORQA …": the phrase ends at "signals", before the comma;
    "sparse learning" is no term, its words describe the signals. "DenSPI introduces a query-agnostic
    indexable representation": "indexable" (an adjective form) cannot end a term either. Only a noun
    followed by the phrase's end (punctuation, a preposition, a verb of being) counts as that head.
    """
    words = m.surface.split()
    if len(words) < 2 or not m.surface.islower():
        return False
    if words[-1].endswith(("able", "ible")) and "NOUN" not in word_classes(words[-1]):
        return True
    nxt = re.match(r" ([a-z]+)", text[m.end:m.end + 40])
    if nxt is None or nxt.group(1) in STOPWORDS or "NOUN" not in word_classes(nxt.group(1)):
        return False
    return bool(_PHRASE_END.match(text[m.end + nxt.end():m.end + nxt.end() + 12]))


def _kind_named(text: str, sent: tuple[int, int], m: Mention) -> bool:
    """True when a name is introduced with the kind of thing it is ("the Anserini IR toolkit", "the library FAISS")."""
    # "GNU license" as one mention: its own last word says what kind of thing the name is.
    own_kind = " " in m.surface and re.fullmatch(rf"(?:{_CLASSIFIERS}|{_HARDWARE_KINDS})(?:s|es)?", m.surface.split()[-1], re.IGNORECASE)
    after = text[m.end:sent[1]]
    return bool(own_kind or _KIND_AFTER.match(after) or _KIND_RIGHT_AFTER.match(after)
                or _KIND_BEFORE.search(text[sent[0]:m.start]))


def _is_link_text(pm: ProseMap, m: Mention) -> bool:
    """True when the mention is (most of) the text of a Markdown link of a few words ("[vector space model](…)",
    "[MS MARCO](…)"): the writer points the reader to what it is."""
    start, length = pm.original_span(m.start, m.end)
    line_start = pm.source.rfind("\n", 0, start) + 1
    opening = pm.source.rfind("[", line_start, start)
    closing = pm.source.find("](", start + length, start + length + 40)
    if opening < 0 or closing < 0 or "]" in pm.source[opening:start]:
        return False
    inside = pm.source[opening + 1:closing].strip("*_ ")
    return "[" not in inside and len(inside.split()) <= 4


def _named_in_passing(text: str, m: Mention) -> bool:
    """True when a name used once stands in a list of examples ("e.g. Freebase, WikiData", "such as X and Y")."""
    before = text[max(0, m.start - 60):m.start]
    after = text[m.end:m.end + 3]
    in_list = bool(re.search(r"(?:,|\band|\bor|\(|e\.g\.|\blike|\bsuch\s+as|\bincluding)\s*$", before)
                   or re.match(r"\s*(?:,|\band\b|\bor\b)", after))
    return in_list and bool(_EXAMPLE_LEAD.search(before) or re.search(r"\([^()]*$", before))


_GLOSSARY_HEADING = re.compile(r"\b(?:glossary|terminology|definitions|key\s+terms|notations?)\b", re.IGNORECASE)
_POINTS_AHEAD = re.compile(r"\b(?:described|explained|covered|discussed|defined|introduced|detailed)\b[^.;]{0,40}?"
                           r"\b(?:later|below|next\s+section|in\s+(?:a\s+)?later\s+section|in\s+section)\b", re.IGNORECASE)


def _points_ahead(pm: ProseMap, sent: tuple[int, int]) -> bool:
    """True when the sentence of a first use points to the definition: "described in a later section", a link to an anchor."""
    start, length = pm.original_span(*sent)
    return bool(_POINTS_AHEAD.search(pm.text[sent[0]:sent[1]]) or "](#" in pm.source[start:start + length])


def _sample_blocks(pm: ProseMap) -> list[tuple[int, int]]:
    """Spans of blocks made of short lines (generated names, a poem, sample output): examples, not prose."""
    spans = []
    for b in pm.blocks:
        lines = [ln for ln in pm.text[b.start:b.end].split("\n") if ln.strip()]
        if len(lines) >= 4 and sum(len(ln.split()) for ln in lines) / len(lines) <= 3:
            spans.append((b.start, b.end))
    return spans


_ADJECTIVE_TAILS = ("able", "ible", "ive", "al", "ic", "ous", "ful", "less", "agnostic", "complete", "based", "wise",
                    "like", "ed", "free", "aware", "specific", "dependent", "independent")


_PRONOUNS = frozenset("myself yourself himself herself itself ourselves themselves me us them him her it".split())
_OBJECT_LEADS = frozenset("the a an us them it this these those its their our you me him her".split())


def _trimmed_fragments(text: str, mentions: list[Mention]) -> list[Mention]:
    """Mentions with the sentence around a term cut off: a term is a noun phrase.

    "incorporating difficult negatives", "comparing pairwise similarity": a leading verb in -ing
    (only a verb in English) takes an object, it does not name one; "RL myself", "API similar",
    "EDA help the model": a trailing pronoun, adjective or verb before its object is the sentence
    going on. What remains is kept when it is still a term: several words, a name, or a rare word.
    """
    out = []
    for m in mentions:
        words = list(re.finditer(r"\S+", m.surface))
        a, b = 0, len(words)
        while a < b - 1 and (w := words[a].group()).lower().endswith("ing") and "-" not in w \
                and word_classes(w.lower()) == frozenset({"VERB"}):
            a += 1
        after = re.match(r"\s+([A-Za-z]+)", text[m.end:m.end + 30])
        while b > a + 1:
            last = words[b - 1].group()
            classes = word_classes(last.lower()) if last.islower() else frozenset()
            # A verb after a name, before its object ("EDA help the model", "RNN saw the"); not an -ing noun
            # ("nucleus sampling the next token", "the RL setting the agent sees").
            verb = b == len(words) and "VERB" in classes and not last.endswith("ing") \
                and _written_as_name(words[b - 2].group()) and after is not None and after.group(1).lower() in _OBJECT_LEADS
            if last.lower() in _PRONOUNS or classes == frozenset({"ADJ"}) or verb:
                b -= 1
            else:
                break
        if (a, b) == (0, len(words)):
            out.append(m)
            continue
        start, end = m.start + words[a].start(), m.start + words[b - 1].end()
        surface = text[start:end]
        if b - a > 1 or _written_as_name(surface) or everyday_zipf(surface.lower()) < 2.6:
            out.append(Mention(term_key(surface), surface, start, end, "name" if _written_as_name(surface) else m.kind))
    return out


_THANKS = re.compile(r"\s*(?:many\s+|special\s+)?thanks?\b|\s*thank\s+you\b|\s*(?:I|we)(?:'m|\s+am|\s+are)?\s+(?:grateful|thank)\b"
                     r"|\s*(?:image|photo|figure)\s+(?:source|credit)s?\b", re.IGNORECASE)
TITLE_LINK_WORDS = 5  # a link text this long is a title ("[Dense Passage Retrieval for Open-Domain QA](…)")


def _quotes_a_title(pm: ProseMap, m: Mention) -> bool:
    """True inside words the writer quotes rather than writes: a paper title as link text, or a bold
    title-case paragraph lead ("**Deriving Policy Gradients**."). Like headings, they are no first use."""
    start, length = pm.original_span(m.start, m.end)
    source = pm.source
    line_start = source.rfind("\n", 0, start) + 1
    line_end = source.find("\n", start)
    line = source[line_start:line_end if line_end >= 0 else len(source)]
    at = start - line_start
    # Not a link into the post ("[fast Maximum Inner Product Search (MIPS)](#…)" is the writer's own expansion).
    for link in re.finditer(r"\[([^\[\]()]+)\]\((?!#)", line):
        if link.start(1) <= at < link.end(1) and len(link.group(1).split()) >= TITLE_LINK_WORDS:
            return True
    # A paragraph's title ends with its own full stop or colon; "**IS-BERT (Info-Sentence BERT)** (…) adopts"
    # introduces a term and stays prose.
    lead = re.match(r"\s*(?:[-*+]\s+|\d+\.\s+)?\*\*([^*()]+?)[.:]?\*\*[.:]", line)
    if lead and lead.start(1) <= at < lead.end(1):
        words = re.findall(r"[A-Za-z][\w-]*", lead.group(1))
        return len(words) >= 2 and sum(w[0].isupper() for w in words) >= 2 and all(
            w[0].isupper() or w.lower() in STOPWORDS for w in words)
    return False


def _is_name_run(words: list[str]) -> bool:
    """True for a run of title-case words none of which is English: "Shiba Inu", "Sebastian Ruder"."""
    return len(words) > 1 and all(w.istitle() and "-" not in w and not word_classes(w.lower()) for w in words)


def _in_section_named(pm: ProseMap, m: Mention, key: str) -> bool:
    """True when the mention stands in a section whose heading is the term itself ("## SNAIL") or leads
    with it before a colon, dash or bracket ("## ULM-FiT: Nailing down Transfer Learning in NLP")."""
    section = pm.sections[pm.section_of(m.start)]
    if section.heading is None:
        return False
    heading = section.heading.text.strip(" #*")
    lead = re.split(r"\s*(?::|—|–|\s-\s|\()", heading, maxsplit=1)[0]
    return term_key(heading) == key or term_key(lead) == key


_OBFUSCATED_ADDRESS = re.compile(r"\b[\w.]+(?:\s+dot\s+[\w]+)+\s+at\s+\w+(?:\s+dot\s+\w+)+", re.IGNORECASE)


def _is_not_a_term(text: str, m: Mention, samples: list[tuple[int, int]]) -> bool:
    """True for candidates that are no terms whatever the reader knows.

    - inside a block of sample lines (generated names, song lyrics);
    - part of a word in another script or language ("é" in "économique" splits the ASCII tokenizer);
    - a single verb or adverb ("Concatenating", "monotonically"), or a hyphenated adjective
      ("non-differentiable", "Retrieval-Augmented", "query-agnostic"): a term is a noun phrase;
    - a misspelling of a common word ("dependancies", "clasification"): a spelling slip, not jargon;
    - a first name and surname, or another run of title-case words none of which is English
      ("Sebastian Ruder", "Shiba Inu").
    """
    if any(s <= m.start < e for s, e in samples):
        return True
    before, after = text[m.start - 1:m.start], text[m.end:m.end + 1]
    if any(c.isalpha() and not c.isascii() for c in before + after) or before in ("'", "’") and m.start >= 2 \
            and text[m.start - 2].isalpha():
        return True
    if "\n\n" in m.surface or re.match(r"^[A-Za-z]['’]", m.surface):  # across paragraphs; French "l'Espace"
        return True
    first = m.surface.split()[0]
    if first.isupper() and first.lower() in STOPWORDS:
        return True  # "NO compilation step": a shouted word, not an acronym
    if re.search(r"[\"“]\s*,?\s*(?:and\s+|or\s+)?[\"“]?$", text[max(0, m.start - 6):m.start]) and \
            re.match(r"^[\"”]\s*(?:,|and\b|or\b)", text[m.end:m.end + 6]):
        return True  # '"Killie", "Char", …': a list of quoted samples
    if re.search(r"[\"”]\s*,?\s*(?:and|or)\s+[\"“]$", text[max(0, m.start - 8):m.start]) and \
            re.match(r"^[\"”]\s*[.;:)!?]", text[m.end:m.end + 4]):
        return True  # '… "With" and "Ahbort".': the list's last sample
    line_start = text.rfind("\n", 0, m.start) + 1
    if any(a.start() <= m.start - line_start < a.end() for a in _OBFUSCATED_ADDRESS.finditer(text[line_start:m.end + 80])):
        return True  # "lilian dot weng at gmail dot com": an address spelled out
    if first.isupper() and len(first) >= 6 and word_classes(first.lower()) and everyday_zipf(first.lower()) >= 3.5:
        return True  # "EXPLAINED": a shouted English word
    if len(m.surface.split()) == 1 and (m.surface.islower() or m.surface.isupper()) and word_classes(m.surface.lower()) \
            and everyday_zipf(m.surface.lower()) >= SHOUTED_ZIPF:
        return True  # "UP", "have": one of English's commonest words, shouted ("press UP") or plain, is never a term
    if re.fullmatch(r"[a-z]{2,}\d+", m.surface):
        return True  # "murmur3", "arm64", "sha256": a code or version identifier ("word2vec" goes on after its digit)
    words = m.surface.split()
    if _is_name_run(words):
        return True  # "Shiba Inu", "Sebastian Ruder": a name of a person, place or breed
    if len(words) == 1:
        word = words[0]
        low = word.lower()
        if "-" not in word and not _has_inner_capital(word):
            classes = word_classes(low)
            if classes and (classes <= {"VERB", "ADV"} and not low.endswith("ing") or classes == {"ADJ"}
                            or classes == {"VERB"} and word[0].isupper()):
                return True  # "monotonically", "recursive", "Concatenating the …"
            if word.islower() and not classes and _misspells(low):
                return True
            if word.islower() and _adverb_of_adjective(low):
                return True  # "vacuously", "multiplicatively": an adverb, not a thing to define
            if word.islower() and _is_transparent(low, compounds=False):
                return True  # "abstractive", "incapability": a derivation of a common word reads as English
        if word.islower() and "-" in word and _adverb_of_adjective(low):
            return True  # "non-trivially"
        parts = low.split("-")
        if len(parts) > 1 and not any(c.isupper() for part in word.split("-") for c in part[1:]) and (
                parts[-1].endswith(_ADJECTIVE_TAILS) or word_classes(parts[-1]) == frozenset({"ADJ"})):
            return True
        if word.istitle() and _in_title_case_run(text, m):
            return True
        title_parts = [part for part in word.split("-") if part.lower() not in ("to", "of", "and", "the")]
        if len(title_parts) > 1 and all(part.istitle() and len(part) > 1 for part in title_parts) and all(
                everyday_zipf(part.lower()) >= 3.0 for part in title_parts):
            return True  # "Open-Domain", "End-to-End", "High-Resolution": a title's capitals on everyday words
    return False


# A size or version of a named thing, or the named thing powering another: "ImageNet-1K", "CIFAR-100",
# "ZeRO-powered". A reader who knows ImageNet, CIFAR or ZeRO knows these (tuning posts' labels: noise).
_VARIANT_OF = re.compile(r"^([A-Za-z][A-Za-z.]*[A-Za-z])-(?:\d+(?:\.\d+)?[KMBT]?|[KMBT]\d+|powered|driven)$")


def _variant_base(surface: str) -> str | None:
    match = _VARIANT_OF.match(surface.strip())
    return match.group(1) if match else None


# Where a link points to a thing's own page rather than to writing about it: a code or model repository, a
# package index, documentation, a site's front page. "[Colossal-AI](https://colossalai.org/)",
# "[IDEFICS-80B](https://huggingface.co/HuggingFaceM4/idefics-80b/)": a product or model named and pointed
# at, not jargon; "[MADE](https://arxiv.org/abs/1502.03509)" points to the paper that explains it and stays a term.
_PROJECT_PAGE = re.compile(
    r"^<?https?://(?:www\.)?(?:(?:github\.com|gitlab\.com|huggingface\.co|bitbucket\.org)/[^/\s]+/[^/\s]+"
    r"|pypi\.org/project/|[^/\s]+\.readthedocs\.io|docs\.[^/\s]+|(?!arxiv\.|openreview\.|doi\.|aclanthology\.)"
    r"[^/\s]+\.[a-z]{2,}/?(?:index\.html?)?\s*>?$)", re.IGNORECASE)
_LINK = re.compile(r"\[([^\]\n]{1,80})\]\((\S+?)(?:\s+[\"'][^)\n]*)?\)|<a\s[^>]*?href=[\"']([^\"']+)[\"'][^>]*>([^<\n]{1,80})</a>",
                   re.IGNORECASE)


def _linked_project_keys(source: str) -> frozenset[str]:
    """Term keys of names the draft links to their own project, model or product page (_PROJECT_PAGE), with the
    name each sized variant is of ("IDEFICS-80B" also names IDEFICS)."""
    keys = set()
    for match in _LINK.finditer(source):
        name, target = (match.group(1), match.group(2)) if match.group(1) is not None else (match.group(4), match.group(3))
        name = name.strip(" *_`")
        if _PROJECT_PAGE.match(target) and name:
            keys.add(term_key(name))
            if base := _variant_base(name):
                keys.add(term_key(base))
    return frozenset(keys)


_SHAPED_AFTER = re.compile(r"^([A-Za-z][\w.-]*?[A-Za-z0-9])-(?:like|style|based|type|esque|inspired|ish)$")
# A venue with its year, as citations write it: "Schaul et al, ICML 2015", "CVPR'18", "(NeurIPS, 2020)"; a name in
# capitals the text writes so is that venue wherever it stands ("an RC car at NIPS").
_VENUE_WITH_YEAR = re.compile(r"\b([A-Z][A-Za-z]*[A-Z][A-Za-z]*)(?=(?:\s*,)?\s*(?:['’]\d\d|(?:19|20)\d\d)\b)")

SHOUTED_ZIPF = 5.5  # "up" 6.4, "have" 6.7; the commonest acronym-like words stay below ("map" 4.8, "net" 4.8)
_NEGATING_PREFIXES = ("non-", "non", "un", "in", "im", "il", "ir", "dis")


def _adverb_of_adjective(word: str) -> bool:
    """True for an -ly word made from an English adjective ("vacuous" -> "vacuously", "multiplicative"), also
    behind a negating prefix ("inexplicitly", "non-trivially")."""
    if not word.endswith("ly") or len(word) < 6:
        return False
    for prefix in _NEGATING_PREFIXES:
        if word.startswith(prefix) and len(word) - len(prefix) >= 6 and _adverb_of_adjective(word[len(prefix):]):
            return True
    stems = {word[:-2], word[:-3] + "y" if word.endswith("ily") else word[:-2], word[:-4] if word.endswith("ally") else word[:-2]}
    return any("ADJ" in word_classes(stem) for stem in stems)


def _has_inner_capital(word: str) -> bool:
    return sum(c.isupper() for c in word) >= 2 or any(c.isdigit() for c in word)


def _in_title_case_run(text: str, m: Mention) -> bool:
    """True when a title-case word stands next to another title-case word and neither is an English word."""
    left = re.search(r"([A-Z][a-z]+) $", text[max(0, m.start - 30):m.start])
    right = re.match(r" ([A-Z][a-z]+)\b", text[m.end:m.end + 30])
    for other in (left.group(1) if left else None, right.group(1) if right else None):
        if other and everyday_zipf(other.lower()) < 4.0 and everyday_zipf(m.surface.lower()) < 4.0:
            return True
    return False


# A name in code font spelled out in the brackets after it: "`rmsnorm` (Root Mean Square Normalization)".
_CODE_EXPANSION = re.compile(r"`([A-Za-z][\w.-]*)`\s*\(([A-Z][A-Za-z-]*(?:\s+[A-Za-z][A-Za-z-]*){1,7})\)")


def _code_expansions(pm: ProseMap, sentences: list[tuple[int, int]]) -> dict[str, int]:
    """{term key: index of the sentence} for each name the draft writes in code font and spells out in brackets
    right after it, at its first such place: the brackets are the definition of the term the prose names."""
    found: dict[str, int] = {}
    if "`" not in pm.source:
        return found
    starts = [pm.to_original(s) for s, _ in sentences]
    for m in _CODE_EXPANSION.finditer(pm.source):
        key = term_key(m.group(1).replace("_", " "))
        if key not in found and starts:
            found[key] = max(0, bisect_right(starts, m.start(2)) - 1)
    return found


def _misspells(word: str) -> bool:
    """True when one edit (a letter dropped, added, changed or swapped) turns a word unknown to English
    into one English uses ~80 times as often: "dependancies" -> "dependencies", "interpretible" -> "interpretable"."""
    from engine.check.reader import ml_vocabulary
    from engine.check.terms import zipf_frequency

    own = zipf_frequency(word, "en")
    if len(word) < 5 or own >= 2.0 or term_key(word) in ml_vocabulary():
        return False
    return any(zipf_frequency(e, "en") >= own + 1.9 for e in _one_edit(word))


def _one_edit(word: str) -> set[str]:
    """The words one edit away: a letter dropped, added, changed, or two neighbours swapped."""
    letters = "abcdefghijklmnopqrstuvwxyz"
    splits = [(word[:i], word[i:]) for i in range(len(word) + 1)]
    edits = {a + b[1:] for a, b in splits if b}
    edits |= {a + b[1] + b[0] + b[2:] for a, b in splits if len(b) > 1}
    edits |= {a + c + b[1:] for a, b in splits if b for c in letters}
    edits |= {a + c + b for a, b in splits for c in letters}
    edits.discard(word)
    return edits


def _misspells_known(surface: str, counts: Counter[str]) -> bool:
    """True when a word of the term, written once in the text and known to neither English nor ML writing, is one
    edit from a word the text itself uses more often or that ML writing uses: "Wassertstein" in a post about the
    Wasserstein GAN, "SimCES" beside SimCSE, "hyperparamters", "nonlinearites". A spelling slip is for a spell
    checker, not a term to define."""
    from engine.check.reader import ml_vocabulary
    from engine.check.terms import zipf_frequency

    vocabulary = ml_vocabulary()
    for word in re.split(r"[\s-]+", surface):
        low = word.lower()
        if len(low) < 5 or not low.isalpha() or counts.get(low, 0) > 1 or low in vocabulary \
                or term_key(low) in vocabulary or zipf_frequency(low, "en") >= 2.0:
            continue
        named = _has_inner_capital(word) or word.isupper()
        for edit in _one_edit(low):
            if edit[:-1] == low[:-1] or edit == low[:-1] or edit[:-1] == low:
                continue  # "ranker" / "ranked", "rankers": another ending of the same word, not a slip
            if named and len(edit) != len(low):
                continue  # "xLSTM", "QLoRA": a name built on another by a letter more is a name, not a slip
            entry = vocabulary.get(edit) or vocabulary.get(_singular(edit))  # the vocabulary's keys are singular
            if counts.get(edit, 0) > 1 or entry is not None and entry[0] >= ML_TYPO_ZIPF:
                return True
    return False


ML_TYPO_ZIPF = 3.0  # an ML word at least this frequent in ML writing (Zipf) is a word a slip can aim at


def _spelled_out_before(text: str, m: Mention) -> bool:
    """True when an acronym's words came just before it in the same paragraph, in order, without brackets:
    "backpropagation through time … BPTT", "Neural Turing Machines paper … the NTM paper"."""
    acronym = m.surface.split()[0]
    acronym = acronym[:-1] if acronym.endswith("s") and acronym[:-1].isupper() else acronym
    if not (acronym.isupper() and acronym.isalpha() and 2 <= len(acronym) <= 6):
        return False
    paragraph_start = text.rfind("\n\n", 0, m.start) + 1
    words = re.findall(r"[A-Za-z][\w-]*", text[max(paragraph_start, m.start - 600):m.start])
    low = acronym.lower()
    for i in range(len(words)):
        for k in range(2, len(acronym) + 1):
            chunk = words[i:i + k]
            if len(chunk) < k:
                break
            joined = "".join(chunk).lower()
            if chunk[0][0].lower() == low[0] and chunk[-1][0].lower() == low[-1] and _in_order(low, joined) \
                    and all(w[0].lower() in low for w in chunk):
                return True
    return False


def _spells(acronym: str, phrase: str) -> bool:
    """True when the initials of the phrase's words and hyphenated parts spell the acronym: POS, part-of-speech."""
    initials = "".join(w[0] for w in re.split(r"[\s-]+", phrase.strip()) if w).lower()
    letters = acronym[:-1] if acronym.endswith("s") and acronym[:-1].isupper() else acronym  # "LLMs"
    return letters.isupper() and len(letters) >= 2 and initials == letters.lower()


def _introduced_in_own_section(pm: ProseMap, m: Mention) -> bool:
    """True for a bold mention in a section whose heading names the term: "### Triplet Loss" then "**Triplet loss** was …"."""
    start, length = pm.original_span(m.start, m.end)
    if not (pm.source[max(0, start - 2):start] in ("**", "__") and pm.source[start + length:start + length + 2] in ("**", "__")):
        return False
    section = pm.sections[pm.section_of(m.start)]
    return section.heading is not None and term_key(m.surface) in term_key(section.heading.text)


def _in_expansion(text: str, sent: tuple[int, int], m: Mention) -> bool:
    """True inside the parenthesis spelling out a name just before it: "TF-IDF (term frequency × inverse document frequency)"."""
    return bool(re.search(r"\b[A-Z][A-Za-z0-9]*[A-Z][\w-]*\s*\([^()]{0,80}$", text[sent[0]:m.start]))


def _names_people(surface: str, people: frozenset[str]) -> bool:
    """True when every word of the surface is the name of someone the draft cites ("Karpukhin", "Baudis")."""
    words = [w[:-2] if w.endswith(("'s", "’s")) else w for w in re.split(r"[\s-]+", surface)]
    return bool(people) and all(w in people for w in words if w)


def _sentence_case_words(surface: str) -> bool:
    """True for several English words whose only capital is the first letter ("Scaling laws" opening a sentence):
    a phrase in sentence case, not a name ("Monte Carlo", "Langevin dynamics" are names)."""
    words = surface.split()
    return len(words) > 1 and not any(c.isupper() for c in surface[1:]) and all(word_classes(w.lower()) for w in words)


def _written_as_name(surface: str) -> bool:
    """True for a surface written like a name or acronym (LoRA, RLHF, GPT-3, Mistral), which a reader knows less readily."""
    # Digits make a name only beside a capital (GPT-3, T5, NF4); "seq2seq" and "word2vec" are words.
    return surface[:1].isupper() or any(c.isupper() for w in surface.split() for c in w[1:])


def _acronyms_of_phrases(mentions: Sequence[Mention], aliases: dict[str, str]) -> dict[str, str]:
    """{acronym key: phrase key} for acronyms spelled by the initials of a phrase in the text.

    "Grouped-query attention lets … GQA shrinks …": the writer names the phrase, then
    abbreviates it without parentheses; both are one term, defined where the phrase is.
    """
    by_initials: dict[str, str] = {}
    for m in mentions:
        words = re.split(r"[\s-]+", m.key)
        if m.kind != "name" and len(words) >= 2 and m.key not in aliases:
            by_initials.setdefault("".join(w[0] for w in words if w), m.key)
    found = {}
    for m in mentions:
        letters = m.surface[:-1] if m.surface.endswith("s") else m.surface
        if m.kind == "name" and letters.isupper() and letters.isalpha() and m.key not in aliases:
            phrase = by_initials.get(letters.lower())
            if phrase is not None:
                found[m.key] = phrase
    return found


def _in_order(letters: Sequence[str], word: str) -> bool:
    """True when `letters` occur in `word` in this order (not necessarily adjacent)."""
    rest = iter(word)
    return all(letter in rest for letter in letters)


def _acronym_long_forms(text: str) -> dict[str, str]:
    """{long-form key: acronym key} for every 'long form (ACR)' and 'long form, or ACR,' in the text."""
    found = {}
    # "long form (ACR)" and "long form, or ACR,"
    for m in re.finditer(r"\(\s*[\"“'‘]?([A-Za-z][A-Za-z0-9-]{1,11})s?[\"”'’]?\s*(?:[;,][^()]{0,120})?\)"
                         r"|,\s*or\s+([A-Z][A-Za-z0-9-]{1,11})s?(?=[,)])", text):
        acronym = m.group(1) or m.group(2)
        if sum(c.isupper() for c in acronym) < 2:
            continue
        words = re.findall(r"[A-Za-z][\w-]*", text[max(0, m.start() - 120):m.start()])
        # The longest run of words before it whose initials, hyphenated parts counted ("low-rank
        # adaptation" = l, r, a for LoRA), spell the acronym in order: "its inverted file (IVF)" -> "inverted file".
        # One trailing word may lie outside the acronym: "inverted file index, or IVF".
        chosen: list[str] = []
        for skip in (0, 1):
            before = words[:len(words) - skip]
            for k in range(1, min(len(before), len(acronym)) + 1):
                initials = [part[0].lower() for w in before[-k:] for part in w.split("-") if part]
                if len(initials) > len(acronym):
                    break
                if (len(initials) >= min(2, len(acronym)) and initials[0] == acronym[0].lower()
                        and _in_order(initials, acronym.lower())):
                    chosen = before[-k:]
            if chosen:
                break
        if chosen:
            found[term_key(" ".join(chosen))] = term_key(acronym)
    return found


# --- suggestions --------------------------------------------------------------------------

def suggest_definition(term: TermResult | str, search: Search, *, limit: int = 8) -> Suggestion | None:
    """The best-scored definitional sentence about `term` in the retrieved passages, or None.

    The term's own name is searched first. When those passages hold no explicit definition, the
    search widens once: to the long forms the passages give an acronym ("inverted file (IVF)",
    "inverted file index, or IVF"), or else to the term phrased as a definition ("siamese is a").
    Only sentences found in passages are returned; nothing is written.
    """
    name = term.term if isinstance(term, TermResult) else term
    names = [name] + (list(term.aliases) if isinstance(term, TermResult) else [])
    seen: set[tuple[str, str]] = set()
    split: list[tuple[Passage, ProseMap]] = []

    def gather(query: str) -> None:
        for p in sorted(search(query)[:limit], key=lambda p: -p.score):
            if (p.chunk_id, p.text) not in seen:
                seen.add((p.chunk_id, p.text))
                split.append((p, prose_map(p.text)))

    gather(name)
    if _first_definition(names, split, ("strong",)) is None:
        acronym = term_key(name)
        long_forms = [lf for _, pm in split for lf, acr in _acronym_long_forms(pm.text).items()
                      if acr == acronym and lf not in names]
        names += list(dict.fromkeys(long_forms))
        for query in list(dict.fromkeys(long_forms))[:2] or [f"{name} is a"]:
            gather(query)
    return _first_definition(names, split)


def _first_definition(names: Sequence[str], split: Sequence[tuple[Passage, ProseMap]],
                      strengths: Sequence[str] = ("strong", "mechanism", "modifier")) -> Suggestion | None:
    """The first definitional sentence for any of `names`, explicit forms first, passages in the order given."""
    patterns = [mention_pattern(term_key(n)) for n in names]
    # Explicit definitions in any passage beat a mechanism sentence or a bare "long form (X)" in a
    # better-scored one, and among them those whose subject is the term ("A masked language model
    # is …" before "The generator is a small masked language model whose …"); a one-word term may
    # be defined through the noun it modifies ("A siamese network is a …").
    order = {"strong": ("subject", "strong"), "mechanism": ("mechanism",), "modifier": ("modifier",)}
    for strength in [level for s in strengths for level in order[s]]:
        for passage, pm in split:
            for s, e in sentence_spans(pm):
                for name, pattern in zip(names, patterns):
                    if strength == "modifier" and " " in term_key(name):
                        continue
                    for m in pattern.finditer(pm.text, s, e):
                        if strength == "modifier":
                            head = re.match(r"\s+[a-z][\w-]*(?=\s)", pm.text[m.end():e])
                            ok = head is not None and bool(_COPULA.match(pm.text[m.end() + head.end():e]))
                        else:
                            explicit = strength in ("subject", "strong")
                            ok = _defines_here(pm.text, (s, e), m.start(), m.end(), strong_only=explicit,
                                               expansion=not explicit)
                            if ok and strength == "subject":
                                # "A masked language model (MLM) is …": the long form before the bracket leads.
                                lead = re.sub(r"(?:[\w-]+\s+){1,6}\(\s*$", "", pm.text[s:m.start()])
                                ok = bool(_SUBJECT_LEAD.match(lead))
                        if ok:
                            return Suggestion(" ".join(pm.text[s:e].split()), passage.doc_id, passage.chunk_id,
                                              passage.title, passage.page, passage.score)
    return None


def insert_definition(markdown: str, term: TermResult, suggestion: Suggestion | str, *, citation: str = "") -> str:
    """The draft with the definition inserted as the sentence right after the term's first use.

    `citation` (e.g. "[3]") is appended to the inserted sentence; numbering is the caller's.
    """
    text = suggestion.text if isinstance(suggestion, Suggestion) else suggestion
    text = text.strip()
    if citation:
        text = re.sub(r"([.!?])$", rf" {citation}\1", text) if text[-1:] in ".!?" else f"{text} {citation}"
    pm = prose_map(markdown)
    for s, e in sentence_spans(pm):
        start, length = pm.original_span(s, e)
        if start <= term.first_use < start + max(length, 1):
            end = pm.to_original(s + len(pm.text[s:e].rstrip()) - 1) + 1
            while end < len(markdown) and markdown[end] in "*_`\"')]":
                end += 1  # keep closing emphasis/quotes with the sentence
            return markdown[:end] + " " + text + markdown[end:]
    return markdown[:term.first_use] + text + " " + markdown[term.first_use:]


# --- views for the UI and exports ---------------------------------------------------------

def highlight_spans(report: JargonReport, statuses: Sequence[str] = FLAGGED) -> list[HighlightSpan]:
    """Spans to mark in the draft: first uses of terms with these statuses, and their late definitions."""
    spans = []
    for t in report.terms:
        if t.status not in statuses or t.candidate:
            continue
        spans.append(HighlightSpan(t.first_use, t.first_use_length, t.term, t.status, "first_use"))
        if t.status == "defined_late" and t.definition_offset is not None:
            length = next((ln for off, ln in t.mentions if off == t.definition_offset), 0)
            spans.append(HighlightSpan(t.definition_offset, length, t.term, t.status, "definition"))
    return sorted(spans, key=lambda s: s.offset)


def glossary(report: JargonReport, fmt: str = "markdown") -> str:
    """All terms with their definition (from the draft, else the corpus suggestion) as Markdown or CSV."""
    rows = []
    for t in sorted(report.terms, key=lambda t: t.term.lower()):
        if t.definition_text:
            definition, source = t.definition_text, "draft"
        elif t.suggestion:
            definition, source = t.suggestion.text, f"{t.suggestion.title}, p. {t.suggestion.page}"
        else:
            definition, source = "", ""
        rows.append((t.term, t.status, definition, source))
    if fmt == "csv":
        buf = io.StringIO()
        writer = csv.writer(buf)
        writer.writerow(["term", "status", "definition", "source"])
        writer.writerows(rows)
        return buf.getvalue()
    if fmt != "markdown":
        raise ValueError(f"glossary format must be 'markdown' or 'csv', not {fmt!r}")
    lines = ["| Term | Status | Definition | Source |", "|---|---|---|---|"]
    for row in rows:
        lines.append("| " + " | ".join(cell.replace("|", "\\|") for cell in row) + " |")
    return "\n".join(lines) + "\n"
