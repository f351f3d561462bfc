"""Style findings for a draft: passive voice, long sentences, filler, repetition, structure, peer parts.

Each finding is an engine.records.Finding anchored at an offset and length in the original
draft (not the stripped prose), with a message that suggests the fix. Document-level
findings (a missing part) sit at offset 0 with length 0.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from statistics import median

from engine.markup import ProseMap, Sentence, prose_map, sentences
from engine.records import Finding


@dataclass(frozen=True)
class StyleLimits:
    """Thresholds for the length and repetition findings."""

    # Readers of technical prose lose the thread past about 30 words; ~20 is a typical
    # sentence in a good ML blog post, so 30+ stands out without flagging every definition.
    long_sentence_words: int = 30
    very_long_sentence_words: int = 45
    # A paragraph or section is "far longer than the rest" past 2.5x the median and an absolute floor.
    outlier_factor: float = 2.5
    long_paragraph_words: int = 150
    long_section_words: int = 500
    # Prose this long with no heading at all is hard to skim.
    text_without_heading_words: int = 400
    repeat_window_words: int = 6  # the same content word again within this many words
    repeat_phrase_window_words: int = 40  # the same 3-word phrase again within this many words


DEFAULT_LIMITS = StyleLimits()

# --- passive voice -------------------------------------------------------------------------

_IRREGULAR_PARTICIPLES = (
    "arisen awoken been beaten become begun bent bet bitten bled blown bound broken bred brought "
    "built burnt bought cast caught chosen come cut dealt done drawn dreamt driven drunk eaten "
    "fallen fed felt fought found fled flown forbidden forgotten forgiven frozen given gone grown "
    "ground hung had heard hidden hit held hurt kept known laid led left lent let lain lit lost "
    "made meant met mistaken overcome overridden overtaken paid proven put quit read rewritten "
    "ridden risen run said seen sought sold sent set shaken shed shone shot shown shut sung sunk "
    "slain slid spoken spent spun split spread stood stolen stuck struck strung sworn swept swum "
    "taken taught torn told thought thrown understood undertaken undone upheld upset withdrawn "
    "withheld won worn wound woven written"
).split()
_NOT_PARTICIPLES = "indeed need speed seed feed bed red shed embed exceed proceed succeed breed".split()
_PASSIVE = re.compile(
    r"\b(?P<be>am|is|are|was|were|be|been|being|isn't|aren't|wasn't|weren't)\s+"
    r"(?:(?:not|also|often|usually|then|now|typically|generally|rarely|always|never|only|\w+ly)\s+)?"
    r"(?P<verb>(?!(?:" + "|".join(_NOT_PARTICIPLES) + r")\b)\w{2,}ed|"
    + "|".join(_IRREGULAR_PARTICIPLES) + r")\b"
    r"(?P<agent>(?:\s+\w+){0,4}?\s+by\b)?",
    re.IGNORECASE,
)

# --- filler and wordy phrases ---------------------------------------------------------------

_FILLERS = {
    "in order to": "to",
    "in order for": "for",
    "it is important to note that": "(cut it; state the point)",
    "it should be noted that": "(cut it; state the point)",
    "it is worth noting that": "(cut it; state the point)",
    "it is worth mentioning that": "(cut it; state the point)",
    "note that": "(often unnecessary; state the point)",
    "due to the fact that": "because",
    "owing to the fact that": "because",
    "in light of the fact that": "because",
    "in spite of the fact that": "although",
    "despite the fact that": "although",
    "the fact that": "that (or rephrase)",
    "at this point in time": "now",
    "at the present time": "now",
    "in the event that": "if",
    "for the purpose of": "to / for",
    "with regard to": "about",
    "with respect to": "about / for",
    "in terms of": "in / for (or rephrase)",
    "a large number of": "many",
    "a majority of": "most",
    "a number of": "several / some",
    "has the ability to": "can",
    "have the ability to": "can",
    "is able to": "can",
    "are able to": "can",
    "in the case of": "for / in",
    "on a daily basis": "daily",
    "in a manner similar to": "like",
    "make use of": "use",
    "makes use of": "uses",
    "prior to": "before",
    "subsequent to": "after",
    "in close proximity to": "near",
    "basically": "(cut it)",
    "very": "(cut it or use a precise word)",
    "really": "(cut it)",
    "quite": "(cut it)",
    "actually": "(cut it)",
    "clearly": "(cut it: show why it is clear)",
    "obviously": "(cut it: what is obvious to you may not be to the reader)",
    "simply": "(cut it)",
    "utilize": "use",
    "utilizes": "uses",
    "utilized": "used",
    "utilizing": "using",
    "leverage": "use",
    "leverages": "uses",
}
_FILLER = re.compile(r"\b(?:" + "|".join(re.escape(p) for p in sorted(_FILLERS, key=len, reverse=True))
                     + r")\b", re.IGNORECASE)

# --- repetition -----------------------------------------------------------------------------

_WORD = re.compile(r"\w[\w'-]*")
_DOUBLED = re.compile(r"\b(\w+)\s+\1\b", re.IGNORECASE)
_COMMON = frozenset(
    "the a an and or but of to in on at by for with from as is are was were be been it its this that "
    "these those which who we our you your they their there here than then also not no can could "
    "would should will may might must has have had do does did so such each more most other into "
    "over under between about after before when where while if what how all any both one two".split()
)
_DOUBLE_OK = frozenset({"that", "had", "is", "very", "bye", "ha", "no"})  # "that that" can be grammatical

# --- peer-writing parts ---------------------------------------------------------------------

_EXAMPLE = re.compile(r"\b(?:for example|for instance|e\.g\.|such as|consider|example|suppose|imagine|"
                      r"let's say|say we|as an illustration|to illustrate)\b", re.IGNORECASE)
_FURTHER = re.compile(r"\b(?:further reading|future work|next steps|open questions|what'?s next|"
                      r"reading list|learn more|where to go from here|outlook)\b", re.IGNORECASE)
_INVITATION = re.compile(r"\b(?:let me know|let us know|questions|comments?|feedback|reach out|get in touch|"
                         r"i'?d love to hear|we'?d love to hear|write to|discuss|reply|tell me|tell us|"
                         r"open an issue|contact)\b", re.IGNORECASE)


@dataclass(frozen=True)
class StyleReport:
    """All style findings of a draft and their counts by kind."""

    findings: tuple[Finding, ...]

    def counts(self) -> dict[str, int]:
        return counts_by_kind(list(self.findings))

    def to_dict(self) -> dict:
        """Plain data for JSON output (the `style` key of `peerdraft check --json`)."""
        return {"findings": [asdict(f) for f in self.findings], "counts": self.counts()}

    def summary_lines(self) -> list[str]:
        """Human-readable lines for the CLI."""
        counts = ", ".join(f"{k} {v}" for k, v in sorted(self.counts().items())) or "none"
        return [f"Style: {len(self.findings)} findings ({counts})"]


def check_style(draft: str | ProseMap, limits: StyleLimits | None = None,
                split: tuple[Sentence, ...] | None = None) -> StyleReport:
    """The style report for a draft (see style_findings)."""
    return StyleReport(tuple(style_findings(draft, limits or DEFAULT_LIMITS, split)))


def style_findings(draft: str | ProseMap, limits: StyleLimits = DEFAULT_LIMITS,
                   split: tuple[Sentence, ...] | None = None) -> list[Finding]:
    """All style findings for a draft, sorted by offset in the draft."""
    mapped = draft if isinstance(draft, ProseMap) else prose_map(draft)
    split = sentences(mapped) if split is None else split
    found: list[Finding] = []
    found += passive_voice(mapped)
    found += long_sentences(mapped, split, limits)
    found += filler_phrases(mapped)
    found += repetitions(mapped, limits)
    found += long_paragraphs_and_sections(mapped, limits)
    found += heading_structure(mapped, limits)
    found += missing_peer_parts(mapped)
    found.sort(key=lambda f: (f.offset, f.kind))
    return found


def _finding(mapped: ProseMap, kind: str, start: int, end: int, message: str, severity: str = "info") -> Finding:
    offset, length = mapped.original_span(start, end)
    return Finding(kind, offset, length, message, severity)


def passive_voice(mapped: ProseMap) -> list[Finding]:
    """Be-verb + past participle; with an explicit 'by' agent the active rewrite is spelled out."""
    out = []
    for match in _PASSIVE.finditer(mapped.text):
        phrase = match.group(0) if match.group("agent") else mapped.text[match.start():match.end("verb")]
        if match.group("agent"):
            message = (f"Passive voice: '{phrase}'. The agent is named, so put it first: "
                       f"'<agent> {match.group('verb').lower()} ...'.")
        else:
            message = (f"Passive voice: '{phrase}'. Say who acts (we, the model, the authors) "
                       "and use the active verb, unless the actor truly does not matter.")
        out.append(_finding(mapped, "passive_voice", match.start(), match.start() + len(phrase), message))
    return out


def long_sentences(mapped: ProseMap, split: tuple[Sentence, ...], limits: StyleLimits = DEFAULT_LIMITS) -> list[Finding]:
    """Sentences past the word limit, with a suggestion where to split."""
    out = []
    text = mapped.text
    for sentence in split:
        words = len(_WORD.findall(text, sentence.start, sentence.end))
        if words < limits.long_sentence_words:
            continue
        very = words >= limits.very_long_sentence_words
        out.append(_finding(
            mapped, "long_sentence", sentence.start, sentence.end,
            f"{'Very long' if very else 'Long'} sentence ({words} words). Split it at a conjunction "
            "or semicolon, one idea per sentence.", "warning" if very else "info"))
    return out


def filler_phrases(mapped: ProseMap) -> list[Finding]:
    """Wordy or empty phrases, each with a shorter replacement."""
    out = []
    for match in _FILLER.finditer(mapped.text):
        phrase = match.group(0)
        fix = _FILLERS[phrase.lower()]
        out.append(_finding(mapped, "filler", match.start(), match.end(), f"Wordy: '{phrase}'. Use: {fix}."))
    return out


def repetitions(mapped: ProseMap, limits: StyleLimits = DEFAULT_LIMITS) -> list[Finding]:
    """Doubled words ('the the'), a content word repeated within a few words, and repeated 3-word phrases."""
    out = []
    text = mapped.text
    for match in _DOUBLED.finditer(text):
        word = match.group(1).lower()
        if word in _DOUBLE_OK or word.isdigit():
            continue
        out.append(_finding(mapped, "repetition", match.start(), match.end(),
                            f"Doubled word: '{match.group(0)}'. Delete one.", "warning"))
    for block in mapped.blocks:
        tokens = [(m.group(0).lower(), m.start(), m.end()) for m in _WORD.finditer(text, block.start, block.end)]
        last_seen: dict[str, int] = {}
        phrases: dict[tuple[str, str, str], int] = {}
        for n, (word, start, end) in enumerate(tokens):
            if len(word) >= 5 and word not in _COMMON:
                prev = last_seen.get(word)
                if prev is not None and 1 < n - prev <= limits.repeat_window_words:
                    out.append(_finding(mapped, "repetition", tokens[prev][1], end,
                                        f"'{word}' twice within {n - prev} words. Use a pronoun "
                                        "or rephrase, unless it is a term that must stay exact."))
                last_seen[word] = n
            if n >= 2:
                key = (tokens[n - 2][0], tokens[n - 1][0], word)
                if sum(w not in _COMMON for w in key) >= 2:
                    prev = phrases.get(key)
                    if prev is not None and 3 <= n - prev <= limits.repeat_phrase_window_words:
                        out.append(_finding(mapped, "repetition", tokens[n - 2][1], end,
                                            f"The phrase '{' '.join(key)}' repeats within {n - prev} words. "
                                            "Say it once, or vary the second mention."))
                    phrases[key] = n
    return out


def long_paragraphs_and_sections(mapped: ProseMap, limits: StyleLimits = DEFAULT_LIMITS) -> list[Finding]:
    """Paragraphs and sections far longer than the draft's median."""
    out = []
    text = mapped.text
    block_words = [len(text[b.start:b.end].split()) for b in mapped.blocks]
    if block_words:
        typical = median(block_words)
        for block, words in zip(mapped.blocks, block_words):
            if words >= limits.long_paragraph_words and words > limits.outlier_factor * typical:
                out.append(_finding(mapped, "long_paragraph", block.start, block.end,
                                    f"Paragraph of {words} words, {words / typical:.1f}x the draft's median "
                                    f"({typical:.0f}). Split it where the topic shifts."))
    section_words = [len(text[s.text_start:s.text_end].split()) for s in mapped.sections]
    if len(section_words) >= 3:
        typical = median(section_words) or 1
        for span, words in zip(mapped.sections, section_words):
            if words >= limits.long_section_words and words > limits.outlier_factor * typical:
                end = span.heading.offset + span.heading.length if span.heading else span.offset
                out.append(Finding("long_section", span.offset, end - span.offset,
                                   f"Section '{span.title}' has {words} words, {words / typical:.1f}x the median "
                                   f"section ({typical:.0f}). Split it with sub-headings or move detail out.",
                                   "info"))
    return out


