"""Cheap text signals for support checking: content words, numbers, named entities, polarity."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

_STOPWORDS = frozenset("""
a about above after again against all also am an and any are as at be because been before being below
between both but by can could did do does doing down during each few for from further had has have having
he her here hers him his how i if in into is it its itself just let me more most my no nor not now of off
on once only or other our ours out over own same she should so some such than that the their theirs them
then there these they this those through to too under until up very was we were what when where which
while who whom why will with would you your yours one two may might must shall us via per use used using
uses based well many much often thus hence however therefore whereas although though since within without
across among along around toward towards upon onto yet even still rather instead either neither
""".split())
_NEGATIONS = re.compile(r"\b(not|no|never|none|neither|nor|without|cannot|can't|won't|doesn't|don't|"
                        r"isn't|aren't|wasn't|weren't|didn't|unable|fails?|failed|lacks?|lacking)\b|n't\b",
                        re.I)
# Pairs where swapping one word for the other inverts a claim while leaving its embedding close.
_ANTONYMS = (("increas", "decreas"), ("increas", "reduc"), ("higher", "lower"), ("more", "fewer"),
             ("more", "less"), ("faster", "slower"), ("larger", "smaller"), ("better", "worse"),
             ("improv", "degrad"), ("improv", "hurt"), ("outperform", "underperform"), ("above", "below"),
             ("encoder", "decoder"), ("supervis", "unsupervis"), ("exact", "approximat"),
             ("spars", "dens"), ("linear", "quadratic"), ("bigger", "smaller"), ("longer", "shorter"),
             ("maximiz", "minimiz"),
             ("earlier", "later"), ("most", "least"), ("best", "worst"), ("lossless", "lossy"))
_WORD = re.compile(r"[A-Za-z][A-Za-z0-9]*(?:['\u2019-][A-Za-z0-9]+)*")
_NAME_TOKEN = re.compile(r"[A-Za-z0-9]+(?:[-'\u2019.][A-Za-z0-9]+)*")
_SCALES = {"k": 1e3, "thousand": 1e3, "m": 1e6, "million": 1e6, "mn": 1e6, "b": 1e9, "bn": 1e9,
           "billion": 1e9, "t": 1e12, "trillion": 1e12, "hundred": 1e2}
_NUMBER_WORDS = {"zero": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
                 "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "fifteen": 15, "twenty": 20,
                 "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "hundred": 100, "thousand": 1000,
                 "twice": 2, "thrice": 3, "half": 0.5, "dozen": 12, "hundredfold": 100}
# Number words a sentence may state as a claim ("five variants"); "one" and "half" are too idiomatic.
_CLAIM_WORDS = frozenset(_NUMBER_WORDS) - {"zero", "one", "half", "dozen", "hundred", "thousand"}
# Units that change what a number means ("35 minutes" is not "35 seconds").
_UNIT = re.compile(r"\s?(milliseconds?|ms|seconds?|secs?|minutes?|mins?|hours?|hrs?|days?|weeks?|months?|years?|"
                   r"[KMGT]i?B)\b")
_UNIT_NAMES = {"ms": "millisecond", "sec": "second", "min": "minute", "hr": "hour"}
_DIGIT_NUMBER = re.compile(
    r"(?<![\w.\-/])(\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?)"
    r"(?:\s?(%|percent\b|per cent\b|percentage points?\b|×|x\b|times\b|fold\b|"
    r"k\b|K\b|M\b|B\b|T\b|bn\b|thousand\b|million\b|billion\b|trillion\b))?(?![\w.]\d)",
)
_WORD_NUMBER = re.compile(r"(?<!-)\b(" + "|".join(_NUMBER_WORDS) + r")(?:\s+(thousand|million|billion|trillion))?\b",
                          re.I)


@dataclass(frozen=True)
class Number:
    """A number as written in the text, its value, and its precision (decimal places written)."""

    text: str
    value: float
    decimals: int
    scale: float = 1.0
    percent: bool = False
    unit: str = ""


def stem(word: str) -> str:
    """A crude English stem so 'trains', 'training' and 'trained' compare equal."""
    word = word.lower().replace("\u2019", "'")
    if word.endswith("'s"):
        word = word[:-2]
    for suffix in ("ations", "ation", "ings", "ing", "edly", "ed", "ies", "es", "s", "ly"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            word = word[: -len(suffix)]
            if suffix == "ies":
                word += "y"
            break
    return word.rstrip("e") if len(word) > 4 else word


def content_stems(text: str) -> set[str]:
    """Stems of the non-stopword words of `text` (plus digits-bearing tokens)."""
    return {stem(w) for w in _WORD.findall(text) if w.lower() not in _STOPWORDS and len(w) > 2}


def content_words(text: str) -> list[str]:
    """The non-stopword words of `text` in order, each once (the words `content_stems` stems)."""
    words = [w for w in _WORD.findall(text) if w.lower() not in _STOPWORDS and len(w) > 2]
    return list(dict.fromkeys(words))


def lexical_overlap(sentence: str, evidence: str) -> float:
    """Share of the sentence's content words that also occur in the evidence (0 when none)."""
    words = content_stems(sentence)
    if not words:
        return 0.0
    return len(words & content_stems(evidence)) / len(words)


