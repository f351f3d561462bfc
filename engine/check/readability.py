"""Readability scores for a draft, its sections and its sentences, against an audience's target band.

The scores are textstat 0.7.13's formulas (Flesch reading ease, Flesch-Kincaid grade, Gunning
fog, SMOG, Coleman-Liau, Dale-Chall, reading time) with textstat's own counting rules: the
same word split, the same CMU dictionary (built by engine.textstat_data) with pyphen for
unknown words, the same easy-word list and sentence rule. We count once per sentence and sum
the counts for sections and the whole draft, so per-section and per-sentence scores cost
nothing extra; calling textstat on every section and sentence would cost several times its
whole-draft time. tests/test_readability.py pins the agreement with textstat itself, and
`textstat_scores` calls textstat directly for comparison.

Scores are computed on `ProseMap.text`: code, URLs, citations, tables and math are excluded.
"""

from __future__ import annotations

import importlib.util
import re
from dataclasses import asdict, dataclass, field
from functools import lru_cache
from pathlib import Path

from engine.errors import ConfigError
from engine.markup import ProseMap, Sentence, prose_map, sentences
from engine.textstat_data import CORPUS_FILE, ensure_cmudict

MS_PER_CHAR = 14.69  # textstat's default reading speed


@dataclass(frozen=True)
class TargetBand:
    """The Flesch-Kincaid grade range a section should fall in for one audience."""

    audience: str
    min_grade: float
    max_grade: float

    def place(self, grade: float) -> str:
        """'below', 'in' or 'above' the band."""
        if grade < self.min_grade:
            return "below"
        return "above" if grade > self.max_grade else "in"


# Defaults for technical ML writing. General-audience advice (Hemingway: grade 9 or lower)
# does not fit: unavoidable terms such as "regularization" or "transformer" add about two
# grades to any sentence that uses them. Research papers typically score FK 14-18; a peer
# article should read easier than the papers it explains, practitioners skim for how-to,
# and students need shorter sentences while they learn the vocabulary.
AUDIENCE_BANDS = {
    "peer researchers": TargetBand("peer researchers", 11.0, 15.0),
    "practitioners": TargetBand("practitioners", 9.0, 13.0),
    "students": TargetBand("students", 8.0, 12.0),
}
DEFAULT_AUDIENCE = "peer researchers"


@dataclass(frozen=True)
class SentenceLevels:
    """Per-sentence Flesch-Kincaid grade thresholds for the Hemingway-style colours."""

    hard: float = 14.0
    very_hard: float = 18.0
    min_words: int = 8  # shorter sentences are always "ok": FK on a handful of words is noise

    def level(self, grade: float, words: int) -> str:
        """'ok', 'hard' or 'very hard'."""
        if words < self.min_words or grade < self.hard:
            return "ok"
        return "very hard" if grade >= self.very_hard else "hard"


# Hemingway marks grade >= 10 hard and >= 14 very hard for general prose. Technical prose
# sits about four grades higher for the same effort (see AUDIENCE_BANDS), so we shift both
# thresholds by four: a sentence is hard at grade 14 and very hard at 18, the level where
# even specialists re-read.
DEFAULT_LEVELS = SentenceLevels()


@dataclass(frozen=True)
class Scores:
    """textstat's readability scores for one span of prose, with the counts behind them."""

    flesch_reading_ease: float
    flesch_kincaid_grade: float
    gunning_fog: float
    smog_index: float
    coleman_liau_index: float
    dale_chall_readability_score: float
    reading_time_s: float
    words: int
    sentences: int


@dataclass(frozen=True)
class SectionReadability:
    """One section's scores and where its grade falls against the target band."""

    title: str
    level: int  # heading level; 0 for text before the first heading
    offset: int
    length: int
    scores: Scores
    placement: str  # below | in | above | empty