def heading_structure(mapped: ProseMap, limits: StyleLimits = DEFAULT_LIMITS) -> list[Finding]:
    """Skipped heading levels and long stretches of prose without any heading."""
    out = []
    previous = 0
    for heading in mapped.headings:
        if previous and heading.level > previous + 1:
            out.append(Finding("heading_skip", heading.offset, heading.length,
                               f"Heading level jumps from {previous} to {heading.level}. "
                               f"Use level {previous + 1} here so the outline nests.", "warning"))
        previous = heading.level
    text = mapped.text
    for span in mapped.sections:
        words = len(text[span.text_start:span.text_end].split())
        if words >= limits.text_without_heading_words and span.heading is None:
            out.append(Finding("missing_heading", span.offset, 0,
                               f"{words} words without any heading. Add a title and section headings "
                               "so readers can skim.", "warning"))
    return out


def missing_peer_parts(mapped: ProseMap) -> list[Finding]:
    """Document-level findings for a missing example, further-reading section or invitation to reply."""
    out = []
    prose = mapped.text
    titles = " \n".join(h.text for h in mapped.headings)
    has_code = any(e.kind == "code" for e in mapped.excluded)
    if not (_EXAMPLE.search(prose) or _EXAMPLE.search(titles) or has_code):
        out.append(Finding("missing_example", 0, 0,
                           "No concrete example found. Add one worked case (numbers, a snippet, a query) "
                           "introduced with 'for example' so peers can check their understanding.", "warning"))
    if not _FURTHER.search(titles):
        out.append(Finding("missing_further_reading", 0, 0,
                           "No 'Further reading' or 'Future work' section. Add one that points peers "
                           "to the next papers or open questions."))
    tail = prose[-1500:]
    if not _INVITATION.search(tail):
        out.append(Finding("missing_invitation", 0, 0,
                           "No invitation to respond. End with a line asking for questions, comments "
                           "or counter-examples, and say where to send them."))
    return out


def counts_by_kind(findings: list[Finding]) -> dict[str, int]:
    """How many findings of each kind (for the sidebar)."""
    counts: dict[str, int] = {}
    for f in findings:
        counts[f.kind] = counts.get(f.kind, 0) + 1
    return counts
