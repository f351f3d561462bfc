"""Labeled attribution data for fitting and measuring the verify stage, with its fixed fit/report splits.

Sources (read in place, never copied into the project):
- AttributionBench dev (Li et al., 2024; `../shared/data/attributionbench/dev.jsonl`): real answers of
  search engines and QA systems with the passages they cited, labeled by humans. Split once, stratified
  by (source, label) with seed 7: the fit half trains and calibrates, the report half is only measured.
- SciFact (Wadden et al., 2020; CC BY 4.0 claims, ODC-By abstracts): train claims against their gold
  evidence (SUPPORT = supported, CONTRADICT = not) and against an unrelated abstract (not); validation
  claims are only measured.
- bench/data/verify_pairs.jsonl (ours): the calibration half as bench/verify.py has always split it.
- bench/data/draft_sentences.jsonl (ours): sentences of real PeerDraft drafts, labeled by hand.
"""

from __future__ import annotations

import json
import random
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from engine.verify.judge import Example

ROOT = Path(__file__).resolve().parents[2]
SHARED_DATA = ROOT.parent / "shared" / "data"
PAIRS = ROOT / "bench" / "data" / "verify_pairs.jsonl"
DRAFT_SENTENCES = ROOT / "bench" / "data" / "draft_sentences.jsonl"
SEED = 7


@dataclass(frozen=True)
class Claim:
    """A claim with its cited passages and a human label, from one of the sources above."""

    claim: str
    passages: tuple[str, ...]
    supported: bool
    source: str  # e.g. "AttributionBench/ExpertQA", "SciFact/SUPPORT", "pairs/negation"
    title: str = ""


