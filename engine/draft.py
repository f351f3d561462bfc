"""Draft stage: each section generated from its evidence with `[n]` citations, then verified sentence by sentence.

Citation numbers are article-wide, one per document, in order of first use (`ArticleCitations`);
the final article is renumbered by first appearance. After generation the engine cleans the
model's text (echoed headings and instructions, a cut-off last sentence, sentences already in the
article), removes citation numbers that map to no passage of the section, and runs the verify
stage. Sentences it finds unsupported go back to the model once, with the verifier's reasons, for
a rewrite of the section that is verified again (`repair_section`); the better-supported version
is kept. In strict mode what still fails is removed; otherwise it stays, flagged. Quoting evidence
is the last resort, for a section left with nothing supported: at most two prose sentences of the
evidence, in quotation marks and counted as quotes (`DraftedSection.quoted`).
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass, field, replace
from typing import Callable, Iterable, Mapping, Sequence

from engine import prompts
from engine.events import Event, OnEvent, ignore_event
from engine.evidence import FOCUS_MIN_TOKENS, LIMITATION_CUE, REDACTED, SOURCE_TOKENS, EvidenceCard, active_cards, \
    add_must_cite, focus_text, gather_evidence, head_lines, make_cards, rough_tokens, section_query, \
    states_limitation, \
    usable_passage, without_garbled_math
from engine.evaluate.copying import SourceText, find_copied_spans
from engine.export import Reference, format_reference, to_markdown
from engine.llm import GenerationParams, GenerationResult, Message, generate
from engine.markup import (CITATION, appearance_order, citation_numbers, format_citation, renumber_citations,
                           split_sentences, strip_citations)
from engine.plan import plan_outline, section_kind, section_words, trim_outline
from engine.records import Brief, Document, Outline, Passage, Section
from engine.retrieve import Retriever
from engine.verify import EntailmentModel, VerifyReport, verify_draft
from engine.verify.report import grounding_of, points_back, rebuild_markdown
from engine.verify.signals import content_stems
from engine.verify.support import VectorCache
from engine.verify.sentences import garbled_math, is_fragment, quotable_prose

_HEADING_LINE = re.compile(r"^\s{0,3}#{1,6}\s.*$", re.M)
_BLOCK_TAG = re.compile(r"</?\s*(sources?|draft)\s*>", re.I)
# A source entry's header line echoed from the prompt ("[1] Gou et al. (2020). Knowledge Distillation: A Survey —
# Background", `source_label`, or its "Title — Section" part on a line of its own above the text it copies), or a
# line holding nothing but citation markers.
_SOURCE_HEADER_LINE = re.compile(r"^[ \t]*(?:\[\d+\][ \t]*(?:[^\n]*\(\d{4}\)\.[^\n]*|[^\n.!?]* — [^\n.!?]*)?|"
                                 r"[^\n.!?]*\(\d{4}\)\. [^\n.!?]* — [^\n.!?]*|"
                                 r"[^\n.!?]{3,160} — [^\n.!?]{1,80}(?=\n))[ \t]*$", re.M)
# A sentence the model left unfinished before its citation ("In summary, the identity mapping is [1].").
# (Matched against the sentence without its citations and end punctuation.)
_UNFINISHED = re.compile(r"\b(?:is|are|was|were|be|as|such as|the|a|an|of|to|and|or|with|by|for|from|in|on|than|that|"
                         r"which|like|between|into|including)\s*$", re.I)
_SENTENCE_END = re.compile(r"[.!?][\"')\]]*(?:\s*\[\d[\d,;\s\-\u2013]*\])*\s*$")
# The model talking about its prompt instead of the topic ("The source number after each fact follows…").
_META = re.compile(r"\b(source numbers?|numbered sources?|the (given|provided|above) (sources?|passages?|text)|"
                   r"(given|provided) (sources?|passages?)|(the|these|our) sources\b|these (rules|instructions)|"
                   r"this request|square brackets|as instructed|word (count|limit)|"
                   r"the (sources?|text|passages?|excerpts?) (also )?(mentions?|says|states|notes|describes)|"
                   # the prompt's own field labels, echoed ("Section to write: ...", session 8's small drafts)
                   r"article topic:|section to write:|what this section does for the reader|"
                   r"what the article covers, section by section|rules for every section)", re.I)
# A citation the model put after the sentence's full stop at the end of a line ("... distant positions. [1]").
_CITATION_AFTER_STOP = re.compile(r"([.!?])[ \t]+(" + CITATION.pattern + r"(?:[ \t]*" + CITATION.pattern +
                                  r")*)(?=[ \t]*$|[ \t]+[A-Z*])", re.M)
# A caption or table label run into the sentence after it ("Open-domain QA, exact match on test sets: Both variants
# set a new state of the art ..."): a short, plain (not bold) lead ending in a colon before a capitalised sentence.
_LABEL_LEAD = re.compile(r"^(?P<label>[A-Z][^:*_.!?\[\]]{2,60}):\s+(?=[A-Z])")
# A pointer into a paper's own apparatus ("Table 6", "Fig. 1", "Appendix D.4", "Section 3.2", "Eq. (3)", "the
# Appendix"): copied into the article it points at a figure or table the article does not have. Session 13's readers
# counted "Detailed results per model are provided in Table 6 in the Appendix [1]." and "This is demonstrated by
# the transfer performance versus total pre-training compute (see Appendix D.4 for more details) [1]." as wrong.
_POINTER = (r"(?:\b(?:Fig(?:ure)?s?\.?|Tables?|Tab\.|Appendi(?:x|ces)|Sec(?:tion)?s?\.|Sections?|Eqs?\.|Equations?|"
            r"Alg(?:orithm)?s?\.?)\s*\(?(?:[A-Z]?\d+(?:\.\d+)*[a-z]?|[A-Z](?:\.\d+)*)\)?(?!\w)|§\s*\d+(?:\.\d+)*|"
            r"\b(?:the|an?) [Aa]ppendix\b)")
# ... written in parentheses, that part goes and the sentence stays ("(Fig. 1, Left)", "(see Appendix D.4 ...)")
_POINTER_ASIDE = re.compile(r"\s*\((?:see |cf\. |as in |in )?" + _POINTER + r"[^()]{0,60}\)")
# ... attributed to a cited paper ("Table 2 of [1]", "Figure 3 in Dosovitskiy et al.") it is a fair pointer
_POINTER_BARE = re.compile(_POINTER + r"(?!\s+(?:of|in|from)\s+(?:\[\d+\]|[A-Z][\w-]+ et al\.|the [\w-]+ paper))")
# A list marker left alone on its line once its item went.
_EMPTY_ITEM = re.compile(r"^[ \t]*(?:[-*+]|\d{1,2}[.)])[ \t]*$\n?", re.M)
# A section announcing itself ("In this section, we will walk through ..."): its heading already says so.
_ANNOUNCEMENT = re.compile(r"^\W*(in this section\b|this section (will|covers|explains|walks|shows|looks|describes|"
                           r"discusses|presents)\b)", re.I)
QUOTED_FALLBACK_SENTENCES = 2
COPIED_SHARE = 0.6  # share of a sentence's words in verbatim source spans that makes it a copy (bench/article.py)
NEAR_DUPLICATE = 0.7
# Cosine (the configured embedder, all-MiniLM-L6-v2 by default) at which a sentence says again what an earlier one
# said in other words. In session 16's default drafts every pair at 0.89 or more was one (flash defined tiling,
# recomputation, online softmax and kernel fusion twice each; the Transformer draft wrote "Multi-head attention
# allows the model to jointly attend to ..." twice, 0.97), while the closest distinct pairs were at 0.80-0.84
# ("RAG-Token ... can depend on different retrieved passages" / "RAG-Token may draw on a different passage per
# token" 0.79). Word overlap (NEAR_DUPLICATE) saw none of them.
RESTATEMENT = 0.88
# ... and the later sentence adds at most this many content words the earlier one lacks. Sentences built alike can
# state different facts ("The first objective function is the cross entropy with the soft labels ..." / "The
# second ... with the true labels, computed using exactly the same logits ...": 0.94, 4 new words); the restatements
# above added 1-3 ("involves", "multiple", "inhibits").
RESTATEMENT_NEW_WORDS = 3
# Sections that may consist of sentences without claims: what the reader will learn, open questions.
_CLAIMLESS_KINDS = ("opening", "further_research")
NO_EXAMPLE = ("<!-- No worked example could be grounded in this article's sources. Add one from your own work: a real "
              "input, its numbers, and what the method does with it step by step. -->")
NO_LIMITATIONS = ("<!-- None of this section's sources states a limitation of the method. Add the limits you know "
                  "of, or pin a passage that reports one. -->")
_WRITER_NOTES = ("no_example", "no_limitations")  # fallbacks that leave the writer a note, not text
INVITATION = ("Questions, corrections and pointers to related work are welcome: leave a comment "
              "and we will follow up.")


# --------------------------------------------------------------------------- citations
@dataclass
class ArticleCitations:
    """Article-wide citation numbers, one per document, assigned in order of first use."""

    documents: Mapping[str, Document] = field(default_factory=dict)
    numbers: dict[str, int] = field(default_factory=dict)
    seen: dict[str, Document] = field(default_factory=dict)

    def number_for(self, passage: Passage) -> int:
        """The citation number of the passage's document (a new one on first use)."""
        if passage.doc_id not in self.numbers:
            self.numbers[passage.doc_id] = len(self.numbers) + 1
            self.seen[passage.doc_id] = self.documents.get(passage.doc_id) or document_of(passage)
        return self.numbers[passage.doc_id]

    def document(self, number: int) -> Document:
        doc_id = next(d for d, n in self.numbers.items() if n == number)
        return self.seen[doc_id]

    def references(self) -> list[Reference]:
        """One reference per numbered document, formatted from its metadata."""
        return [Reference(n, format_reference(self.seen[d]), self.seen[d])
                for d, n in sorted(self.numbers.items(), key=lambda item: item[1])]


