"""Bias and safety: loaded or non-inclusive wording from a documented lexicon, and personal data in the draft.

The lexicon is engine/data/bias_lexicon.json (its `about` field says where the ideas come
from and how to read a hit). Personal data: e-mail addresses and phone numbers, found with
patterns strict enough to skip years, version numbers and figures such as "1,000,000".
Code blocks are checked too: a real address in sample code leaks as much as one in prose.
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass
from functools import lru_cache
from pathlib import Path

LEXICON_PATH = Path(__file__).resolve().parents[1] / "data" / "bias_lexicon.json"

_EMAIL = re.compile(r"(?<![\w.+-])[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}\b")
# +CC, optional area code in parentheses, then groups of digits separated by space, dot or dash.
_PHONE = re.compile(r"(?<![\w.+-])(?:\+\d{1,3}[ .-]?)?(?:\(\d{1,4}\)[ .-]?)?\d{2,4}(?:[ .-]\d{2,4}){2,4}(?![\w.-]?\d)")
_EXAMPLE_DOMAINS = ("example.com", "example.org", "example.net")


@dataclass(frozen=True)
class LexiconEntry:
    """One pattern of the lexicon with its category, alternatives and the reason it is flagged."""

    pattern: str
    category: str
    alternatives: tuple[str, ...]
    why: str


@dataclass(frozen=True)
class BiasHit:
    """One flagged span: what matched, where, and what to write instead."""

    kind: str  # lexicon category, or 'email' / 'phone' for personal data
    offset: int
    length: int
    text: str
    message: str
    alternatives: tuple[str, ...] = ()


@dataclass(frozen=True)
class BiasMeasure:
    """Lexicon hits and personal data found in the draft."""

    terms: tuple[BiasHit, ...]
    personal_data: tuple[BiasHit, ...]

    def to_dict(self) -> dict:
        return asdict(self)


@lru_cache(maxsize=4)
def load_lexicon(path: Path = LEXICON_PATH) -> tuple[LexiconEntry, ...]:
    """The lexicon's entries (validated: every pattern compiles)."""
    data = json.loads(Path(path).read_text(encoding="utf-8"))
    entries = tuple(LexiconEntry(e["pattern"], e["category"], tuple(e["alternatives"]), e["why"])
                    for e in data["entries"])
    for entry in entries:
        re.compile(entry.pattern)
    return entries


def lexicon_hits(markdown: str, entries: tuple[LexiconEntry, ...] | None = None) -> list[BiasHit]:
    """Every lexicon match in `markdown`, in order; overlapping matches keep the first (longest) one."""
    hits: list[BiasHit] = []
    for entry in entries if entries is not None else load_lexicon():
        for m in re.finditer(entry.pattern, markdown, re.IGNORECASE):
            hits.append(BiasHit(entry.category, m.start(), m.end() - m.start(), m.group(),
                                f"'{m.group()}': {entry.why} Try: {', '.join(entry.alternatives)}.",
                                entry.alternatives))
    hits.sort(key=lambda h: (h.offset, -h.length))
    kept: list[BiasHit] = []
    for hit in hits:
        if kept and hit.offset < kept[-1].offset + kept[-1].length:
            continue
        kept.append(hit)
    return kept


def personal_data(markdown: str) -> list[BiasHit]:
    """E-mail addresses (except example.* domains) and phone numbers in `markdown`."""
    found: list[BiasHit] = []
    for m in _EMAIL.finditer(markdown):
        if m.group().lower().endswith(_EXAMPLE_DOMAINS):
            continue
        found.append(BiasHit("email", m.start(), len(m.group()), m.group(),
                             "An e-mail address: remove it or use name@example.com unless it is meant to be public."))
    for m in _PHONE.finditer(markdown):
        digits = re.sub(r"\D", "", m.group())
        if not 9 <= len(digits) <= 15 or any(e.offset <= m.start() < e.offset + e.length for e in found):
            continue
        found.append(BiasHit("phone", m.start(), len(m.group()), m.group(),
                             "Looks like a phone number: remove it unless it is meant to be public."))
    found.sort(key=lambda h: h.offset)
    return found


def measure_bias(markdown: str) -> BiasMeasure:
    """Lexicon hits and personal data of the draft."""
    return BiasMeasure(tuple(lexicon_hits(markdown)), tuple(personal_data(markdown)))