@dataclass(frozen=True)
class SentenceReadability:
    """One sentence's span in the draft, its grade and its level (ok / hard / very hard)."""

    offset: int
    length: int
    words: int
    grade: float
    level: str


@dataclass(frozen=True)
class Readability:
    """Scores for the whole draft, each section and each sentence, plus notes for the reader."""

    overall: Scores
    target: TargetBand
    sections: tuple[SectionReadability, ...]
    sentences: tuple[SentenceReadability, ...]
    excluded: dict[str, int] = field(default_factory=dict)  # kind -> how many spans left out
    notes: tuple[str, ...] = ()

    def to_dict(self) -> dict:
        """Plain data for JSON output (the `readability` key of `peerdraft check --json`)."""
        data = asdict(self)
        data["target"]["metric"] = "flesch_kincaid_grade"
        data["levels"] = asdict(DEFAULT_LEVELS)
        return data

    def summary_lines(self) -> list[str]:
        """Human-readable lines for the CLI."""
        o, band = self.overall, self.target
        lines = [f"Readability: FK grade {o.flesch_kincaid_grade:.1f}, Flesch ease {o.flesch_reading_ease:.0f}, "
                 f"{o.words} words, {o.reading_time_s / 60:.1f} min read; target for {band.audience}: "
                 f"grade {band.min_grade:g}-{band.max_grade:g}."]
        for s in self.sections:
            if s.placement != "empty":
                lines.append(f"  {s.title}: grade {s.scores.flesch_kincaid_grade:.1f} ({s.placement} band)")
        hard = sum(1 for s in self.sentences if s.level == "hard")
        very = sum(1 for s in self.sentences if s.level == "very hard")
        lines.append(f"  sentences: {len(self.sentences)}, hard {hard}, very hard {very}")
        lines += [f"  note: {n}" for n in self.notes]
        return lines


def target_band(audience: str | TargetBand = DEFAULT_AUDIENCE, min_grade: float | None = None,
                max_grade: float | None = None) -> TargetBand:
    """A default band by audience name, optionally with edited limits."""
    if isinstance(audience, TargetBand):
        band = audience
    else:
        key = audience.strip().lower()
        if key not in AUDIENCE_BANDS:
            raise ConfigError(f"Unknown audience {audience!r} for the readability target.",
                              f"Use one of: {', '.join(AUDIENCE_BANDS)}, or give min and max grades.")
        band = AUDIENCE_BANDS[key]
    low = band.min_grade if min_grade is None else float(min_grade)
    high = band.max_grade if max_grade is None else float(max_grade)
    if low > high:
        raise ConfigError(f"The target band's minimum grade {low} is above its maximum {high}.",
                          "Swap the two values.")
    return TargetBand(band.audience, low, high)


# --- counting, as textstat does it -------------------------------------------------------

_NONCONTRACTION_APOSTROPHE = re.compile(r"'(?![tsd]|ve|ll|re)")
_PUNCTUATION = re.compile(r"[^\w\s']")
_WHITESPACE = re.compile(r"\s")
_TEXTSTAT_SENTENCE = re.compile(r"\b[^.!?]+[.!?]*")


@dataclass
class _Counts:
    words: int = 0
    syllables: int = 0
    letters: int = 0
    chars: int = 0
    poly: int = 0  # 3+ syllables
    hard3: int = 0  # not an easy word and 3+ syllables (Gunning fog)
    hard: int = 0  # not an easy word (Dale-Chall)
    known: int = 0  # found in the CMU dictionary (an English-language signal)

    def add(self, other: "_Counts") -> None:
        self.words += other.words
        self.syllables += other.syllables
        self.letters += other.letters
        self.chars += other.chars
        self.poly += other.poly
        self.hard3 += other.hard3
        self.hard += other.hard
        self.known += other.known