def document_of(passage: Passage) -> Document:
    """The document a passage comes from, as far as the passage's own metadata tells."""
    return Document(doc_id=passage.doc_id, title=passage.title, authors=passage.authors, year=passage.year)


def source_label(passage: Passage, *, again: bool = False) -> str:
    """'Hu et al. (2021). LoRA: … — Method' built from metadata only; `again` (a further passage of a source the
    block has already labelled): 'same source — Experiments'."""
    section = f" — {passage.section}" if passage.section else ""
    if again:
        return f"same source{section}"
    doc = document_of(passage)
    year = f" ({passage.year})" if passage.year else ""
    return f"{doc.short_authors()}{year}. {passage.title}{section}"


# --------------------------------------------------------------------------- cleaning model output
def drop_unknown_citations(text: str, known: Iterable[int]) -> tuple[str, list[int]]:
    """`text` without citation numbers outside `known` (whole `[..]` groups go when none is left)."""
    known = set(known)
    removed: list[int] = []

    def keep(match: re.Match) -> str:
        kept = []
        for number in citation_numbers(match.group(1)):
            if number in known:
                kept.append(number)
            elif number not in removed:
                removed.append(number)
        return format_citation(kept)

    cleaned = CITATION.sub(keep, text)
    cleaned = re.sub(r"[ \t]+([.,;:!?])", r"\1", cleaned)
    return re.sub(r"[ \t]{2,}", " ", cleaned), removed


def sentence_key(text: str) -> str:
    """A sentence's identity for duplicate detection: lower-case words without citations or punctuation."""
    return re.sub(r"\W+", " ", strip_citations(text).lower()).strip()


def near_duplicate(words: set[str], other: set[str]) -> bool:
    """Whether two sentences' word sets overlap so much (Jaccard ≥ 0.7) that a reader sees one sentence twice."""
    return bool(words) and bool(other) and len(words & other) / len(words | other) >= NEAR_DUPLICATE


def clean_model_text(text: str, *, complete_only: bool = True, avoid: Iterable[str] = (),
                     cited_voice_only: bool = False) -> str:
    """The model's section body without echoed headings, data tags or instructions, fragments, repeats, or a
    cut-off end.

    Sentences whose `sentence_key` is in `avoid` (already in the article) are dropped too. A paper's first person
    is told as its authors' (`in_the_authors_voice`; with `cited_voice_only`, in cited sentences only)."""
    text = _EMPTY_ITEM.sub("", _SOURCE_HEADER_LINE.sub("", _BLOCK_TAG.sub("", _HEADING_LINE.sub("", text)))).strip()
    if complete_only and text and not _SENTENCE_END.search(text):
        # The generation stopped mid-sentence: the last sentence goes whole. Cutting at the last ". " had kept
        # "Hu et al." of "Hu et al. (2021) showed that ... special tokens,".
        spans = split_sentences(text)
        text = text[:spans[-1].offset].strip() if spans else ""
    text = _CITATION_AFTER_STOP.sub(r" \2\1", text)
    paragraphs = []
    seen = [set(key.split()) for key in avoid]
    for paragraph in re.split(r"\n\s*\n", text):
        kept = []
        for span in split_sentences(paragraph):
            words = set(sentence_key(span.text).split())
            lead_in = strip_citations(span.text).rstrip().endswith(":")  # "The two variants are:" before a list
            # A fragment ("Hard targets [1].", "Dao et al. (2022).", a heading echoed as a sentence) is debris.
            # So is math a PDF scrambled ("q · k = ∑dk q i=1 i k i"), copied from a source.
            sentence = without_source_pointers(span.text)
            if words and sentence and not lead_in and not is_fragment(sentence) and not _META.search(sentence) \
                    and not _ANNOUNCEMENT.match(sentence) and not garbled_math(sentence) \
                    and not _UNFINISHED.search(strip_citations(sentence).rstrip(" .!?")) \
                    and not any(near_duplicate(words, other) for other in seen):
                seen.append(words)
                kept.append(in_the_authors_voice(without_label_lead(sentence), cited_only=cited_voice_only))
        if kept:
            paragraphs.append(" ".join(kept))
    return "\n\n".join(paragraphs).strip()


# A description tucked into a road-map sentence (", a technique that reduces ...", ", which can lead to ..."): the
# opening has no sources to check it against, and the default model's descriptions were wrong in 4 of 8 openings.
_DESCRIPTION = r",\s+(?:which|that|a|an|two|three|four|several|one of)\s[^,.;:!?]*"
_MID_DESCRIPTION = re.compile(_DESCRIPTION + r",(\s+and\s)")
_END_DESCRIPTION = re.compile(_DESCRIPTION + r"(?=[.!?]\s*$)")


