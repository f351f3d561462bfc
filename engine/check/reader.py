"""Models of the reader: which technical terms an audience already knows, and why a term is flagged.

The jargon check asks a `Reader` whether to report a term. The default reader, ML/AI engineers
and researchers, knows what ML writing uses all the time: words and phrases whose frequency in
a body of ML writing (engine/data/ml_vocabulary.json, built by scripts/build_ml_vocabulary.py
from 2.0M words of books, courses, course notes, a blog, paper summaries and library documentation) is high, even when general English
rarely uses them ("softmax", "hidden state", "backpropagation"), what a glossary of the field's
basics names (the table's "glossary" field: label smoothing, RMSProp, MSE, which those books use too
rarely to tell from one paper's coinage), what many independent publishers of ML writing all use (5 of
the table's 13: AlexNet, t-SNE, GloVe, representation learning), plus the short list of `terms.PEER_BASICS`. Names and acronyms need a higher bar than lowercase words (one paper's
acronym can be frequent in a few documents), so they must also be spread over several sources.

Other readers: "software engineers new to ML" know general English and computing words but
not ML vocabulary, so they get more flags; "general readers" know only general English.
`reader_for(audience)` picks one from a brief's free-text audience.

Policy: what the jargon check flags, and how its test sets are labeled
------------------------------------------------------------------------
This is the one place the policy is written; bench/data/jargon_*.jsonl are labeled by it and
README.md points here. The rule the check enforces is "jargon defined at first use *for this
reader*", so a flag means: this reader would stop to look the term up where it first appears,
and the text does not explain it there. A term the reader already knows is never a defect,
defined or not.

- **ML/AI engineers and researchers (the default reader)**: a peer who reads ML papers and
  blogs outside their own subfield. They know the field's shared vocabulary: standard model
  families and widely used models (BERT, GPT-3, LSTM, ResNet, Mistral), standard methods and
  training practice (fine-tuning, RLHF, RAG, PPO, DPO, dropout, label smoothing, knowledge
  distillation, gradient clipping, hard negatives), standard metrics, benchmarks and tools
  (BLEU, ROUGE, MMLU, ImageNet, SQuAD, BM25, FAISS, vLLM) and the field's math (softmax,
  KL divergence, cross-entropy, IID). For them a term *is* jargon when it belongs to one
  subfield's internals (paged attention, IVF, product quantization, brevity penalty, BM25's
  length normalisation), is one paper's coinage or variant (QLoRA, NF4, RAG-Token, "glance
  policy"), or is a less-travelled acronym or name (NSP, PBT, EM for exact match, SwiGLU,
  BERTScore, SRAM/HBM). The labeler's test: would a typical ML engineer from another
  subfield stop to look it up? In the labeled passages such a known, undefined term carries
  `"known": true`; in the real-post labels a flag on it is "noise".
- **Software engineers new to ML** (`audience` naming software engineers, developers, people
  new to ML): every ML term, known to peers or not, must be defined; computing words are known.
- **General readers** (newcomers, the public): every technical term, computing words included.
- Never terms for anyone: people's names, URLs and anchors, code, Markdown/HTML/LaTeX
  artifacts, verb phrases, products or data sets named as examples (engine/check/jargon.py).

The check approximates the default reader from term frequencies in ML writing (below), not
from a hand list of words; where the two disagree the labels keep the policy and the benchmark
(bench/jargon.py) shows the gap.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from engine.check.terms import everyday_zipf, peer_basic_keys, term_key, word_classes, zipf_frequency

VOCABULARY = Path(__file__).resolve().parents[1] / "data" / "ml_vocabulary.json"
ABSTRACTS = Path(__file__).resolve().parents[1] / "data" / "ml_abstracts.json.gz"

# Computing words a software engineer knows without ML (the base of the "new to ML" reader).
_SOFTWARE_BASICS = frozenset(term_key(t.strip()) for t in """
API, CPU, GPU, RAM, URL, PDF, JSON, CSV, HTTP, SQL, HTML, OS, UI, ID, GB, MB, KB, TB, GHz, Python, GitHub,
NumPy, Google, Microsoft, Wikipedia, database, cache, latency, throughput, vector, matrix, hash, hashing,
index, benchmark, dataset, pipeline, parallelize, parallelism, concatenate, concatenated, runtime, chatbot,
OK, US, UK, EU, TV, PhD, CEO, FAQ, etc, vs, CSS, JavaScript, Java, Lua, Perl, Ruby, Rust, Haskell, MATLAB,
OTOH, IMO, IMHO, FYI, AFAIK, BTW, TL;DR, TLDR, FIFO, LIFO, TPU, NPU, FPGA, ASIC, FLOPS, FLOP, teraflop, petaflop
""".split(","))
# A name general English also uses at least this often (wordfreq: web, subtitles, Wikipedia, Reddit; 1.0 is
# about one use per 100 million words) has spread beyond the papers that coined it.
SPREAD_NAME_ZIPF = 1.0


@dataclass(frozen=True)
class Reader:
    """An audience: what it knows (field vocabulary thresholds, basics) and its name for the Review page."""

    name: str
    field_vocabulary: bool  # knows the ML writing vocabulary
    peer_basics: bool  # knows terms.PEER_BASICS
    software_basics: bool = False
    word_zipf: float = 3.7  # a lowercase word this frequent in ML writing is known (10 uses in the 2.0M words)
    phrase_zipf: float = 4.0  # a multi-word term needs the phrase itself this frequent (20 uses): KV cache, layer normalization
    name_zipf: float = 5.0  # names and acronyms need to be everywhere (199 uses) ...
    name_share: float = 0.03  # ... or used by this share of ML documents
    # ... or both used (40 uses) and spread over many documents (0.6%, ~32): the policy above says a
    # peer knows RLHF, PPO, DPO, MMLU, Mistral; WordPiece (0.0026 of documents) and SentencePiece (4.03) fall short.
    common_name_zipf: float = 4.3
    common_name_share: float = 0.006
    # ... or, for any term, used by this many independent publishers of ML writing (the table's third field):
    # what books, courses, notes and blogs by different authors all use is the field's shared vocabulary
    # (AlexNet, t-SNE, SVD, GloVe, representation learning), while one library's or paper's term stays within
    # its own publisher's pages however often they repeat it (cross-encoder, QLoRA, paged attention: 3, 3, 2 of
    # 13 publishers). At 3 the labeled set's recall fell from 23/26 to 18/26 (QLoRA, WordPiece, SwiGLU ... known).
    publisher_spread: int = 5
    # The jargon panel (engine/check/jargon.py's _panel): a candidate is a flag when its flag_confidence reaches
    # min_confidence and it is among the most confident, one per words_per_flag prose words (at least
    # min_flags); the others are candidates, listed apart. words_per_flag 0: no budget, only the bar.
    min_confidence: float = 0.0
    words_per_flag: int = 0
    min_flags: int = 3
    # A whole article (long_text_words prose words or more; 0: no such rule) has its own bar and no floor: in
    # full-length expert writing a candidate is a real undefined term about one time in nineteen (18 of 339 in the
    # 30 tuning posts), in our labeled passages more than one in two (23 of 40), so the bar the passages' recall
    # sets lets an article's budget fill with noise. The article bar is the one with the best out-of-fold precision
    # on the tuning posts (bench/jargon.py --fit), among those showing 10 flags or more.
    long_text_words: int = 0
    long_text_confidence: float = 0.0
    # ... and a phrase of plain words that this many research abstracts use (of the 95k behind
    # abstract_documents; 0: not asked) is the field's own: "frontier model", "scaling laws", "reward model".
    # Phrases a peer must be told stay below it: paged attention (3), in-batch negatives (6), product
    # quantization (7), additive attention (4). On the 30 tuning posts it takes 12 noise candidates off the
    # candidate list and no labeled undefined one; the panel and the labeled passages' figures are unchanged.
    abstract_phrases: int = 0

    def knows(self, key: str, *, name: bool = False, phrase: bool | None = None) -> bool:
        """True when this reader knows the term with this key without being told.

        `name`: written as a name (LoRA, RLHF); `phrase`: written as several words (default: the key
        has a space; "non-linearity" has one in its key but is one word).
        """
        spaced = re.sub(r"(?<=[a-z])(?=\d)", " ", key)  # "gpt3" is "gpt 3", as GPT-3 folds
        if self.peer_basics and (key in peer_basic_keys() or spaced in peer_basic_keys()) \
                or self.software_basics and key in _SOFTWARE_BASICS:
            return True
        if not self.field_vocabulary:
            return False
        if key in glossary_keys() or spaced in glossary_keys():
            return True
        if self.abstract_phrases and not name and " " in key and abstract_documents(key) >= self.abstract_phrases:
            return True  # "frontier model" (515 abstracts), "scaling law" (334): the field's own phrases
        entry = ml_vocabulary().get(key)
        if entry is None and " " in key:
            # "seq-2-seq", "multi-lingual": a spelling in parts of a word ML writing writes whole.
            entry = ml_vocabulary().get(key.replace(" ", ""))
            phrase = False if entry is not None else phrase
        if entry is None and key[-1:].isalpha():
            # "max-pools", "max-pooled": the verb of a noun in -ing ML writing uses ("max pooling").
            entry = ml_vocabulary().get(re.sub(r"(?:ed|s)?$", "", key, count=1) + "ing") \
                or ml_vocabulary().get(key + "ing")
        if entry is None:
            return False
        zipf, share = entry[:2]
        # Keys are case-folded when counted, so a name spelled as an English word ("REALM", "Gopher") is counted
        # with the word's everyday uses across publishers ("the realm of"): the spread says nothing of the name.
        if len(entry) > 2 and entry[2] >= self.publisher_spread and not (name and word_classes(key)):
            return True
        if name:
            return (zipf >= self.name_zipf or share >= self.name_share
                    or zipf >= self.common_name_zipf and share >= self.common_name_share)
        return zipf >= (self.phrase_zipf if (" " in key if phrase is None else phrase) else self.word_zipf)

    def knows_variant_of(self, base: str) -> bool:
        """True when this reader knows a name whose sizes or versions ML writing numbers ("ImageNet-1K",
        "CIFAR-100", "ZeRO-powered" of base "ImageNet", "CIFAR", "ZeRO"): the name itself, or a numbered
        variant of it ("CIFAR-10")."""
        key = term_key(base)
        return self.knows(key, name=True, phrase=False) or self.knows_spread_name(base) \
            or (self.field_vocabulary and any(self.knows(k, name=True) for k in _numbered_variants().get(key, ())))

    def knows_spread_name(self, surface: str) -> bool:
        """True when a name ML writing uses has also spread into general English, so a peer has met it.

        Word2Vec, ElasticSearch, ImageNet, Theano and Caffe are counted by wordfreq beyond ML papers;
        one paper's coinage is not (QLoRA, WordPiece, SwiGLU, BERTScore, MinHash: 0). Only names whose
        spelling is no English word count: an acronym or a dictionary word in any casing ("IVF", "GloVe",
        "SQuAD", "Gopher") shares its letters with another meaning, so general English's count says nothing.
        """
        if not self.field_vocabulary or not re.fullmatch(r"[A-Za-z][A-Za-z0-9]+", surface) or surface.isupper():
            return False
        camel = any(c.isupper() or c.isdigit() for c in surface[1:])
        low = surface.lower()
        if not camel and not surface[0].isupper() or word_classes(low):
            return False
        return term_key(low) in ml_vocabulary() and zipf_frequency(low) >= SPREAD_NAME_ZIPF

    def why_unknown(self, key: str, *, name: bool = False) -> str:
        """Why this reader may not know the term, from how often ML writing and general English use it, and for a
        peer how many research abstracts do (`name`: counted as written with capitals, "MADE" not "made")."""
        entry = ml_vocabulary().get(key)
        general = min(everyday_zipf(w) for w in key.split(" "))
        where = "rare in general English" if general < 3.5 else "not everyday English as a term"
        abstracts = ""
        if self.field_vocabulary and abstracts_total():
            used = abstract_documents(key, name=name)
            abstracts = f"; {'under 10' if used < 10 else f'{used:,}'} of {abstracts_total():,} research abstracts use it"
        if entry is None:
            # "not everyday English as a term and in ML writing" read as nonsense: say each half plainly.
            return ("rare in general English and in ML writing" if general < 3.5
                    else "everyday words, but not a term ML writing uses") + abstracts
        per_million = 10 ** entry[0] / 1000
        if not self.field_vocabulary:
            return f"ML vocabulary ({per_million:.0f} uses per million words of ML writing), new to {self.name}"
        return (f"{where}; ML writing uses it ({per_million:.0f} per million words), but not so widely that every peer "
                f"knows it{abstracts}")


# min_confidence: the highest bar at which the labeled passages' recall stays >= 0.85 (bench/jargon.py --curve);
# one flag per 2,000 words: real expert posts leave ~0.16 undefined terms per 1,000 words (bench/results.md).
ML_PEERS = Reader("ML/AI engineers and researchers", field_vocabulary=True, peer_basics=True, software_basics=True,
                  min_confidence=0.40, words_per_flag=2000, long_text_words=1000, long_text_confidence=0.70,
                  abstract_phrases=50)
NEW_TO_ML = Reader("software engineers new to ML", field_vocabulary=False, peer_basics=False, software_basics=True)
GENERAL = Reader("general readers", field_vocabulary=False, peer_basics=False)
READERS = {r.name: r for r in (ML_PEERS, NEW_TO_ML, GENERAL)}


def reader_for(audience: str | None) -> Reader:
    """The reader model for a brief's audience text; ML/AI peers when it names none of the others."""
    if not audience:
        return ML_PEERS
    if audience in READERS:
        return READERS[audience]
    if re.search(r"new\s+to\s+(?:ML|AI|machine)|software|developer|programmer|engineers?\s+(?:without|outside)", audience, re.I) \
            and not re.search(r"\bML\s+engineer|\bAI\s+engineer|research", audience, re.I):
        return NEW_TO_ML
    if re.search(r"general|newcomer|non-?expert|beginner|public|lay", audience, re.I):
        return GENERAL
    return ML_PEERS