class _Lexicon:
    """Syllable counts (CMU dictionary, pyphen fallback) and Dale-Chall easy words, loaded once."""

    def __init__(self) -> None:
        root = ensure_cmudict()
        self.cmu: dict[str, int] = _load_cmu(root / CORPUS_FILE)
        self.easy: frozenset[str] = _load_easy_words()
        self.guessed: dict[str, int] = {}
        import pyphen  # textstat's fallback for words not in the dictionary

        self._pyphen = pyphen.Pyphen(lang="en_US")

    def guess(self, word: str) -> int:
        """Syllables of a word missing from the CMU dictionary, as textstat counts them (pyphen)."""
        count = self.guessed.get(word)
        if count is None:
            count = len(self._pyphen.positions(word)) + 1
            if len(self.guessed) < 200_000:
                self.guessed[word] = count
        return count


@lru_cache(maxsize=4)
def _load_cmu(path: Path) -> dict[str, int]:
    counts: dict[str, int] = {}
    with open(path, encoding="utf-8") as lines:
        for line in lines:
            word, variant, phones = line.split(" ", 2)
            if variant == "1":  # textstat uses the first pronunciation
                counts[word.lower()] = phones.count("0") + phones.count("1") + phones.count("2")
    return counts


def _load_easy_words() -> frozenset[str]:
    # Located without importing textstat: its import pulls in NLTK, which takes seconds.
    spec = importlib.util.find_spec("textstat")
    if spec is None or not spec.submodule_search_locations:
        raise ConfigError("textstat is not installed.", "Run scripts/setup.sh or `pip install textstat`.")
    path = Path(list(spec.submodule_search_locations)[0]) / "resources" / "en" / "easy_words.txt"
    with open(path, encoding="utf-8") as lines:
        return frozenset(line.strip() for line in lines)


@lru_cache(maxsize=1)
def _lexicon() -> _Lexicon:
    return _Lexicon()


def _count(text: str, lexicon: _Lexicon) -> _Counts:
    # The hot loop of every check run: locals instead of attribute look-ups.
    words = _PUNCTUATION.sub("", _NONCONTRACTION_APOSTROPHE.sub("", text)).split()
    cmu_get, easy, guess = lexicon.cmu.get, lexicon.easy, lexicon.guess
    syllables = known = poly = hard = hard3 = 0
    for word in words:
        lower = word.lower()
        n = cmu_get(lower)
        if n is None:
            n = guess(lower)
        else:
            known += 1
        syllables += n
        if n >= 3:
            poly += 1
            if lower not in easy:
                hard += 1
                hard3 += 1
        elif lower not in easy:
            hard += 1
    joined = "".join(words)
    chars = len(text) - len(_WHITESPACE.findall(text))
    return _Counts(len(words), syllables, len(joined) - joined.count("'"), chars, poly, hard3, hard, known)


def _textstat_sentence_count(text: str) -> int:
    if not text:
        return 0
    fragments = _TEXTSTAT_SENTENCE.findall(text)
    short = sum(1 for f in fragments if len(_PUNCTUATION.sub("", _NONCONTRACTION_APOSTROPHE.sub("", f)).split()) <= 2)
    return max(1, len(fragments) - short)


def _scores(c: _Counts, n_sentences: int) -> Scores:
    words_per_sentence = c.words / n_sentences if n_sentences else 0.0
    syllables_per_word = c.syllables / c.words if c.words else 0.0
    if words_per_sentence == 0 or syllables_per_word == 0:
        ease = grade = 0.0
    else:
        ease = 206.835 - 1.015 * words_per_sentence - 84.6 * syllables_per_word
        grade = 0.39 * words_per_sentence + 11.8 * syllables_per_word - 15.59
    fog = 0.4 * (words_per_sentence + 100 * c.hard3 / c.words) if c.words else 0.0
    smog = 1.043 * (30 * c.poly / n_sentences) ** 0.5 + 3.1291 if n_sentences else 0.0
    letters = 100 * c.letters / c.words if c.words else 0.0
    per_100_sentences = 100 * n_sentences / c.words if c.words else 0.0
    coleman = 0.058 * letters - 0.296 * per_100_sentences - 15.8 if letters and per_100_sentences else 0.0
    if c.words:
        hard_pct = 100 * c.hard / c.words
        dale = 0.1579 * hard_pct + 0.0496 * words_per_sentence + (3.6365 if hard_pct > 5 else 0.0)
    else:
        dale = 0.0
    return Scores(ease, grade, fog, smog, coleman, dale, MS_PER_CHAR * c.chars / 1000, c.words, n_sentences)


