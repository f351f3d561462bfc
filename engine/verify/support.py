"""How well cited passages support one sentence: several cheap signals combined into one calibrated score.

Signals used (no NLI cross-encoder ships offline, see shared/STACK.md):
- dense: the highest cosine similarity between the sentence and any sentence, or pair of adjacent
  sentences, of the cited passages (the configured embedder, all-MiniLM-L6-v2 by default);
- lexical: the share of the sentence's content words found in the cited passages;
- numbers: numbers in the sentence that no cited passage contains ('1,000' = '1k', '12%' = '0.12');
- entities: acronyms, model names and capitalised names that no cited passage (or its title and
  authors) contains — a swapped author or a wrong model name;
- polarity: a negation present in the sentence but not in its best-matching evidence (or the
  reverse), and antonym swaps ('faster' where the evidence says 'slower').
They are combined by a logistic model fitted by bench/verify.py on a labeled calibration set;
an `EntailmentModel` (any NLI model a user has locally) can be plugged in and is averaged in.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Protocol, Sequence

import numpy as np

from engine.records import Passage
from engine.markup import sentences_of_text, strip_citations
from engine.verify import signals as sig

# Logistic weights over the signals, and over the signals plus a judge's verdict, with their thresholds:
# fitted by `python bench/verify.py` on the fit material only (engine/verify/judge_data.py: the
# AttributionBench dev fit half, SciFact train, our pairs' calibration half, labeled draft sentences'
# fit half) and kept in engine/data/verify_weights.json; bench/results.md ("verify") has the figures on held-out data.
WEIGHTS_PATH = Path(__file__).resolve().parents[1] / "data" / "verify_weights.json"
SIGNAL_FEATURES = ("dense", "lexical", "best_lexical", "content_words", "unsupported_numbers",
                   "unsupported_entities", "negation_mismatch", "antonym_swap", "ordered_overlap", "self_reference")


def _load_weights(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def save_weights(path: Path, signals: dict[str, float], threshold: float, with_judge: dict[str, float] | None,
                 judged_threshold: float | None, note: str = "", with_llm_judge: dict | None = None) -> None:
    """Write fitted weights and thresholds where support.py reads them (bench/verify.py calls this). A judge's
    entry this call is not given (None) keeps what the file holds: it was fitted by a run that had that judge."""
    data = {"note": note, "signals": {"weights": _rounded(signals), "threshold": round(threshold, 2)}}
    if with_judge is not None:
        data["with_judge"] = {"weights": _rounded(with_judge), "threshold": round(judged_threshold or 0.5, 2)}
    if with_llm_judge is not None:  # {"weights", "threshold", "unsure_band"}
        data["with_llm_judge"] = _combination(with_llm_judge)
    kept = _load_weights(path) if path.is_file() else {}
    for key, entry in kept.items():
        # drafting's self-check threshold and the probe's stack are fitted by other scripts
        if key not in data and key != "note":
            data[key] = entry
    _write_json(path, data)


def save_judge_combination(path: Path, key: str, combination: dict, note: str = "") -> None:
    """Replace one judge's entry ({"weights", "threshold", "unsure_band"}) in the weights file, keeping the rest."""
    data = _load_weights(path)
    data[key] = _combination(combination)
    if note and note not in data.get("note", ""):
        data["note"] = "; ".join(filter(None, [data.get("note", ""), note]))
    _write_json(path, data)


def use_judge_combination(key: str, combination: dict) -> None:
    """Make this process's verify read `combination` for judges of `key` (a bench that has just fitted one
    times verify with it before, or without, saving it)."""
    _FITTED[key] = _combination(combination)


def _combination(entry: dict) -> dict:
    return {"weights": _rounded(entry["weights"]), "threshold": round(entry["threshold"], 2),
            "unsure_band": entry.get("unsure_band")}


def _write_json(path: Path, data: dict) -> None:
    path.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")


def _rounded(weights: dict[str, float]) -> dict[str, float]:
    return {k: round(float(v), 3) for k, v in weights.items()}


def judge_feature(probability: float) -> float:
    """A judge's P(supported) as the log-odds the combiner weighs (clipped: a judge is never certain)."""
    p = min(max(probability, 1e-3), 1 - 1e-3)
    return math.log(p / (1 - p))


