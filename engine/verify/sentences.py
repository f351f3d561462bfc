"""Which sentences are quotable prose, for evidence; the splitter and citation parsing live in `engine.markup`."""

from __future__ import annotations

import re

from engine.markup import LIST_MARKER, REFERENCE_ENTRY
# verify/report.py and older callers import these names from here; their home is engine.markup.
from engine.markup import SentenceSpan, citations_in, split_sentences, strip_citations  # noqa: F401


# Quotable prose (strict mode's last resort) needs a finite verb outside parentheses: "Billion-scale
# similarity search with GPUs (FAISS, used for the index)" is a title with a gloss, not a statement.
_FINITE_VERB = re.compile(
    r"\b(?:is|are|was|were|has|have|had|does|do|did|can|cannot|could|will|would|may|might|must|should|shall|"
    r"uses?|makes?|gives?|takes?|keeps?|runs?|needs?|learns?|shows?|trains?|maps?|adds?|cuts?|fits?|sets?|gets?|"
    r"lets?|puts?|finds?|holds?|reads?|sends?|builds?|splits?|drops?|stays?|works?|beats?|helps?|scores?|"
    r"reaches?|matches?|[a-z]{3,}(?:ed|es|izes|ises))\b", re.I)
_PARENTHETICAL = re.compile(r"\([^()]*\)|\[[^\[\]]*\]")
_CAPTION = re.compile(r"^\s*(?:fig(?:ure)?\.?|table|tab\.|algorithm|listing|equation|eq\.)\s*[\dA-Z]", re.I)
_BIBLIOGRAPHIC = re.compile(r"\bet al\.,?\s*\(?(?:19|20)\d\d|\b(?:In )?Proceedings of\b|\barXiv:\d|\bpp\. \d", re.I)
QUOTE_MIN_WORDS = 8


def quotable_prose(sentence: str) -> bool:
    """True for a complete prose sentence that may be quoted as evidence.

    Never a list item, heading, table row, caption, reference entry, 'Title (gloss)' fragment or any
    other line without a finite verb outside its parentheses, and never a fragment without end punctuation.
    """
    text = sentence.strip()
    if not text or text[0] in "#-*+>|•" or "|" in text or LIST_MARKER.match(text) or REFERENCE_ENTRY.match(text):
        return False
    if text[-1] not in ".!?" or _CAPTION.match(text) or _BIBLIOGRAPHIC.search(text) or "\n" in text.strip():
        return False
    return len(_PARENTHETICAL.sub(" ", text).split()) >= QUOTE_MIN_WORDS and states_something(text)


def states_something(text: str) -> bool:
    """True when `text` has a finite verb outside its parentheses (a statement, not a title or a list of names)."""
    return bool(_FINITE_VERB.search(_PARENTHETICAL.sub(" ", text)))