def sentence_grade(words: int, syllables: int) -> float:
    """Flesch-Kincaid grade of one sentence (textstat's formula with one sentence)."""
    if not words or not syllables:
        return 0.0
    return 0.39 * words + 11.8 * syllables / words - 15.59


# --- the check ---------------------------------------------------------------------------

def readability(draft: str | ProseMap, target: TargetBand | str = DEFAULT_AUDIENCE,
                levels: SentenceLevels = DEFAULT_LEVELS,
                split: tuple[Sentence, ...] | None = None) -> Readability:
    """Scores for the draft, each section and each sentence, placed against the target band."""
    mapped = draft if isinstance(draft, ProseMap) else prose_map(draft)
    band = target if isinstance(target, TargetBand) else target_band(target)
    lexicon = _lexicon()
    text = mapped.text
    split = sentences(mapped) if split is None else split

    per_section = [_Counts() for _ in mapped.sections]
    rows: list[SentenceReadability] = []
    for sentence in split:
        counts = _count(text[sentence.start:sentence.end], lexicon)
        per_section[sentence.section].add(counts)
        grade = sentence_grade(counts.words, counts.syllables)
        offset, length = mapped.original_span(sentence.start, sentence.end)
        rows.append(SentenceReadability(offset, length, counts.words, round(grade, 2),
                                        levels.level(grade, counts.words)))

    total = _Counts()
    sections = []
    for span, counts in zip(mapped.sections, per_section):
        total.add(counts)
        scores = _scores(counts, _textstat_sentence_count(text[span.text_start:span.text_end]))
        placement = band.place(scores.flesch_kincaid_grade) if counts.words else "empty"
        sections.append(SectionReadability(span.title, span.heading.level if span.heading else 0,
                                           span.offset, span.end - span.offset, scores, placement))
    overall = _scores(total, _textstat_sentence_count(text))

    excluded: dict[str, int] = {}
    for item in mapped.excluded:
        excluded[item.kind] = excluded.get(item.kind, 0) + 1
    return Readability(overall, band, tuple(sections), tuple(rows), excluded, _notes(mapped, total))


def _notes(mapped: ProseMap, total: _Counts) -> tuple[str, ...]:
    notes = []
    if total.words == 0:
        notes.append("No prose to score: the draft is empty or holds only code, tables, math or headings.")
    elif total.words >= 20 and total.known / total.words < 0.5:
        notes.append(f"Only {100 * total.known / total.words:.0f}% of the words are in the English dictionary: "
                     "the readability formulas are calibrated for English, so treat these scores as rough.")
    elif total.words < 100:
        notes.append(f"Only {total.words} words of prose: scores on short texts swing widely.")
    if mapped.excluded:
        notes.append("Code, inline code, URLs, citations, tables, math and HTML are left out of the scores.")
    return tuple(notes)


def textstat_scores(text: str) -> Scores:
    """The same scores computed by textstat itself (slower; for comparison and tests)."""
    ensure_cmudict()
    import textstat  # imports NLTK: seconds on first use

    return Scores(
        textstat.flesch_reading_ease(text), textstat.flesch_kincaid_grade(text), textstat.gunning_fog(text),
        textstat.smog_index(text), textstat.coleman_liau_index(text),
        textstat.dale_chall_readability_score(text), textstat.reading_time(text),
        textstat.lexicon_count(text), textstat.sentence_count(text),
    )