_FITTED = _load_weights(WEIGHTS_PATH)
WEIGHTS: dict[str, float] = _FITTED["signals"]["weights"]
# A sentence is "supported" when its score reaches this threshold.
SUPPORT_THRESHOLD: float = _FITTED["signals"]["threshold"]
JUDGED_WEIGHTS: dict[str, float] | None = (_FITTED.get("with_judge") or {}).get("weights")
JUDGED_THRESHOLD: float = (_FITTED.get("with_judge") or {}).get("threshold", 0.5)
# Drafting's self-check (judge.SectionJudge) fails a sentence below this P(Yes) share.
SELF_CHECK_THRESHOLD: float = (_FITTED.get("self_check") or {}).get("threshold", 0.5)


@dataclass(frozen=True)
class JudgedCombination:
    """Weights over the signals plus one judge's log-odds, its threshold, and where the judge is consulted."""

    weights: dict[str, float] | None
    threshold: float
    # The judge runs only when the signals-alone score lies within this distance of SUPPORT_THRESHOLD
    # (None: on every sentence). A slow judge (the drafting model, seconds per call) sets it.
    unsure_band: float | None = None


def judged_combination(judge: object) -> JudgedCombination:
    """What bench/verify.py fitted for this kind of judge (its `weights_key` in verify_weights.json)."""
    entry = _FITTED.get(getattr(judge, "weights_key", "with_judge")) or {}
    return JudgedCombination(entry.get("weights"), entry.get("threshold", 0.5), entry.get("unsure_band"))
_WINDOW = 2  # evidence units: single passage sentences and pairs of adjacent ones
_TOP_CANDIDATES = 5
_LEXICAL_RANK_WEIGHT = 0.5
_MAX_EMBEDDED_UNITS = 48  # about 25 sentences: a few cited chunks pass whole
_JUDGE_WORDS = 150  # evidence a judge reads: fits its 256-token window with the claim


class Embedder(Protocol):
    """What support scoring needs from an embedder (engine.embed.Embedder satisfies it)."""

    def embed_passages(self, texts: Sequence[str], batch_size: int = 64) -> np.ndarray: ...


class EntailmentModel(Protocol):
    """An optional NLI model: the probability that `premise` entails `hypothesis`."""

    def entailment(self, premise: str, hypothesis: str) -> float: ...


@dataclass(frozen=True)
class Signals:
    """The raw evidence behind a support score."""

    dense: float
    lexical: float
    unsupported_numbers: tuple[str, ...] = ()
    unsupported_entities: tuple[str, ...] = ()
    negation_mismatch: bool = False
    antonym_swap: bool = False
    nli: float | None = None  # the judge's P(supported), when a judge ran
    best_lexical: float = 0.0  # share of the sentence's content words in its best-matching evidence unit
    content_words: int = 0  # how much the sentence claims
    ordered_overlap: float = 0.0  # share of its word pairs the judge evidence has in the same order (word salad: low)
    self_reference: bool = False  # the sentence talks about the article, not its subject

    def features(self) -> dict[str, float]:
        """The signals as the numeric features the logistic model weighs (plus 'judge' when a judge ran)."""
        out = {"dense": self.dense, "lexical": self.lexical, "best_lexical": self.best_lexical,
               "content_words": math.log1p(self.content_words),
               "unsupported_numbers": float(bool(self.unsupported_numbers)),
               "unsupported_entities": float(bool(self.unsupported_entities)),
               "negation_mismatch": float(self.negation_mismatch),
               "antonym_swap": float(self.antonym_swap),
               "ordered_overlap": self.ordered_overlap, "self_reference": float(self.self_reference)}
        if self.nli is not None:
            out["judge"] = judge_feature(self.nli)
        return out


@dataclass(frozen=True)
class EvidenceSpan:
    """A sentence (or window) of a cited passage: which passage, where in its text, and the text."""

    passage_index: int
    offset: int
    length: int
    text: str
    similarity: float
    window: bool = False  # True for a pair of adjacent sentences