def without_label_lead(sentence: str) -> str:
    """A sentence without a caption-like label run into it ("Open-domain QA, exact match on test sets: Both ..."
    -> "Both ..."); a label that holds a statement of its own ("Note that it helps: ...") stays."""
    match = _LABEL_LEAD.match(sentence)
    if match is None or not is_fragment(match.group("label") + "."):
        return sentence
    return sentence[match.end():]


def without_source_pointers(sentence: str) -> str | None:
    """A sentence without its asides that point into a paper's figures, tables, appendix or sections ("(Fig. 1,
    Left)"); None where a pointer remains that no citation owns ("... are provided in Table 6 in the Appendix"):
    such a sentence sends the reader to a table the article does not have."""
    sentence = _POINTER_ASIDE.sub("", sentence)
    return None if _POINTER_BARE.search(sentence) else sentence


def without_descriptions(sentence: str) -> str:
    """A road-map sentence with the topics it names kept and its descriptions of them left out ("You will learn
    about FlashAttention, a novel attention mechanism that ..." -> "You will learn about FlashAttention.")."""
    return _END_DESCRIPTION.sub("", _MID_DESCRIPTION.sub(r"\1", sentence))


# The model copies a paper's first person ("We found that data size does not bottleneck ...", "Our initial
# experiments show ..."): in the writer's article that claims the paper's work as the writer's. Only research acts:
# "We will see ..." addresses the reader.
_RESEARCH_ACT = (r"(?:also |then |further |first |finally )?"
                 r"(?:found|find|show|showed|shown|observe[ds]?|propose[ds]?|use[ds]?|train(?:ed)?|pre-train(?:ed)?|"
                 r"evaluate[ds]?|report(?:ed)?|compare[ds]?|introduce[ds]?|conduct(?:ed)?|tried|try|experiment(?:ed)?|"
                 r"measure[ds]?|demonstrate[ds]?|achieve[ds]?|obtain(?:ed)?|fine-tune[ds]?|address(?:ed)?|"
                 r"present(?:ed)?|study|studied|test(?:ed)?|set|chose|choose|follow(?:ed)?|assess(?:ed)?|"
                 r"corrupt(?:ed)?|perform(?:ed|s)?|pre-?train|employ|run|"
                 # any past tense: the writer speaks in the present ("we will see", "we can"), a paper reports
                 # what it did (session 13's ViT draft: "We ran ablations ...", "We employed the ... objective")
                 r"[a-z]{2,}ed|ran|made|took|began|built|gave|kept|put|got|did|held|led|sent|spent|split|fit|"
                 r"drew|grew|wrote|thought)\b")
# ... and any other verb of theirs, in the present too ("In this case, we use two objective functions", "We compute
# these objectives at the same temperature", "We reshape the image into patches": session 17's readers), except the
# verbs a writer addresses the reader with ("we will see", "we can", "as we saw above").
_READER_VERB = (r"(?:will|'ll|shall|can|could|may|might|need|needs|should|must|would|want|saw|see|get|now|"
                r"(?:have|'ve) (?:seen|just seen)|are going|'re going|let)\b")
_PAPER_VERB = (r"(?:" + _RESEARCH_ACT + r"|(?!" + _READER_VERB +
               r")(?:also |then |further |first |finally )?[a-z]{2,}\b)")


def _first_person_rules(verb: str) -> tuple[re.Pattern, re.Pattern, re.Pattern]:
    """The paper's "We <verb>" opening a sentence, after a short opening phrase ("In this case, we use ...", "For
    MNIST, we trained ..."), and in a clause of a sentence told as fact ("..., since we pre-train for only 7
    epochs", "As we discussed in the introduction, ...": session 17's ResNet draft)."""
    return (re.compile(r"^([*_\s]*)(?:In this (?:paper|work|study),? we|We)\s+(?=(?:have |had )?" + verb + ")"),
            # (not the writer's own "To see why, we ...", "Now, we ...")
            re.compile(r"^([*_\s]*(?!(?:To|Now|Here|Next|First|Then|Finally|Let)\b)[A-Z][^,;:.!?\[\]]{1,40},\s+)"
                       r"we\s+(?=" + verb + ")"),
            re.compile(r"\b(since|because|when|while|after|before|where|that|which|so|as) we\s+(?=" + verb + ")",
                       re.I))


_PAPER_WE_ANY = _first_person_rules(_PAPER_VERB)
# A worked example's own steps are the writer's present tense ("To make it concrete, we compute BLEU for one
# sentence [1]"): there only the research acts are the paper's.
_PAPER_WE_ACTS = _first_person_rules(_RESEARCH_ACT)
_PAPER_OUR_STUDY = re.compile(r"^([*_\s]*)In our ([\w\s-]{0,40}?(?:study|experiments?|work|analysis|setup|set-up)),"
                              r"\s+we\s+(?=" + _RESEARCH_ACT + ")")
_PAPER_OUR = re.compile(r"^([*_\s]*)Our\s+(?=(?:[\w-]+\s+){0,2}?(?:results?|experiments?|findings?|analysis|"
                        r"study|models?|method|approach)\b)")
# ... and its "our" later in the sentence ("..., as in our experiments on MNIST [1].").
_PAPER_OUR_LATER = re.compile(r"\b(in|from|of|by|with) our\s+(?=(?:[\w-]+\s+){0,2}?(?:results?|experiments?|"
                              r"findings?|analysis|study|models?|method|approach)\b)")
_PAPER_WE_LATER = re.compile(r"(,\s+(?:and\s+)?|\s+and\s+)we\s+(?=" + _RESEARCH_ACT + ")")


def in_the_authors_voice(sentence: str, *, cited_only: bool = True) -> str:
    """A sentence copied in its paper's first person, told as the authors' ('We found that ... [1].' ->
    'The authors found that ... [1].', 'Our initial experiments show ...' -> "The authors' initial experiments
    show ..."); any other sentence as it is. With `cited_only` (a worked example, where 'We set T = 4' is the
    example's own step) only a sentence that cites a source is the paper's, and only its research acts."""
    if cited_only and not CITATION.search(sentence):
        return sentence
    opening, after_lead, clause = _PAPER_WE_ACTS if cited_only else _PAPER_WE_ANY
    told = opening.sub(lambda m: m.group(1) + "The authors ", sentence, count=1)
    told = _PAPER_OUR_STUDY.sub(lambda m: f"{m.group(1)}In their {m.group(2)}, the authors ", told, count=1)
    told = after_lead.sub(lambda m: m.group(1) + "the authors ", told, count=1)
    told = _PAPER_OUR.sub(lambda m: m.group(1) + "The authors' ", told, count=1)
    if told != sentence:
        told = _PAPER_WE_LATER.sub(r"\1they ", told)  # "The authors found ..., and we assessed" -> "they assessed"
    return _PAPER_OUR_LATER.sub(r"\1 the authors' ", clause.sub(r"\1 the authors ", told))


def tidy(text: str) -> str:
    """Text after sentence removals: no blank paragraphs, no leading spaces on lines, no doubled spaces."""
    paragraphs = [re.sub(r"[ \t]{2,}", " ", _EMPTY_ITEM.sub("", p)).strip() for p in re.split(r"\n\s*\n", text)]
    return "\n\n".join(p for p in paragraphs if p)