def ml_lift(key: str) -> float:
    """How much more often ML writing uses the term than general English does, in Zipf units (0 if unlisted)."""
    entry = ml_vocabulary().get(key)
    return entry[0] - min(everyday_zipf(w) for w in key.split(" ")) if entry else 0.0


@lru_cache(maxsize=1)
def glossary_keys() -> frozenset[str]:
    """Term keys an ML glossary's prose uses (engine/data/ml_vocabulary.json's "glossary" field; empty if absent)."""
    data = json.loads(VOCABULARY.read_text(encoding="utf-8"))
    return frozenset(data.get("glossary", {}).get("keys", ()))


@lru_cache(maxsize=1)
def _abstracts() -> dict:
    import gzip

    if not ABSTRACTS.exists():
        return {"documents": 0, "terms": {}, "names": {}}
    return json.loads(gzip.decompress(ABSTRACTS.read_bytes()))


def abstract_documents(key: str, *, name: bool = False) -> int:
    """How many of the research abstracts behind engine/data/ml_abstracts.json.gz (scripts/build_ml_vocabulary.py
    --abstracts; 95k recent arXiv abstracts) use the term key, counting for a `name` only those that write it with two
    capitals or more ("MADE" the model, not "made"); 0 for a key too rare to be stored."""
    return _abstracts()["names" if name else "terms"].get(key, 0)


def abstracts_total() -> int:
    """The number of abstracts `abstract_documents` counts in (0 when the table is absent)."""
    return _abstracts()["documents"]


@lru_cache(maxsize=1)
def _numbered_variants() -> dict[str, list[str]]:
    """Vocabulary keys of numbered names by their base: {"cifar": ["cifar 10", "cifar 100"], ...}."""
    variants: dict[str, list[str]] = {}
    for key in ml_vocabulary():
        if (match := re.fullmatch(r"([a-z][a-z.]*) \d+(?:\.\d+)?[kmbt]?", key)):
            variants.setdefault(match.group(1), []).append(key)
    return variants


@lru_cache(maxsize=1)
def ml_vocabulary() -> dict[str, tuple]:
    """{term key: (Zipf in ML writing, share of ML documents using it[, publishers using it])} from
    engine/data/ml_vocabulary.json (a table built before publishers were counted has two fields)."""
    data = json.loads(VOCABULARY.read_text(encoding="utf-8"))
    return {k: tuple(v) for k, v in data["terms"].items()}