@dataclass(frozen=True)
class SupportResult:
    """Support of one sentence by its cited passages: score in [0, 1], verdict, signals, best evidence."""

    score: float
    supported: bool
    signals: Signals
    best_span: EvidenceSpan | None
    candidates: tuple[EvidenceSpan, ...] = field(default=(), repr=False)  # best single sentences first
    judge: str = ""  # the meaning-level judge that read it ("" = the cheap signals alone)
    missing_words: tuple[str, ...] = ()  # content words of the sentence absent from its best evidence span
    judge_threshold: float = 0.5  # below this P(supported) the judge's reading is given as the reason

    def reasons(self) -> list[str]:
        """Why the sentence is (not) supported, in words for the check panel."""
        out = []
        if self.signals.unsupported_numbers:
            out.append("numbers not in the cited source: " + ", ".join(self.signals.unsupported_numbers))
        if self.signals.unsupported_entities:
            out.append("names not in the cited source: " + ", ".join(self.signals.unsupported_entities))
        if self.signals.negation_mismatch:
            out.append("negation differs from the cited source")
        if self.signals.antonym_swap:
            out.append("says the opposite of the cited source (antonym)")
        if self.signals.nli is not None and not self.supported and self.signals.nli < self.judge_threshold:
            out.append(f"the judge reads the closest evidence as not saying this (P(supported) "
                       f"{self.signals.nli:.2f}): {_missing_words(self)}")
        if not out and not self.supported:
            out.append(f"low similarity to the cited source ({self.signals.dense:.2f}): {_missing_words(self)}")
        return out


def _missing_words(result: "SupportResult") -> str:
    return ("not in it: " + ", ".join(result.missing_words)) if result.missing_words else \
        "the words are there, the meaning is not"


class VectorCache:
    """Embeds each distinct text once per verification run."""

    def __init__(self, embedder: Embedder) -> None:
        self.embedder = embedder
        self._vectors: dict[str, np.ndarray] = {}

    def add(self, texts: Sequence[str]) -> None:
        missing = list(dict.fromkeys(t for t in texts if t not in self._vectors))
        if missing:
            for text, vector in zip(missing, self.embedder.embed_passages(missing)):
                self._vectors[text] = np.asarray(vector, dtype=np.float32)

    def matrix(self, texts: Sequence[str]) -> np.ndarray:
        self.add(texts)
        return np.stack([self._vectors[t] for t in texts]) if texts else np.zeros((0, 1), np.float32)


def evidence_units(passages: Sequence[Passage]) -> list[EvidenceSpan]:
    """Sentences of each passage and windows of adjacent sentences (similarity not yet set)."""
    units: list[EvidenceSpan] = []
    for index, passage in enumerate(passages):
        sentences = sentences_of_text(passage.text)
        for i, first in enumerate(sentences):
            units.append(EvidenceSpan(index, first.offset, first.length, first.text, 0.0))
            if i + _WINDOW - 1 < len(sentences):
                last = sentences[i + _WINDOW - 1]
                end = last.offset + last.length
                units.append(EvidenceSpan(index, first.offset, end - first.offset,
                                          passage.text[first.offset:end], 0.0, window=True))
    return units


def judge_evidence(ranked: Sequence[EvidenceSpan], budget_words: int = _JUDGE_WORDS) -> str:
    """The best-ranked, non-overlapping evidence units up to `budget_words`, in passage order, for a judge."""
    chosen: list[EvidenceSpan] = []
    words = 0
    for unit in ranked:
        if any(c.passage_index == unit.passage_index and c.offset < unit.offset + unit.length
               and unit.offset < c.offset + c.length for c in chosen):
            continue
        size = len(unit.text.split())
        if chosen and words + size > budget_words:
            continue
        chosen.append(unit)
        words += size
        if words >= budget_words:
            break
    chosen.sort(key=lambda u: (u.passage_index, u.offset))
    return " ... ".join(" ".join(u.text.split()) for u in chosen)


def order_signals(claim: str, evidence: str) -> dict[str, float]:
    """The word-order and self-reference signals of `claim` (citations stripped) against its judge evidence."""
    return {"ordered_overlap": sig.ordered_overlap(claim, evidence), "self_reference": float(sig.refers_to_text(claim))}


def combine(features: dict[str, float], weights: dict[str, float] | None = None) -> float:
    """The logistic support score of a feature dict under `weights` (default: the calibrated WEIGHTS)."""
    weights = WEIGHTS if weights is None else weights
    z = weights["bias"] + sum(weights[name] * value for name, value in features.items() if name in weights)
    return sig.sigmoid(z)