def _stratified_halves(rows: list, key: Callable) -> tuple[list, list]:
    rng = random.Random(SEED)
    first, second = [], []
    for group_key in sorted({key(r) for r in rows}):
        group = [r for r in rows if key(r) == group_key]
        rng.shuffle(group)
        first += group[: len(group) // 2]
        second += group[len(group) // 2:]
    return first, second


def attributionbench(part: str, data: Path | None = None) -> list[Claim]:
    """AttributionBench dev claims: part 'fit' or 'report' (the fixed halves)."""
    data = SHARED_DATA if data is None else data
    path = data / "attributionbench" / "dev.jsonl"
    if not path.is_file():
        return []
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    fit, report = _stratified_halves(rows, lambda r: (r["src_dataset"], r["attribution_label"]))
    chosen = fit if part == "fit" else report
    return [Claim(r["claim"], tuple(r["references"]), r["attribution_label"] == "attributable",
                  f"AttributionBench/{r['src_dataset']}") for r in chosen]


def _numpy_strings(text: str) -> list[str]:
    """The strings of a printed NumPy array of str ("['a' 'b']"), as SciFact's README says: by regex."""
    out = []
    for match in re.finditer(r"'((?:[^'\\]|\\.)*)'|\"((?:[^\"\\]|\\.)*)\"", text):
        out.append((match.group(1) if match.group(1) is not None else match.group(2)).replace("\\'", "'"))
    return out


def scifact(split: str, data: Path | None = None, *, unrelated: bool = True) -> list[Claim]:
    """SciFact claims of `split` ('train' or 'validation') vs. gold evidence, and vs. an unrelated abstract."""
    data = SHARED_DATA if data is None else data
    import pandas as pd

    folder = data / "scifact"
    if not (folder / f"claims_{split}.csv").is_file():
        return []
    corpus = pd.read_csv(folder / "corpus_train.csv")
    abstracts = {int(d): _numpy_strings(a) for d, a in zip(corpus["doc_id"], corpus["abstract"])}
    claims = pd.read_csv(folder / f"claims_{split}.csv").dropna(subset=["evidence_doc_id"])
    rng = random.Random(SEED)
    doc_ids = sorted(abstracts)
    out: list[Claim] = []
    seen: set[str] = set()
    for _, row in claims.iterrows():
        doc = int(row["evidence_doc_id"])
        sentences = abstracts.get(doc, [])
        index = [int(i) for i in re.findall(r"\d+", str(row["evidence_sentences"]))]
        evidence = " ".join(sentences[i] for i in index if i < len(sentences))
        if not evidence:
            continue
        label = str(row["evidence_label"])
        out.append(Claim(row["claim"], (evidence,), label == "SUPPORT", f"SciFact/{label}"))
        if unrelated and row["claim"] not in seen:
            seen.add(row["claim"])
            other = rng.choice([d for d in rng.sample(doc_ids, 5) if d != doc])
            out.append(Claim(row["claim"], (" ".join(abstracts[other][: max(1, len(index))]),), False,
                             "SciFact/unrelated"))
    return out


def pairs(part: str, path: Path = PAIRS) -> list[Claim]:
    """Our labeled pairs: part 'fit' (calibration half) or 'report' (test half), split as bench/verify.py does."""
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    rng = random.Random(SEED)
    fit, report = [], []
    for label in ("supported", "unsupported"):
        group = [r for r in rows if r["label"] == label]
        rng.shuffle(group)
        fit += group[: len(group) // 2]
        report += group[len(group) // 2:]
    chosen = fit if part == "fit" else report
    return [Claim(r["sentence"], (r["passage"],), r["label"] == "supported", f"pairs/{r['kind']}") for r in chosen]


def draft_sentences(part: str, path: Path = DRAFT_SENTENCES) -> list[Claim]:
    """Hand-labeled sentences of real drafts: part 'fit' or 'report' (halves stratified by profile and label)."""
    if not path.is_file():
        return []
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    fit, report = _stratified_halves(rows, lambda r: (r["profile"], r["label"]))
    chosen = fit if part == "fit" else report
    return [Claim(r["sentence"], tuple(r["passages"]), r["label"] == "supported",
                  f"drafts/{r['profile']}/{r['kind']}") for r in chosen]


def stratified_subset(claims: list[Claim], n: int) -> list[Claim]:
    """About `n` of `claims`, the same share of each (source, label) group, always the same ones."""
    if n <= 0 or n >= len(claims):
        return list(claims)
    groups: dict[tuple[str, bool], list[Claim]] = {}
    for c in claims:
        groups.setdefault((c.source, c.supported), []).append(c)
    return [c for group in groups.values() for c in group[: max(1, round(len(group) * n / len(claims)))]]


# About this many claims of each AttributionBench half and of SciFact train (stratified): what fits a
# shared 2-core machine. bench/verify.py measures the judge that `judge build` trains on this material.
DEFAULT_LIMIT = 300


def _fit_parts(limit: int, data: Path | None) -> tuple[list[Claim], list[Claim]]:
    """The AttributionBench fit-half claims and the SciFact train claims that fitting uses."""
    science = scifact("train", data)
    # SciFact's easy unrelated-abstract negatives are thinned (a third of the limit) so they do not
    # teach "different topic = unsupported" and nothing else.
    science = stratified_subset([c for c in science if c.source != "SciFact/unrelated"], limit) + \
        stratified_subset([c for c in science if c.source == "SciFact/unrelated"], limit // 3 if limit else 0)
    return stratified_subset(attributionbench("fit", data), limit), science


def fit_claims(limit: int = DEFAULT_LIMIT, data: Path | None = None) -> list[Claim]:
    """Everything the combiner may be fitted on (never a report half); limit 0 = all of it."""
    real, science = _fit_parts(limit, data)
    return real + science + pairs("fit") + draft_sentences("fit")


def judge_training_claims(limit: int = DEFAULT_LIMIT, data: Path | None = None) -> list[Claim]:
    """The judge's training mix, from fit material only: AttributionBench's fit half counts twice (its
    errors are the kind drafts make)."""
    real, science = _fit_parts(limit, data)
    return real + real + science + pairs("fit") + draft_sentences("fit")


def training_examples(claims: list[Claim] | None = None, embedder=None, on_progress=print) -> list[Example]:
    """(claim, selected evidence, label) examples: the evidence a judge reads at run time (support.judge_evidence)."""
    from engine.embed import load_embedder
    from engine.records import Passage
    from engine.settings import load_settings
    from engine.verify.support import VectorCache, judge_evidence, measure_signals

    claims = judge_training_claims() if claims is None else claims
    cache = VectorCache(embedder or load_embedder(load_settings()))
    out = []
    for i, c in enumerate(claims):
        passages = [Passage(chunk_id=f"p{j}", doc_id=f"p{j}", text=t, score=1.0, title="")
                    for j, t in enumerate(c.passages)]
        _, ranked = measure_signals(c.claim, passages, cache)
        out.append(Example(c.claim, judge_evidence(ranked), c.supported, c.source.split("/")[0]))
        if on_progress is not None and (i + 1) % 200 == 0:
            on_progress(f"evidence selected for {i + 1}/{len(claims)} claims")
    return out