def _unit_after(text: str, end: int) -> str:
    match = _UNIT.match(text, end)
    if match is None:
        return ""
    unit = match.group(1).lower().replace("ib", "b")
    unit = unit[:-1] if unit.endswith("s") and len(unit) > 2 else unit
    return _UNIT_NAMES.get(unit, unit)


def numbers_in(text: str, *, include_words: bool = False) -> list[Number]:
    """Numbers written in `text`: '1,000', '1k', '10%', '0.67', '7B', '3x', 'five'; all number words when asked."""
    found: list[Number] = []
    for match in _DIGIT_NUMBER.finditer(text):
        raw, unit = match.group(1), (match.group(2) or "")
        base = float(raw.replace(",", ""))
        decimals = len(raw.split(".")[1]) if "." in raw else 0
        unit_key = unit.lower()
        scale = _SCALES.get(unit_key, 1.0) if unit not in ("M",) else 1e6
        percent = unit_key.startswith(("%", "percent", "per cent"))
        found.append(Number(match.group(0), base * scale, decimals, scale, percent, _unit_after(text, match.end())))
    for match in _WORD_NUMBER.finditer(text):
        word = match.group(1).lower()
        if not include_words and word not in _CLAIM_WORDS:
            continue
        base = float(_NUMBER_WORDS[word])
        scale = _SCALES.get((match.group(2) or "").lower(), 1.0)
        found.append(Number(match.group(0), base * scale, 0, scale, unit=_unit_after(text, match.end())))
    return found


def number_is_supported(number: Number, evidence: list[Number]) -> bool:
    """True when some evidence number equals `number` at the precision the sentence wrote it."""
    tolerance = 0.5 * 10 ** (-number.decimals) * number.scale
    for other in evidence:
        if number.unit and other.unit and number.unit != other.unit:
            continue
        candidates = [other.value]
        if number.percent and not other.percent and other.value <= 1:
            candidates.append(other.value * 100)  # 0.12 accuracy == 12%
        if other.percent and not number.percent and number.value <= 1:
            candidates.append(other.value / 100)
        for value in candidates:
            if abs(value - number.value) <= tolerance + 1e-9 * max(1.0, abs(value)):
                return True
            # "about 3x" against "3.2x": the sentence rounded what the source wrote.
            if number.decimals == 0 and number.value >= 1 and round(value) == number.value \
                    and abs(value - number.value) < 0.5:
                return True
    return False


def _normal(token: str) -> str:
    token = token.lower().replace("\u2019", "'")
    if token.endswith("'s"):
        token = token[:-2]
    token = re.sub(r"[-'.]", "", token)
    return token[:-1] if len(token) > 3 and token.endswith("s") else token


def _is_entity_shape(token: str) -> bool:
    letters = re.sub(r"[^A-Za-z]", "", token)
    if len(letters) < 1:
        return False
    inner_caps = any(c.isupper() for c in token[1:])
    has_digit_and_letter = any(c.isdigit() for c in token) and bool(letters)
    return inner_caps or has_digit_and_letter