def article_overview(brief: Brief, covers: Sequence[str] = ()) -> str:
    """'This article is for ML engineers new to RAG: it covers dense retrieval with DPR and how RAG combines
    retriever and generator.': who the article is for and what it covers, from the brief and the outline's core
    sections (`covers`; the brief's key points without them), an opening that claims nothing."""
    def lower(phrase: str) -> str:
        phrase = phrase.strip().rstrip(".")
        return phrase[:1].lower() + phrase[1:] if phrase[1:2].islower() else phrase

    points = [lower(p) for p in (covers or brief.key_points) if p.strip()] or [lower(brief.topic)]
    listed = points[0] if len(points) == 1 else ", ".join(points[:-1]) + " and " + points[-1]
    audience = " ".join(brief.audience.split())
    if not audience:
        return f"This article covers {listed}."
    return f"This article is for {lower(audience)}: it covers {listed}."


def _outline_plan(section: Section) -> str:
    """What an opening's purpose lists after its colon ("state what the reader will learn: A; B" -> "A; B";
    `plan_outline`), or the whole purpose the writer wrote without one."""
    return section.purpose.split(":", 1)[-1].strip()


def _outline_covers(section: Section) -> list[str]:
    """The core sections an opening's purpose lists (`_outline_plan`), or none when it lists none."""
    return [p.strip() for p in _outline_plan(section).split(";") if p.strip()] if ":" in section.purpose else []


def reading_pointer(citation_map: Mapping[int, Sequence[Passage]], limit: int = 3) -> str:
    """'To go further, read Lewis et al. (2020), *Retrieval-Augmented Generation …* [1].': the section's papers,
    from their metadata (verify recognises a sentence that only names its cited works)."""
    works = []
    for number, passages in sorted(citation_map.items())[:limit]:
        p = passages[0]
        year = f" ({p.year})" if p.year else ""
        works.append(f"{document_of(p).short_authors()}{year}, *{p.title.strip().rstrip('.')}* [{number}]")
    listed = "; ".join(works[:-1]) + ("; and " if len(works) > 2 else " and ") + works[-1] if len(works) > 1 \
        else works[0]
    return f"To go further, read {listed}."


# A paper's first person ("We explore an aggressively deep model ...") quoted bare reads as the writer's.
_FIRST_PERSON = re.compile(r"\b(?:we|our|us)\b", re.I)
# A sentence about other works, cited by author and year ("It has been shown (Briggs and McCormick, 2000;
# Szeliski, 1990) that these solvers converge much faster ..."): the paper's related work, not its content.
_AUTHOR_YEAR = re.compile(r"\([A-Z][^()]{0,200}?(?:19|20)\d\d[a-z]?\)|\bet al\.")


def quoted_evidence(citation_map: Mapping[int, Sequence[Passage]], limit: int = QUOTED_FALLBACK_SENTENCES,
                    avoid: Iterable[str] = (), *, kind: str = "") -> list[str]:
    """Up to `limit` prose sentences of the evidence as marked quotes ('“…” [n].'), one source after another.

    Only `quotable_prose` is quoted: never list items, titles, captions, table rows or reference entries, nor a
    sentence in its paper's first person, one that points back at its passage ("These methods suggest ...") or one
    about other works cited by author and year (session 18's ResNet draft quoted both under Background). Under
    limitations only a sentence that states a limit, cost or failure (session 17's ResNet draft quoted "When there
    are more layers, an individual layer of ResNets tends to modify the signal less" there)."""
    seen = [set(key.split()) for key in avoid]
    fits = (lambda s: bool(LIMITATION_CUE.search(s))) if kind == "limitations" else (lambda s: True)
    quotes: list[str] = []
    queues = {n: [s.text.strip() for p in ps for s in split_sentences(p.text)] for n, ps in citation_map.items()}
    while len(quotes) < limit and any(queues.values()):
        for number, queue in queues.items():
            while queue:
                sentence = without_source_pointers(queue.pop(0))
                words = set(sentence_key(sentence or "").split())
                if sentence and quotable_prose(sentence) and REDACTED not in sentence and fits(sentence) \
                        and not _FIRST_PERSON.search(sentence) and not _AUTHOR_YEAR.search(sentence) \
                        and not points_back(sentence) and not any(near_duplicate(words, other) for other in seen):
                    seen.append(words)
                    quotes.append(f"“{strip_citations(sentence).rstrip('.!?')}” [{number}].")
                    break
            if len(quotes) >= limit:
                break
    return quotes


# --------------------------------------------------------------------------- drafting
@dataclass
class DraftedSection:
    """One drafted section: verified Markdown, the model's raw text, its citations and the verify report."""

    heading: str
    markdown: str
    raw_text: str
    citation_map: dict[int, list[Passage]]
    report: VerifyReport | None
    removed_citations: list[int] = field(default_factory=list)
    generation: GenerationResult | None = None
    fallback: str = ""  # "" | "quoted" (nothing supported was left) | "overview" | "reading" | "invitation" |
    # "no_example" / "no_limitations" (a worked example, or limitations, with nothing supported left and nothing
    # to quote: a note to the writer, not text)
    flagged_chunks: list[str] = field(default_factory=list)
    repair: GenerationResult | None = None  # the one repair round, when sentences failed verification
    repaired: bool = False  # the repaired text was kept (it had more supported words)
    quoted: list[str] = field(default_factory=list)  # sentences that are quotes of evidence, not the model's words

    @property
    def stopped(self) -> bool:
        return bool(self.generation and self.generation.stopped)

    def to_json(self, citations: ArticleCitations | None = None) -> dict:
        return {
            "heading": self.heading, "text": self.markdown, "model_text": self.raw_text, "fallback": self.fallback,
            "removed_citations": self.removed_citations, "flagged_chunks": self.flagged_chunks,
            "citations": [{"number": n, "doc_id": ps[0].doc_id, "chunk_ids": [p.chunk_id for p in ps],
                           "reference": format_reference(citations.document(n)) if citations else ps[0].title}
                          for n, ps in sorted(self.citation_map.items())],
            "sentences": [{"text": s.text, "status": s.status, "score": s.score, "citations": s.citations,
                           "reasons": s.reasons, "replacement": s.replacement}
                          for s in (self.report.sentences if self.report else [])],
            "grounding": self.report.to_dict()["grounding"] if self.report else None,
            "generation": self.generation.to_json() | {"first_token_seconds": self.generation.first_token_seconds}
            if self.generation else None,
            "repair": self.repair.to_json() | {"kept": self.repaired} if self.repair else None,
            "quoted": self.quoted,
        }


def _as_cards(evidence: Sequence[EvidenceCard | Passage]) -> list[EvidenceCard]:
    cards = [e for e in evidence if isinstance(e, EvidenceCard)]
    passages = [e for e in evidence if isinstance(e, Passage)]
    return active_cards(cards) + make_cards(passages)