def measure_signals(sentence: str, passages: Sequence[Passage], cache: VectorCache) -> tuple[Signals, list[EvidenceSpan]]:
    """The signals for `sentence` against `passages`, and evidence units ranked by similarity."""
    claim = strip_citations(sentence)
    units = evidence_units(passages)
    if not units or not claim:
        return Signals(dense=0.0, lexical=0.0), []
    if len(units) > _MAX_EMBEDDED_UNITS:
        # A long source (a whole web page) would cost seconds to embed: embed the units sharing most words.
        words = sig.content_stems(claim)
        units = sorted(units, key=lambda u: -len(words & sig.content_stems(u.text)))[:_MAX_EMBEDDED_UNITS]
    vectors = cache.matrix([claim] + [u.text for u in units])
    similarities = vectors[1:] @ vectors[0]
    units = [EvidenceSpan(u.passage_index, u.offset, u.length, u.text, float(s), u.window)
             for u, s in zip(units, similarities)]
    # Rank evidence by meaning and shared words together: pronoun-led sentences ("It adds ...")
    # look alike to the embedder whatever they say.
    ranked = sorted(units, key=lambda u: -(u.similarity + _LEXICAL_RANK_WEIGHT * sig.lexical_overlap(claim, u.text)))
    best = ranked[0]
    evidence_text = "\n".join(p.text for p in passages)
    metadata = " ".join(f"{p.title} {' '.join(p.authors)} {p.year or ''}" for p in passages)
    evidence_numbers = sig.numbers_in(evidence_text + " " + metadata, include_words=True)
    missing_numbers = tuple(n.text for n in sig.numbers_in(claim)
                            if not sig.number_is_supported(n, evidence_numbers))
    names = sig.name_index(evidence_text + " " + metadata)
    missing_entities = tuple(e for e in sig.entities_in(claim) if not sig.entity_is_supported(e, names))
    judged_text = judge_evidence(ranked)
    order = order_signals(claim, judged_text)
    signals = Signals(
        dense=max(u.similarity for u in units),
        lexical=sig.lexical_overlap(claim, evidence_text),
        unsupported_numbers=missing_numbers,
        unsupported_entities=missing_entities,
        negation_mismatch=sig.has_negation(claim) != sig.has_negation(best.text),
        antonym_swap=sig.antonym_swap(claim, best.text),
        best_lexical=sig.lexical_overlap(claim, best.text),
        content_words=len(sig.content_stems(claim)),
        ordered_overlap=order["ordered_overlap"],
        self_reference=bool(order["self_reference"]),
    )
    return signals, ranked


def support_score(sentence: str, passages: Sequence[Passage], embedder: Embedder | VectorCache, *,
                  nli: EntailmentModel | None = None, threshold: float | None = None) -> SupportResult:
    """How well `passages` support `sentence`: a score in [0, 1], the verdict, signals and best span."""
    cache = embedder if isinstance(embedder, VectorCache) else VectorCache(embedder)
    signals, ranked = measure_signals(sentence, passages, cache)
    if not ranked:
        return SupportResult(0.0, False, signals, None)
    score, limit = combine(signals.features()), SUPPORT_THRESHOLD
    vetoes = getattr(nli, "vetoes", False)
    fitted = judged_combination(nli) if nli is not None and not vetoes else None
    if fitted is not None and (fitted.unsure_band is None or abs(score - SUPPORT_THRESHOLD) < fitted.unsure_band):
        signals = replace(signals, nli=nli.entailment(judge_evidence(ranked), strip_citations(sentence)))
        if fitted.weights is not None:
            score, limit = combine(signals.features(), fitted.weights), fitted.threshold
        else:  # a judge without fitted weights for it: an equal say beside the signals
            score = 0.5 * score + 0.5 * signals.nli
    limit = limit if threshold is None else threshold
    supported = score >= limit
    if vetoes and supported:
        # A second reader that can only fail what the signals pass (drafting's self-check, SectionJudge).
        signals = replace(signals, nli=nli.entailment(judge_evidence(ranked), strip_citations(sentence)))
        if signals.nli < nli.threshold:
            score, supported = min(score, signals.nli), False
    judged = signals.nli is not None
    singles = tuple(u for u in ranked if not u.window)[:_TOP_CANDIDATES]
    return SupportResult(score=score, supported=supported, signals=signals, best_span=ranked[0],
                         candidates=singles, judge=getattr(nli, "name", type(nli).__name__) if judged else "",
                         missing_words=_absent_words(strip_citations(sentence), ranked[0].text),
                         judge_threshold=nli.threshold if vetoes else 0.5)


def _absent_words(claim: str, evidence: str) -> tuple[str, ...]:
    """Content words of `claim` (first 8) whose stem does not occur in `evidence`."""
    present = sig.content_stems(evidence)
    return tuple(w for w in sig.content_words(claim) if sig.stem(w) not in present)[:8]