def entities_in(text: str) -> list[str]:
    """Names a reader would check: acronyms, CamelCase, model ids (GPT-4, A100), capitalised words mid-sentence."""
    tokens = list(_NAME_TOKEN.finditer(text))
    names: list[str] = []
    for index, match in enumerate(tokens):
        token = match.group(0).rstrip(".")
        if not token or not token[0].isalpha():
            if _is_entity_shape(token) and re.search(r"[A-Za-z]{2,}", token):
                names.append(token)
            continue
        following = text[match.end(): match.end() + 8]
        sentence_start = index == 0 or bool(re.search(r"[.!?:]\s*$", text[: match.start()]))
        if _is_entity_shape(token):
            names.append(token)
        elif token[0].isupper() and token.lower() not in _STOPWORDS and len(token) > 1:
            if not sentence_start or following.startswith((" et al", " and ")) or _is_rare(token):
                names.append(token)
    unique: list[str] = []
    for name in names:
        if name not in unique:
            unique.append(name)
    return unique


def _is_rare(token: str) -> bool:
    """True for sentence-initial words too rare in English to be ordinary vocabulary (likely a name)."""
    try:
        from wordfreq import zipf_frequency
    except ImportError:  # wordfreq is a dependency; without it only mid-sentence names count
        return False
    return zipf_frequency(token.lower(), "en") < 2.5


def name_index(text: str) -> set[str]:
    """Normalised tokens of `text`, plus adjacent pairs and triples joined ('Flash Attention' = 'FlashAttention')."""
    tokens = [_normal(t) for t in _NAME_TOKEN.findall(text)]
    tokens = [t for t in tokens if t]
    index = set(tokens)
    for size in (2, 3):
        index.update("".join(tokens[i:i + size]) for i in range(len(tokens) - size + 1))
    return index


def entity_is_supported(entity: str, index: set[str]) -> bool:
    """True when the entity (or each part of a hyphenated one) occurs in the evidence's name index."""
    if _normal(entity) in index:
        return True
    parts = [_normal(p) for p in re.split(r"[-.]", entity) if p]
    return len(parts) > 1 and all(p in index for p in parts)


def _content_sequence(text: str) -> list[str]:
    return [stem(w) for w in _WORD.findall(text) if w.lower() not in _STOPWORDS and len(w) > 2]


def ordered_overlap(sentence: str, evidence: str) -> float:
    """Share of the sentence's adjacent content-word pairs found near each other, in order, in the evidence.

    Word salad reuses a source's words in another order ("a neural encoder that builds on the previous
    index"): its words are all there, their pairings are not. A pair counts when the evidence has the two
    stems in that order with at most one content word between them (room for a paraphrase).
    """
    said = _content_sequence(sentence)
    pairs = list(zip(said, said[1:]))
    if not pairs:
        return 0.0
    source = _content_sequence(evidence)
    near = set(zip(source, source[1:])) | set(zip(source, source[2:]))
    return sum(pair in near for pair in pairs) / len(pairs)


# A sentence about the text itself ("The article explains ...", "This section covers ...") rather than the
# subject: small drafting models write these, and no source supports them.
_SELF_REFERENCE = re.compile(r"\b(?:the|this|our)\s+(?:article|section|post|piece|essay|text|source|summary)\b|"
                             r"\b(?:let's|let us|we will|you will learn)\b", re.I)


def refers_to_text(sentence: str) -> bool:
    """True when the sentence talks about the article or section instead of its subject."""
    return bool(_SELF_REFERENCE.search(sentence))


def has_negation(text: str) -> bool:
    """True when the text contains a negation cue (not, no, never, without, fails to, ...)."""
    return bool(_NEGATIONS.search(text))


def antonym_swap(sentence: str, evidence: str) -> bool:
    """True when the sentence uses a word whose opposite the evidence uses instead (faster vs slower)."""
    said = {w.lower() for w in _WORD.findall(sentence)}
    source = {w.lower() for w in _WORD.findall(evidence)}

    def uses(words: set[str], prefix: str) -> bool:
        # Short cue words must match whole ("more" is not "moreover").
        return any(w == prefix or (len(prefix) >= 5 and w.startswith(prefix)) for w in words)

    for one, other in _ANTONYMS:
        for mine, theirs in ((one, other), (other, one)):
            if uses(said, mine) and not uses(said, theirs) and uses(source, theirs) and not uses(source, mine):
                return True
    return False


def sigmoid(z: float) -> float:
    """The logistic function, safe for large |z|."""
    if z >= 0:
        return 1.0 / (1.0 + math.exp(-z))
    e = math.exp(z)
    return e / (1.0 + e)