def section_sources(cards: Sequence[EvidenceCard], citations: ArticleCitations, *, focus: str = "",
                    budget: int = SOURCE_TOKENS, length: Callable[[str], int] | None = None
                    ) -> tuple[str, dict[int, list[Passage]]]:
    """The `<sources>` block body and the citation map (number → redacted passages) for a section.

    With `focus` (the section's query), each prose passage is cut to its run of sentences closest to it and a
    longer table to its first rows, so that the section's sources fit in about `budget` tokens by `length` (the
    drafting model's tokenizer; `rough_tokens` without one); verification checks the text the model saw.

    A source's passages stand together under one full label, the later ones as 'same source — Section': four
    passages of the ViT paper repeated its full label (authors, year, upper-case title) four times, and grouping
    them cut the slowest section's new prompt tokens from 791 to 680 (session 13)."""
    length = length or rough_tokens
    numbered = [(citations.number_for(card.passage), card) for card in cards]
    first_place = {}
    for place, (number, _) in enumerate(numbered):
        first_place.setdefault(number, place)
    entries = []
    citation_map: dict[int, list[Passage]] = {}
    share = max(FOCUS_MIN_TOKENS, budget // max(1, len(cards)))
    for number, card in sorted(numbered, key=lambda pair: first_place[pair[0]]):
        passage = usable_passage(card)
        if focus and passage.kind in ("text", "footnote"):
            passage = replace(passage, text=focus_text(without_garbled_math(passage.text), focus, share, length))
        elif focus and length(passage.text) > share:
            passage = replace(passage, text=head_lines(passage.text, share, length))
        entries.append((number, source_label(passage, again=number in citation_map), passage.text))
        citation_map.setdefault(number, []).append(passage)
    return prompts.sources_block(entries), citation_map


@dataclass
class Repair:
    """What one repair round needs: the model, the conversation that drafted the section, and sampling."""

    llm: object
    messages: Sequence[Message]
    params: GenerationParams
    stop_event: threading.Event | None = None


def copies_source(sentence: str, sources: Sequence[SourceText]) -> bool:
    """Whether `COPIED_SHARE` of the sentence's words lie in verbatim spans of 12 or more words of `sources`
    (`engine.evaluate.copying`): a quote the reader is not told about. bench/article.py counts the same."""
    return bool(sources) and find_copied_spans(sentence, sources).copied_share >= COPIED_SHARE


def copied_sentences(report: VerifyReport | None, citation_map: Mapping[int, Sequence[Passage]]) -> set[str]:
    """Sentences the verified text keeps that copy their sources (`copies_source`)."""
    sources = [SourceText(p.chunk_id, p.title, p.text) for ps in citation_map.values() for p in ps]
    return {c.text for c in (report.sentences if report else ()) if c.replacement is None
            and copies_source(c.text, sources)}


def _own_supported_words(report: VerifyReport | None, copied: set[str]) -> int:
    """Words of supported sentences the model wrote itself (copied ones do not count)."""
    return sum(len(c.text.split()) for c in (report.sentences if report else ())
               if c.status == "supported" and c.text not in copied)


def _failures(report: VerifyReport | None, copied: set[str] = frozenset()) -> list[str]:
    """One line per sentence strict verification removed or that copies its source: the sentence and why, for
    the repair prompt.

    An uncited sentence that a source supports is not a failure: strict verification attaches that citation
    (the default model often drops its `[n]` markers)."""
    def why(check) -> str:
        if check.replacement is None:
            return "it copies its source word for word: say it in your own words"
        if dangling := [r for r in check.reasons if r.startswith("it begins with")]:
            return dangling[0]
        if not check.citations:
            return "none of the sources says this"
        return "; ".join(r for r in check.reasons if not r.startswith("removed")) or "its source does not say this"

    return [f'- "{strip_citations(c.text)}": {why(c)}' for c in (report.sentences if report else ())
            if c.replacement == "" or (c.replacement is None and c.text in copied)]


def repair_section(repair: Repair, raw_text: str, report: VerifyReport, citation_map: Mapping[int, Sequence[Passage]],
                   avoid: Iterable[str] = (), copied: set[str] = frozenset(), *,
                   cited_voice_only: bool = False) -> tuple[str, GenerationResult] | None:
    """The model's rewrite of a section whose listed sentences failed verification or copy their source (one
    round), or None when nothing needs it."""
    problems = _failures(report, copied)
    if not problems or (repair.stop_event is not None and repair.stop_event.is_set()):
        return None
    request = prompts.REPAIR_SECTION.format(problems=prompts.neutralise("\n".join(problems)),
                                            example=min(citation_map) if citation_map else 1)
    messages = [*repair.messages, Message("assistant", raw_text), Message("user", request)]
    result = generate(repair.llm, messages, repair.params, stop_event=repair.stop_event)
    text, _ = drop_unknown_citations(clean_model_text(result.text, avoid=avoid, cited_voice_only=cited_voice_only),
                                     citation_map)
    return text, result


def finish_section(heading: str, kind: str, result: GenerationResult, citation_map: dict[int, list[Passage]],
                   cards: Sequence[EvidenceCard], embedder, strict: bool, *, repair: Repair | None = None,
                   avoid: Iterable[str] = (), nli: EntailmentModel | None = None,
                   brief: Brief | None = None) -> DraftedSection:
    """Clean a finished generation, verify it, let the model repair what fails once, then apply strict mode.

    `avoid` holds the `sentence_key`s of sentences already in the article; `nli` is the verify stage's judge.
    When strict mode leaves nothing: a questions section gets the invitation, an opening the brief's overview
    (`article_overview`), a further-research section pointers to its papers (`reading_pointer`), a worked example
    a note to the writer saying what to add (`NO_EXAMPLE`), any other section at most two marked quotes."""
    avoid = set(avoid)
    example = kind == "example"  # its "We start with ...", "We set r = 4" are the example's own steps
    # The heading echoed as a plain first line ("Further research\nWhat is ...": session 17's ResNet draft)
    raw = re.sub(rf"\A\s*[*_]*{re.escape(heading.strip())}[*_:]*[ \t]*\n", "", result.text, flags=re.I)
    text, removed = drop_unknown_citations(clean_model_text(raw, avoid=avoid, cited_voice_only=example),
                                           citation_map)
    if kind == "opening":
        text = "\n\n".join(" ".join(without_descriptions(s.text) for s in split_sentences(paragraph))
                           for paragraph in re.split(r"\n\s*\n", text))

    vectors = VectorCache(embedder)  # the article's earlier sentences are embedded once per section, not per check

    def verified(body: str, strict_mode: bool) -> VerifyReport | None:
        if not body:
            return None
        return _tidied(without_restatements(verify_draft(body, citation_map, embedder, strict=strict_mode, nli=nli),
                                            body, vectors, avoid))

    report = verified(text, True)  # strict verification decides what failed, whichever mode the writer chose
    repaired_with, kept = None, False
    copied = copied_sentences(report, citation_map)
    if repair is not None and kind != "questions" and report is not None and _failures(report, copied):
        attempt = repair_section(repair, result.text, report, citation_map, avoid, copied, cited_voice_only=example)
        if attempt is not None:
            new_text, repaired_with = attempt
            new_report = verified(new_text, True)
            new_copied = copied_sentences(new_report, citation_map)
            if _own_supported_words(new_report, new_copied) > _own_supported_words(report, copied):
                text, report, kept = new_text, new_report, True
    if not strict and report is not None:
        report = verified(text, False)  # the chosen text as written, its failures flagged instead of removed
    final, fallback, quoted = (report.markdown if report else ""), "", []
    # An opening (what the reader will learn) or a further-research section (open questions) may hold no claim;
    # other sections need a supported one.
    keeps_text = kind in _CLAIMLESS_KINDS and report is not None and bool(report.markdown.strip())
    broken_example = strict and kind == "example" and report is not None and _mostly_removed(report)
    if strict and (broken_example or not has_supported_content(report)) and not keeps_text:
        if kind == "questions":
            final, fallback = INVITATION, "invitation"
        elif kind == "opening" and brief is not None:
            final, fallback = article_overview(brief), "overview"
        elif kind == "further_research" and citation_map:
            final, fallback = reading_pointer(citation_map), "reading"
        elif kind == "example":
            # Quotes under "A worked example" were never an example (8 of 8 such sections in session 7's run were
            # quotes or restated definitions): the writer is told what is missing instead.
            final, fallback = NO_EXAMPLE, "no_example"
            if broken_example:
                report = _withdraw(report, "removed in strict mode: most of this worked example's steps were "
                                           "unsupported, and the steps left over do not make an example")
        elif citation_map and (quoted := quoted_evidence(citation_map, avoid=avoid, kind=kind)):
            final, fallback = " ".join(quoted), "quoted"
        elif kind == "limitations":
            final, fallback = NO_LIMITATIONS, "no_limitations"
        if fallback not in _WRITER_NOTES:  # the note to the writer is no text to verify
            report = verified(final, True) if final else report
            final = report.markdown if report else final
    return DraftedSection(heading=heading, markdown=final, raw_text=result.text, citation_map=citation_map,
                          report=report, removed_citations=removed, generation=result, fallback=fallback,
                          flagged_chunks=[c.chunk_id for c in cards if c.flagged], repair=repaired_with,
                          repaired=kept, quoted=quoted)


def without_restatements(report: VerifyReport, markdown: str, embedder, earlier: Iterable[str] = ()) -> VerifyReport:
    """The report with every sentence removed that restates, in other words, one before it in the section or one
    of `earlier` (the article's sentences so far): "No sentence appears twice in one article" holds for meaning,
    not only for words. A removed sentence keeps its text and says which one it repeats."""
    kept = [c for c in report.sentences if c.replacement != ""]
    if not kept:
        return report
    before = list(dict.fromkeys(earlier))
    texts = [strip_citations(c.text if c.replacement is None else c.replacement) for c in kept]
    cache = embedder if isinstance(embedder, VectorCache) else VectorCache(embedder)
    vectors = cache.matrix(before + texts)
    seen, said = list(vectors[:len(before)]), list(before)
    changed = False
    for check, text, vector in zip(kept, texts, vectors[len(before):]):
        if seen:
            similarities = [float(vector @ other) for other in seen]
            best = max(range(len(seen)), key=similarities.__getitem__)
            new_words = content_stems(text) - content_stems(said[best])
            if similarities[best] >= RESTATEMENT and len(new_words) <= RESTATEMENT_NEW_WORDS:
                check.status, check.replacement, changed = "replaced", "", True
                check.reasons = [*check.reasons, f"removed: it says again what an earlier sentence said ('"
                                 f"{' '.join(said[best].split()[:12])} ...')"]
                continue
        seen.append(vector)
        said.append(text)
    if changed:
        report.markdown = rebuild_markdown(markdown, report.sentences)
        report.grounding = grounding_of(report.sentences)
    return report


def _tidied(report: VerifyReport) -> VerifyReport:
    """The report with its Markdown tidied and each sentence's new_offset moved to match."""
    final, cursor = tidy(report.markdown), 0
    for check in report.sentences:
        text = check.text if check.replacement is None else check.replacement
        found = final.find(text, cursor) if text else -1
        if found >= 0:
            check.new_offset, check.new_length, cursor = found, len(text), found + len(text)
        else:
            check.new_offset, check.new_length = cursor, 0
    report.markdown = final
    return report


def _mostly_removed(report: VerifyReport) -> bool:
    """Whether strict mode removed at least as many of a section's sentences as it kept.

    A worked example is a chain of steps: with half of them gone, what is left ("Next, we generate some synthetic
    data ...", "We set T = 4 ...") is no example. In session 7's third run 5 examples were cut that far: 4 kept a
    sentence a careful reader called wrong (6 in all), the fifth was one step that echoed the prompt."""
    removed = sum(s.replacement == "" for s in report.sentences)
    return removed > 0 and removed >= len(report.sentences) - removed


def _withdraw(report: VerifyReport, why: str) -> VerifyReport:
    """The report with every sentence strict mode had kept marked removed too, saying why (the check panel
    still shows what the model wrote)."""
    for check in report.sentences:
        if check.replacement != "":
            check.status, check.replacement = "replaced", ""
            check.reasons = [*check.reasons, why]
    report.markdown = ""
    return report


def has_supported_content(report: VerifyReport | None) -> bool:
    """Whether the verified text keeps at least one sentence backed by its sources."""
    return bool(report) and any(s.status == "supported" or (s.status == "replaced" and s.replacement)
                                for s in report.sentences)


def article_header(brief: Brief) -> str:
    """The start every section's prompt shares (topic, goal, key points, known terms, rules, data notice), so the
    model's prompt cache reads it once per article (`prompts.ARTICLE_HEADER`)."""
    return prompts.ARTICLE_HEADER.format(
        topic=brief.topic, goal_line=prompts.optional_line("Goal of the article", brief.goal),
        points_line=prompts.optional_line("Key points of the article", brief.key_points),
        known_line=prompts.optional_line("The reader already knows (do not define)", brief.assumed_terms),
        notice=prompts.SOURCES_NOTICE)


def _token_counter(llm) -> Callable[[str], int] | None:
    """The model's own token count, when its backend has a tokenizer (the sources' budget is in its tokens)."""
    return getattr(llm, "count_tokens", None)


def draft_section(llm, section: Section, evidence: Sequence[EvidenceCard | Passage], brief: Brief,
                  params: GenerationParams, on_text: Callable[[str], None] | None = None,
                  stop_event: threading.Event | None = None, *, embedder, citations: ArticleCitations | None = None,
                  strict: bool = True, words: int = 150, avoid: Iterable[str] = (),
                  nli: EntailmentModel | None = None) -> DraftedSection:
    """Generate one section from its evidence (streamed through `on_text`), then clean, verify and repair it.

    `avoid`: `sentence_key`s of sentences the article already has; `nli`: the verify stage's judge."""
    citations = citations if citations is not None else ArticleCitations()
    cards = _as_cards(evidence)
    kind = section_kind(section)
    if kind == "opening":
        return _draft_opening(llm, section, cards, brief, params, on_text, stop_event, embedder=embedder,
                              citations=citations, strict=strict, words=words, avoid=avoid, nli=nli)
    sources, citation_map = section_sources(cards, citations, focus=section_query(brief, section),
                                            length=_token_counter(llm))
    prompt = prompts.DRAFT_SECTION.format(
        header=article_header(brief), heading=section.heading, purpose=section.purpose or section.heading,
        sources=sources or "(no sources)", words=words, example=min(citation_map) if citation_map else 1,
        kind_instruction=prompts.KIND_INSTRUCTIONS[kind])
    return _write_section(llm, section.heading, kind, prompt, brief, params, on_text, stop_event, citation_map, cards,
                          embedder=embedder, strict=strict, avoid=avoid, nli=nli)


def _write_section(llm, heading: str, kind: str, prompt: str, brief: Brief, params: GenerationParams, on_text,
                   stop_event, citation_map: dict[int, list[Passage]], cards: Sequence[EvidenceCard], *, embedder,
                   strict: bool, avoid: Iterable[str], nli, repairable: bool = True) -> DraftedSection:
    """Generate a section from its prompt (streamed), then clean, verify and (when `repairable`) repair it, with
    a drafting self-check (`SelfCheck`) bound to the prompt that drafted it."""
    messages = [Message("system", prompts.WRITER_SYSTEM.format(audience=brief.audience)), Message("user", prompt)]
    if params.no_copy_words:  # the model says what its sources say in its own words (engine/llm/copyguard.py)
        params = replace(params, no_copy=tuple(p.text for ps in citation_map.values() for p in ps))
    result = generate(llm, messages, params, on_text=on_text, stop_event=stop_event)
    if repairable and hasattr(nli, "for_section"):
        nli = nli.for_section(llm, messages)
    return finish_section(heading, kind, result, citation_map, cards, embedder, strict,
                          repair=Repair(llm, messages, params, stop_event) if repairable else None, avoid=avoid,
                          nli=nli if repairable else None, brief=brief)


def _draft_opening(llm, section: Section, cards: Sequence[EvidenceCard], brief: Brief, params: GenerationParams,
                   on_text, stop_event, *, embedder, citations: ArticleCitations, strict: bool, words: int,
                   avoid: Iterable[str], nli) -> DraftedSection:
    """The opening: who the article is for and what it covers, from the brief and the outline (`article_overview`),
    with no model call. Only evidence the writer pinned to it makes the model write it, from those sources, as a
    road map; a claim without one goes in strict mode.

    Written by the default model from the outline alone, 8 of 8 openings in session 17's run restated the topic
    ("You will learn about knowledge distillation."), and readers counted 3 of them wrong: "You will learn why
    residual connections let very deep networks train" promised a "why" the article never gave, and "how these
    techniques can be applied to improve the performance of transformer models on a wide range of tasks" content it
    did not have. A road map made of the outline's own headings promises what the article has."""
    pinned = [c for c in cards if c.pinned and not c.dropped]
    if not pinned:
        text = article_overview(brief, _outline_covers(section))
        if on_text is not None:
            on_text(text)
        return DraftedSection(heading=section.heading, markdown=text, raw_text="", citation_map={},
                              report=verify_draft(text, {}, embedder, strict=strict), fallback="overview")
    sources, citation_map = section_sources(pinned, citations, focus=section_query(brief, section),
                                            length=_token_counter(llm))
    plan = _outline_plan(section) if ":" in section.purpose else section.purpose
    prompt = prompts.DRAFT_OPENING.format(
        header=article_header(brief), plan=plan or brief.topic, words=words,
        sources_part=f"<sources>\n{sources}\n</sources>\n")
    return _write_section(llm, section.heading, "opening", prompt, brief, params, on_text, stop_event, citation_map,
                          pinned, embedder=embedder, strict=strict, avoid=avoid, nli=nli)


def revise_section(llm, section: Section, drafted: DraftedSection, evidence: Sequence[EvidenceCard | Passage],
                   brief: Brief, params: GenerationParams, instruction: str,
                   on_text: Callable[[str], None] | None = None, stop_event: threading.Event | None = None, *,
                   embedder, citations: ArticleCitations | None = None, strict: bool = True,
                   words: int = 150, avoid: Iterable[str] = (), nli: EntailmentModel | None = None) -> DraftedSection:
    """Rewrite a drafted section following `instruction` ('shorter', 'add an example', 'define KV cache')."""
    citations = citations if citations is not None else ArticleCitations()
    cards = _as_cards(evidence)
    sources, citation_map = section_sources(cards, citations, focus=section_query(brief, section),
                                            length=_token_counter(llm))
    prompt = prompts.REVISE_SECTION.format(
        topic=brief.topic, heading=section.heading, notice=prompts.SOURCES_NOTICE, sources=sources or "(no sources)",
        draft=prompts.neutralise(drafted.markdown), instruction=" ".join(instruction.split()),
        example=min(citation_map) if citation_map else 1)
    return _write_section(llm, section.heading, section_kind(section), prompt, brief, params, on_text, stop_event,
                          citation_map, cards, embedder=embedder, strict=strict, avoid=avoid, nli=nli)


# --------------------------------------------------------------------------- the article
def renumber_by_appearance(body: str, references: Sequence[Reference]) -> tuple[str, list[Reference]]:
    """Citations renumbered 1, 2, … in order of first appearance; references not cited are dropped."""
    order = appearance_order(body)
    by_number = {r.number: r for r in references}
    body = renumber_citations(body, order)
    refs = [Reference(new, by_number[old].text, by_number[old].document)
            for old, new in sorted(order.items(), key=lambda item: item[1]) if old in by_number]
    return body, refs


def assemble_article(outline: Outline, drafted_sections: Sequence[DraftedSection | None] | Mapping[int, DraftedSection],
                     references: Sequence[Reference]) -> str:
    """One editable Markdown document: title, each section (drafted text or its purpose as a comment), references."""
    if isinstance(drafted_sections, Mapping):
        drafted = [drafted_sections.get(i) for i in range(len(outline.sections))]
    else:
        drafted = list(drafted_sections) + [None] * (len(outline.sections) - len(drafted_sections))
    parts = [f"# {outline.title}"]
    for section, done in zip(outline.sections, drafted):
        body = done.markdown if done is not None else (section.text or f"<!-- To draft: {section.purpose} -->")
        parts.append(f"{'#' * section.level} {section.heading}\n\n{body.strip()}")
    body, refs = renumber_by_appearance("\n\n".join(parts) + "\n", references)
    return to_markdown(body, refs) if refs else body


@dataclass
class ArticleDraft:
    """Everything one headless run produced: outline, evidence, drafted sections, citations, Markdown."""

    brief: Brief
    outline: Outline
    evidence: list[list[EvidenceCard]]
    sections: list[DraftedSection]
    citations: ArticleCitations
    markdown: str

    def final_numbers(self) -> dict[int, int]:
        """Drafting-time citation number → its number in the assembled article (renumbered by appearance)."""
        return appearance_order("\n\n".join(d.markdown for d in self.sections))

    def to_json(self) -> dict:
        """Outline, per-section text (drafting-time numbers; `article_number` gives the final one), flags, Markdown."""
        final = self.final_numbers()
        return {"title": self.outline.title,
                "outline": [{"id": s.id, "kind": s.kind, "heading": s.heading, "purpose": s.purpose, "query": s.query,
                             "notes": s.notes}
                            for s in self.outline.sections],
                "sections": [d.to_json(self.citations) | {
                    "evidence": [{"chunk_id": c.chunk_id, "doc_id": c.passage.doc_id, "title": c.passage.title,
                                  "pinned": c.pinned, "dropped": c.dropped,
                                  "injection_flags": [f.message for f in c.findings]} for c in cards]}
                    for d, cards in zip(self.sections, self.evidence)],
                "article_numbers": {str(k): v for k, v in final.items()},
                "references": [{"number": final[r.number], "text": r.text}
                               for r in self.citations.references() if r.number in final],
                "markdown": self.markdown}


def section_params(base: GenerationParams, words: int) -> GenerationParams:
    """`base` with max_new_tokens sized to the section (about 1.6 tokens per word), never above base."""
    return replace(base, max_new_tokens=max(32, min(base.max_new_tokens, int(words * 1.6) + 16)))


# Sections about the article as a whole draw on the papers its core sections use: searched across the whole
# corpus, "Limitations and trade-offs" of a RAG article found GPT-3's limitations and wrote them as RAG's, and
# "A worked example" of a FlashAttention article found FAISS's k-NN search and RAG-Token's decoding rule.
_ARTICLE_WIDE_KINDS = ("opening", "background", "example", "limitations", "further_research")


_CORE_KINDS = ("core",)
# ... and only the papers that carry them: a document behind fewer than this share of the core sections' cards was
# a side hit. Session 17's Transformer article drew one multi-head-attention card from the ViT paper, and its
# "Limitations and trade-offs" then reported Axial-ViT's costs as the Transformer's.
_CORE_DOCUMENT_SHARE = 0.3


def core_documents(others: Iterable[tuple[Section, Sequence[EvidenceCard]]]) -> list[str]:
    """The documents behind at least `_CORE_DOCUMENT_SHARE` of the core sections' cards (always the first one)."""
    counts: dict[str, int] = {}
    for section, cards in others:
        if section_kind(section) in _CORE_KINDS:
            for card in cards:
                if not card.dropped:
                    counts[card.passage.doc_id] = counts.get(card.passage.doc_id, 0) + 1
    total = sum(counts.values())
    ranked = sorted(counts, key=lambda d: (-counts[d], d))
    return sorted(d for i, d in enumerate(ranked) if i == 0 or counts[d] >= _CORE_DOCUMENT_SHARE * total)


def section_evidence(retriever: Retriever, brief: Brief, section: Section,
                     others: Iterable[tuple[Section, Sequence[EvidenceCard]]], *, k: int = 4,
                     previous: Sequence[EvidenceCard] = ()) -> list[EvidenceCard]:
    """Evidence cards for one section, given the other sections and their cards: passages they use give way to
    unused ones, and an article-wide section searches the documents the core sections mostly use (`core_documents`).

    `previous`: this section's earlier cards (pins kept, drops remembered; see gather_evidence)."""
    others = list(others)
    used = {c.chunk_id for _, cards in others for c in cards}
    kind = section_kind(section)
    documents = core_documents(others) if kind in _ARTICLE_WIDE_KINDS else None
    prefer = states_limitation if kind == "limitations" else None
    return gather_evidence(retriever, brief, section, k=k, previous=previous, avoid=used, doc_ids=documents or None,
                           prefer=prefer)


def article_evidence(retriever: Retriever, brief: Brief, sections: Sequence[Section], *,
                     k: int = 4) -> list[list[EvidenceCard]]:
    """Evidence cards per section (`section_evidence`): core sections first, then the article-wide ones."""
    evidence: list[list[EvidenceCard]] = [[] for _ in sections]
    core = [i for i, s in enumerate(sections) if section_kind(s) in _CORE_KINDS]
    rest = [i for i, s in enumerate(sections) if i not in core and section_kind(s) in _ARTICLE_WIDE_KINDS]
    for i in core + rest:  # an invitation to ask questions needs no evidence
        others = [(sections[j], evidence[j]) for j in range(len(sections)) if j != i]
        evidence[i] = section_evidence(retriever, brief, sections[i], others, k=k)
    return evidence


def article_sentence_keys(sections: Iterable[DraftedSection | None]) -> set[str]:
    """`sentence_key`s of every sentence in these drafted sections (what a new section must not repeat)."""
    return {sentence_key(span.text) for d in sections if d is not None for span in split_sentences(d.markdown)}


def write_article(brief: Brief, retriever: Retriever, llm, embedder, *, params: GenerationParams, strict: bool,
                  n_sections: int | None = None, k: int = 4, documents: Mapping[str, Document] | None = None,
                  refine: bool = False, on_event: OnEvent = ignore_event, nli: EntailmentModel | None = None,
                  on_section: Callable[[int, DraftedSection], None] | None = None) -> ArticleDraft:
    """Brief → outline → evidence → drafted, verified sections → one Markdown article (headless).

    Sections draw on passages no earlier section used where the corpus allows, and no sentence appears twice."""
    outline = plan_outline(brief, retriever, llm=llm, refine=refine, on_event=on_event)
    if n_sections is not None:
        outline = trim_outline(outline, n_sections)
    evidence = article_evidence(retriever, brief, outline.sections, k=k)
    add_must_cite(retriever, brief, outline.sections, evidence, kinds=("core", "example", "background"))
    budgets = section_words(outline, brief)
    citations = ArticleCitations(documents=documents or {})
    drafted: list[DraftedSection] = []
    for i, (section, cards) in enumerate(zip(outline.sections, evidence)):
        on_event(Event("draft", f"Drafting “{section.heading}”", i, len(outline.sections)))
        done = draft_section(llm, section, cards, brief, section_params(params, budgets[i]), embedder=embedder,
                             citations=citations, strict=strict, words=budgets[i],
                             avoid=article_sentence_keys(drafted), nli=nli)
        drafted.append(done)
        if on_section:
            on_section(i, done)
    on_event(Event("draft", "Article drafted", len(outline.sections), len(outline.sections)))
    markdown = assemble_article(outline, drafted, citations.references())
    return ArticleDraft(brief, outline, evidence, drafted, citations, markdown)


# --------------------------------------------------------------------------- streaming for UIs
class SectionStream:
    """Iterate to receive a section's text pieces as they are generated; `result` holds the DraftedSection.

    `run(on_text, stop_event)` is a draft_section/revise_section call. It runs in a worker thread so a
    UI can consume the pieces as a plain generator (st.write_stream); closing the generator early (a
    Stop button) sets the stop event, waits for the partial section to be verified, and hands it to
    `on_done` like a finished one.
    """

    def __init__(self, run: Callable[[Callable[[str], None], threading.Event], DraftedSection],
                 on_done: Callable[[DraftedSection], None] | None = None):
        self._run, self._on_done = run, on_done
        self.stop_event = threading.Event()
        self.result: DraftedSection | None = None
        self.error: BaseException | None = None

    def __iter__(self):
        import queue

        pieces: queue.Queue = queue.Queue()
        end = object()

        def work() -> None:
            try:
                self.result = self._run(pieces.put, self.stop_event)
                if self._on_done is not None:
                    self._on_done(self.result)
            except Exception as exc:  # handed to the caller's thread below
                self.error = exc
            finally:
                pieces.put(end)

        worker = threading.Thread(target=work, name="draft-section", daemon=True)
        worker.start()
        try:
            while (piece := pieces.get()) is not end:
                yield piece
        finally:
            self.stop_event.set()
            worker.join()
        if self.error is not None:
            raise self.error


def preview_html(markdown: str) -> str:
    """The article rendered to HTML and sanitized with nh3 (safe to show in a page): see engine.render."""
    from engine.render import preview_html as rendered

    return rendered(markdown)
