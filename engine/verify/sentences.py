"""Which sentences are quotable prose, for evidence; the splitter and citation parsing live in `engine.markup`."""

from __future__ import annotations

import functools
import re

from engine.markup import LIST_MARKER, REFERENCE_ENTRY
# verify/report.py and older callers import these names from here; their home is engine.markup.
from engine.markup import SentenceSpan, citations_in, split_sentences, strip_citations  # noqa: F401


# Quotable prose (strict mode's last resort) needs a finite verb outside parentheses: "Billion-scale
# similarity search with GPUs (FAISS, used for the index)" is a title with a gloss, not a statement.
_AUXILIARY = re.compile(
    r"\b(?:is|are|was|were|has|have|had|does|do|did|can|cannot|could|will|would|may|might|must|should|shall|"
    r"isn't|aren't|wasn't|weren't|doesn't|don't|didn't|can't|won't|'s|'re)\b", re.I)
_PARENTHETICAL = re.compile(r"\([^()]*\)|\[[^\[\]]*\]")
_CAPTION = re.compile(r"^\s*(?:fig(?:ure)?\.?|table|tab\.|algorithm|listing|equation|eq\.)\s*[\dA-Z]", re.I)
_BIBLIOGRAPHIC = re.compile(r"\bet al\.,?\s*\(?(?:19|20)\d\d|\b(?:In )?Proceedings of\b|\barXiv:\d|\bpp\. \d", re.I)
QUOTE_MIN_WORDS = 8


def quotable_prose(sentence: str) -> bool:
    """True for a complete prose sentence that may be quoted as evidence.

    Never a list item, heading, table row, caption, reference entry, 'Title (gloss)' fragment or any
    other line without a finite verb outside its parentheses, never a fragment without end punctuation, and never
    one that does not start a sentence ("are comparably good or better than ...": session 18's ResNet draft quoted
    the middle of a PDF sentence cut at a line break).
    """
    text = sentence.strip()
    if not text or text[0] in "#-*+>|•" or "|" in text or LIST_MARKER.match(text) or REFERENCE_ENTRY.match(text):
        return False
    starts = text.lstrip("*_“\"'(")[:1]
    if not (starts.isupper() or starts.isdigit()):
        return False
    if text[-1] not in ".!?" or _CAPTION.match(text) or _BIBLIOGRAPHIC.search(text) or "\n" in text.strip():
        return False
    return len(_PARENTHETICAL.sub(" ", text).split()) >= QUOTE_MIN_WORDS and states_something(text) \
        and not garbled_math(text)


_WORD = re.compile(r"[A-Za-z][A-Za-z'\-]*")
# Subjects after which a verb's base form is finite ("we train", "they form", "these capture").
_PLURAL_SUBJECTS = frozenset({"we", "they", "you", "i", "these", "those", "both", "many", "others", "which", "who"})
_PRONOUN_SUBJECTS = _PLURAL_SUBJECTS | {"it", "this", "that", "he", "she", "one"}


def states_something(text: str) -> bool:
    """True when `text` has a finite verb outside its parentheses (a statement, not a title or a list of names).

    An auxiliary or modal counts; any other word counts when the English lexicon (lemminflect) knows it as a
    verb in a finite form: '-s' or past ('commits', 'ran'), or a base form after a plural subject ('the
    wavelengths form', 'we ran'). A word that is also a noun counts only when more follows it: "Hard targets
    [1]." and "Investigating the impact of preprocessing on ROUGE scores." are no statements."""
    words = _WORD.findall(_PARENTHETICAL.sub(" ", text))
    if _AUXILIARY.search(" ".join(words)):
        return True
    return any(_finite_at(words, i) for i in range(1, len(words)))


def is_fragment(sentence: str) -> bool:
    """A piece of text that is neither a statement nor a question: debris in a draft ("Hard targets [1].")."""
    return not states_something(sentence) and not sentence.rstrip().endswith("?")


# PDF math that lost its layout: sub- and superscripts torn off ("q i=1 i k i", "variance d k") or a function's
# letter gone ("mapping as (x), ... H of (x):= (x) x"). Written math keeps its operators ("B is d x r", "k = 5").
_LONE_LETTER = re.compile(r"^[b-wyzB-HJ-WYZ]$")
_BARE_ARGUMENT = re.compile(r"(?:^|\s)\(\w\)(?=[\s,.;:=+\-]|$)")
# A root sign its radicand was torn from ("scale the dot products by √ 1 dk"): written math has "√d" or "sqrt(d)".
_TORN_ROOT = re.compile(r"√\s")


def garbled_math(sentence: str) -> bool:
    """True for a sentence whose math a PDF's text layer scrambled: a pair of adjacent lone letters ("divide
    each by d k"), an argument in parentheses without its function ("(x)+x"), or a root sign torn from its
    radicand. A reader cannot use it, and the model copies it: session 8's drafts kept all three."""
    tokens = [t.strip(",.;:") for t in strip_citations(sentence).split()]
    pairs = sum(1 for a, b in zip(tokens, tokens[1:]) if _LONE_LETTER.match(a) and _LONE_LETTER.match(b))
    return pairs >= 1 or bool(_BARE_ARGUMENT.search(sentence) or _TORN_ROOT.search(sentence))


def _finite_at(words: list[str], i: int) -> bool:
    finite, base, noun = _verb_form(words[i].lower())
    previous = words[i - 1].lower()
    if not (finite or base) or (noun and i == len(words) - 1 and previous not in _PRONOUN_SUBJECTS):
        return False  # "Hard targets", "Main results": a noun phrase, not a clause ("It works." is one)
    return finite or previous in _PLURAL_SUBJECTS or (len(previous) > 3 and previous.endswith("s")
                                                     and not previous.endswith("ss"))


@functools.lru_cache(maxsize=8192)
def _verb_form(word: str) -> tuple[bool, bool, bool]:
    """What the English lexicon (lemminflect, loaded on first use in ~0.2 s) says of a word form: (a finite verb
    form: '-s' or past, a verb's base form, also a noun)."""
    from lemminflect import getAllLemmas, getInflection

    lemmas = getAllLemmas(word)
    verbs = lemmas.get("VERB", ())
    finite = any(word in getInflection(lemma, "VBZ") or word in getInflection(lemma, "VBD") for lemma in verbs)
    return finite, word in verbs, "NOUN" in lemmas
