"""Technical-term candidates in prose text: acronyms, model/method names, rare words, term-of-art phrases.

The jargon check (engine/check/jargon.py) calls `find_mentions` on `ProseMap.text`, so code,
URLs, citations, tables, math and headings never reach this module.

What counts as a term, in order of strength:
- **names**: tokens with two or more capitals, an internal capital or a digit (LoRA, RLHF, NF4,
  FlashAttention, GPT-3, T5, vLLM); a short all-capital acronym takes one following lowercase
  head word with it ("KV cache", "IDF weight");
- **rare words**: words whose Zipf frequency in general English (the `wordfreq` package) is
  below `RARE_ZIPF`, or below `RECURRING_ZIPF` when they recur in the same text. Spelling
  variants (-ise/-ize), inflections and transparent prefixes (re-, pre-, un-, ...) are looked
  up too, so "recomputes" or "quantised" are judged by their everyday forms;
- **term-of-art phrases**: a modifier followed by a technical head noun ("nucleus sampling",
  "brevity penalty", "gradient checkpointing") when at least one of the words is uncommon
  (Zipf below `PHRASE_ZIPF`), or when common words rarely meet: a noun modifier and a head
  whose Zipf values sum below `JOINT_ZIPF` ("reward model", "product quantization", but not
  "price list" or "role model"); a rare word takes its uncommon noun modifiers with it;
- **terms that need company** (`_mentions_in_context`): a lowercase word below `CONTEXT_RARE_ZIPF`
  opening a noun phrase in a sentence that names a method ("a siamese setup" beside SBERT) unless
  it is a plain derivation or compound of common words ("adequacy", "placeholder"); a rare
  capitalised bare subject opening a sentence of a technical paragraph ("Chinchilla showed");
  a hyphenated compound ending in the verb of a technical head ("mean-pools").

`PEER_BASICS` is what the default audience (ML/AI engineers and researchers) already knows;
those terms are never reported. Term keys fold case, hyphens, plurals and British spellings, so
"KV caches", "kv cache" and "KV-cache" are one term, as are "normalisations" and "normalization".
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from functools import lru_cache
from typing import NamedTuple

RARE_ZIPF = 2.0  # below this a single occurrence is enough
RECURRING_ZIPF = 2.6  # below this a word is a term when it occurs at least twice
PHRASE_ZIPF = 4.0  # a head-noun phrase needs one word at least this uncommon
CONTEXT_RARE_ZIPF = 3.2  # below this a noun or adjective is a term in a sentence that names a method
SUBJECT_NAME_ZIPF = 3.0  # below this a sentence-initial bare subject is a name ("Chinchilla showed")
TRANSPARENT_BASE_ZIPF = 4.0  # a rare word built on a base this common reads as ordinary English
JOINT_ZIPF = 9.6  # modifier + head Zipf below this: the pair is a term of art ("reward model")
HYPHENATED_ZIPF = 2.8  # single-use threshold for hyphenated compounds
RARE_MODIFIER_ZIPF = 4.3  # a rare word takes modifiers below this with it ("pipeline parallelism")

# What ML/AI engineers and researchers know without being told (the default audience).
_PEER_BASICS_TEXT = """
AI, ML, NLP, LLM, GPU, CPU, TPU, RAM, VRAM, API, URL, PDF, JSON, CSV, HTTP, SQL, HTML, CUDA, OS, UI, ID,
GPT, GPT-2, GPT-3, GPT-4, BERT, ChatGPT, PyTorch, TensorFlow, JAX, NumPy, Python, GitHub, Hugging Face,
OpenAI, Google, Meta, Microsoft, NVIDIA, DeepMind, Anthropic, Wikipedia, arXiv,
model, language model, transformer, attention, self-attention, multi-head attention, softmax, logit,
token, tokenizer, tokenization, embedding, word embedding, encoder, decoder, fine-tuning, finetuning,
pretraining, pre-training, pretrained, fine-tune, hyperparameter, backpropagation, dropout, feed-forward,
feed-forward network, perceptron, gradient descent, stochastic gradient descent, SGD, Adam, AdamW,
ReLU, GELU, CNN, RNN, LSTM, MLP, GAN, VAE, RL, reinforcement learning, supervised learning,
fp16, fp32, bf16, int8, int4, FLOP, FLOPs, quantization, quantisation, n-gram, ngram, unigram, bigram,
trigram, centroid, warmup, few-shot, zero-shot, one-shot, perplexity, autoregressive,
cosine similarity, dataset, benchmark, F1, accuracy, precision, recall, AUC, ROC, k-means,
neural network, deep learning, machine learning, learning rate, batch size, loss function,
cross-entropy, cross-entropy loss, attention head, hidden layer, output layer, machine translation,
beam search, greedy decoding, tokenize, quantize,
classifier, optimizer, optimiser, retriever, paraphrase, matrices, probabilities, throughput, latency,
epoch, convolution, convolutional, regularization, regularisation, logarithm, GB, MB, KB, TB, GHz, language modelling, language modeling, vector, matrix,
OK, US, UK, EU, TV, AM, PM, PhD, CEO, FAQ, etc, vs
"""
PEER_BASICS = frozenset(t.strip() for t in _PEER_BASICS_TEXT.split(","))

# Heads of multi-word terms of art ("nucleus sampling", "brevity penalty"); a grammatical
# pattern, not a list of terms: the modifier decides whether the phrase is a term.
TECH_HEADS = frozenset("""
sampling search attention penalty frequency normalization normalisation quantization
quantisation list retriever retrieval model smoothing law forgetting negative batching loss
similarity prompting precision accuracy encoding mask masking decoding learning tuning
parallelism distillation cache embedding memory index checkpointing adaptation pooling
encoder decoder objective regularization regularisation gating routing norm kernel estimation
alignment pruning scaling sharding descent
network clipping hashing rank label policy
""".split())

# Modifiers that describe rather than name ("large model", "exact attention").
_GENERIC_MODIFIERS = frozenset("""
new large small big same other first last final full whole single different similar each
every good better best main simple standard original previous next exact low high long short
few many several base own entire given current specific overall total early later earlier
larger smaller fast faster slow strong weak random true real general common typical top
trained learned used proposed resulting underlying following above below further additional
extra more most less least much various certain usual whole shared separate held-out little
plain zero lower higher upper log absolute constant double efficient frozen intermediate valid peak relative fixed
maximum minimum average mean median state-of-the-art
""".split())

STOPWORDS = frozenset("""
a an the and or but nor so yet for of to in on at by from with without within into onto over
under about above below between among through during before after since until upon across
along around behind beyond than as per via against toward towards
i me my we us our ours you your he him his she her it its they them their this that these
those who whom whose which what where when why how whether if then else while because
although though unless once whereas thus hence however therefore instead cannot
both either neither each every all any some no not only also
just very too quite rather even still again ever never always often here there
is are was were be been being am do does did doing done have has had having can could may
might must shall should will would one two three four five six seven eight nine ten
such same own more most less least many much few several other another
let lets get gets got make makes made take takes took see sees seen use uses used
""".split())

# Endings of participles and adjectives: "trained model", "final layer", "useful index" describe a thing.
_ADJECTIVE_ENDINGS = ("ed", "ing", "al", "ive", "ous", "ful", "less", "able", "ible", "ic", "ary", "ly", "est",
                      "-scale", "-style", "-based", "-level", "-wise", "-like", "-sized")

_TOKEN = re.compile(r"\[[A-Z][A-Z0-9]+\]|[A-Za-z0-9]+(?:[-@'’][A-Za-z0-9]+)*")  # "[CLS]" is a token
_PREFIXES = ("re", "pre", "un", "non", "sub", "over", "under", "multi", "co", "de", "mis", "post", "self-", "inter", "mini")
_SENTENCE_END = frozenset(".!?:")
_ROMAN = re.compile(r"^[IVX]{1,4}$")


@dataclass(frozen=True)
class Mention:
    """One occurrence of a candidate term in prose text: its key, surface form and span."""

    key: str
    surface: str
    start: int
    end: int
    kind: str  # name | rare | phrase


@lru_cache(maxsize=65536)
def term_key(surface: str) -> str:
    """The form that case, hyphen and plural variants share: 'KV-caches' -> 'kv cache'."""
    words = re.sub(r"[-\s]+", " ", surface.strip().replace("’", "'")).split(" ")
    words = [_american(w[:-2] if w.endswith("'s") else w) for w in words]
    last = words[-1]
    if len(last) > 2 and last[-1] == "s" and last[-2].isupper():
        last = last[:-1]  # LLMs -> LLM
    else:
        last = _singular(last.lower())
    words[-1] = _american(last)  # "normalisations" -> "normalisation" -> "normalization"
    return " ".join(w.lower() for w in words)


def _american(word: str) -> str:
    for a, b in (("isation", "ization"), ("ising", "izing"), ("ised", "ized"), ("iser", "izer"), ("ise", "ize"),
                 ("ises", "izes")):
        if word.lower().endswith(a) and len(word) > len(a) + 3:
            return word[: -len(a)] + b
    return word


def _singular(word: str) -> str:
    if len(word) <= 3 or word.endswith(("ss", "us", "is", "ous")):
        return word
    if word.endswith("ies") and len(word) > 4:
        return word[:-3] + "y"
    if word.endswith(("ches", "shes", "xes", "sses")):
        # "caches" -> "cache" but "batches" -> "batch": keep the more common stem.
        return word[:-1] if _raw_zipf(word[:-1]) >= _raw_zipf(word[:-2]) else word[:-2]
    if word.endswith("s"):
        return word[:-1]
    return word


@lru_cache(maxsize=1)
def peer_basic_keys() -> frozenset[str]:
    """Term keys of `PEER_BASICS`."""
    return frozenset(term_key(t) for t in PEER_BASICS if t)


@lru_cache(maxsize=1)
def _english_frequencies() -> dict[str, float]:
    from wordfreq import get_frequency_dict

    return get_frequency_dict("en")


_PLAIN_WORD = re.compile(r"[a-z]+")


def zipf_frequency(word: str, lang: str = "en") -> float:
    """wordfreq's Zipf frequency of an English word; plain lowercase words are looked up directly.

    `wordfreq.zipf_frequency` tokenizes and normalizes every query (~40 µs); for a plain
    lowercase ASCII word that is a no-op, so the frequency table answers the same value at once.
    """
    if lang == "en" and _PLAIN_WORD.fullmatch(word):
        freq = _english_frequencies().get(word, 0.0)
        return round(math.log10(freq) + 9, 2) if freq > 0 else 0.0
    from wordfreq import zipf_frequency as tokenized_zipf

    return tokenized_zipf(word, lang)


@lru_cache(maxsize=65536)
def everyday_zipf(word: str) -> float:
    """The highest general-English Zipf frequency among a word's spelling and derivation variants."""
    word = word.lower()
    variants = {word}
    for a, b in (("isation", "ization"), ("ising", "izing"), ("ised", "ized"), ("ise", "ize"),
                 ("ises", "izes"), ("our", "or"), ("tre", "ter")):
        if word.endswith(a):
            variants.add(word[: -len(a)] + b)
    for v in list(variants):
        for suffix, repl in (("s", ""), ("es", ""), ("ed", ""), ("ed", "e"), ("d", "")):
            if v.endswith(suffix) and len(v) - len(suffix) >= 4:
                variants.add(v[: -len(suffix)] + repl)
    for v in list(variants):
        for p in _PREFIXES:
            if v.startswith(p) and len(v) - len(p) >= 4:
                variants.add(v[len(p):].lstrip("-"))
    return max(zipf_frequency(v, "en") for v in variants)


@lru_cache(maxsize=65536)
def _raw_zipf(word: str) -> float:
    return zipf_frequency(word, "en")


@lru_cache(maxsize=65536)
def _is_name(token: str) -> bool:
    """Acronyms, names with internal capitals, and letter+digit tokens (LoRA, GPT-3, T5, vLLM)."""
    token = token.strip("[]")
    if len(token) < 2 or not token[0].isalpha() or _ROMAN.match(token):
        return False
    if sum(c.isupper() for c in token) >= 2 or any(c.isupper() for c in token[1:]):
        return True
    return any(c.isdigit() for c in token)


class _Token(NamedTuple):
    """One word of the prose text with its span (a tuple: thousands are made per draft)."""

    text: str
    start: int
    end: int
    sentence_start: bool
    joined_left: bool  # only spaces (no punctuation) separate it from the previous token


def _tokens(text: str) -> list[_Token]:
    tokens = []
    prev_end = 0
    for m in _TOKEN.finditer(text):
        start, end = m.span()
        gap = text[prev_end:start]
        stripped = gap.strip()
        first = not tokens or "\n" in gap or stripped[-1:] in _SENTENCE_END
        raw = m.group()
        prev_end = end
        if raw.endswith(("'s", "’s")):
            raw, end = raw[:-2], end - 2
        tokens.append(_Token(raw, start, end, first, bool(tokens) and not stripped))
    return tokens


def find_mentions(text: str, extra_keys: frozenset[str] = frozenset(),
                  basics: frozenset[str] | None = None) -> list[Mention]:
    """Every candidate-term occurrence in `text`, in order, without overlaps (longest wins).

    `extra_keys` are keys known to be terms from elsewhere (for example the long form before an
    acronym in parentheses); their plain-word occurrences are reported too. `basics` are keys
    read as ordinary words (default: `PEER_BASICS`; empty for a reader new to ML).
    """
    basics = peer_basic_keys() if basics is None else basics
    tokens = _tokens(text)
    lowered = [t.text.lower() for t in tokens]
    counts: dict[str, int] = {}
    for w in lowered:
        counts[w] = counts.get(w, 0) + 1
    found: list[Mention] = []

    def add(i: int, j: int, kind: str) -> None:  # tokens i..j inclusive
        surface = text[tokens[i].start:tokens[j].end]
        found.append(Mention(term_key(surface), surface, tokens[i].start, tokens[j].end, kind))

    for i, tok in enumerate(tokens):
        word = tok.text
        low = lowered[i]
        if word[0].isdigit() or len(word) < 2:
            continue
        if word.isalpha() and len(word) <= 3 and i > 0 and tokens[i - 1].text[0].isdigit() and tokens[i].joined_left:
            continue  # a unit after a number: "40 GB", "2 ms"
        if _is_name(word):
            j = i
            nxt = tokens[i + 1] if i + 1 < len(tokens) else None
            if nxt is not None and nxt.joined_left and (
                    _singular(nxt.text) in TECH_HEADS and nxt.text.islower()
                    or word.strip("[]").isupper() and len(word.strip("[]")) <= 3 and _is_head_noun_after_acronym(nxt.text)):
                j = i + 1  # "KV cache", "top-20 accuracy", "[CLS] token"
            add(i, j, "name")
            continue
        if low in STOPWORDS or not word.replace("-", "").isalpha():
            continue
        basic = term_key(low) in basics

        title_mid = word[0].isupper() and not tok.sentence_start
        zipf = 9.0 if basic else everyday_zipf(low)
        # Hyphenated compounds ("cross-encoder") are scored by wordfreq piece by piece, so they
        # reach the single-use threshold only when a piece is itself uncommon.
        single_use = HYPHENATED_ZIPF if "-" in low else RARE_ZIPF
        if not basic and (zipf < single_use or (zipf < RECURRING_ZIPF and counts[low] >= 2) or (title_mid and zipf < 2.6)):
            # Take uncommon noun modifiers on the left: "gradient checkpointing", "Jaccard similarity".
            a = i
            while (a > i - 2 and a - 1 >= 0 and tokens[a].joined_left and _is_modifier(tokens[a - 1], lowered[a - 1])
                   and lowered[a - 1] not in _GENERIC_MODIFIERS and everyday_zipf(lowered[a - 1]) < RARE_MODIFIER_ZIPF):
                a -= 1
            b = i
            if b + 1 < len(tokens) and tokens[b + 1].joined_left and lowered[b + 1] in TECH_HEADS \
                    or b + 1 < len(tokens) and tokens[b + 1].joined_left and _singular(lowered[b + 1]) in TECH_HEADS:
                b += 1
            add(a, b, "rare" if a == b else "phrase")
            continue
        if _singular(low) in TECH_HEADS and i > 0 and tok.joined_left:
            a = i - 1
            mod = lowered[a]
            all_basic = basic and term_key(mod) in basics  # "softmax attention"
            if _is_modifier(tokens[a], mod) and mod not in _GENERIC_MODIFIERS and not all_basic:
                if a - 1 >= 0 and tokens[a].joined_left and _is_modifier(tokens[a - 1], lowered[a - 1]) \
                        and lowered[a - 1] not in _GENERIC_MODIFIERS and everyday_zipf(lowered[a - 1]) < PHRASE_ZIPF:
                    a -= 1
                head_zipf = 9.0 if term_key(lowered[i]) in basics else everyday_zipf(low)
                # Coined compounds ("chain-of-thought", "mixture-of-experts") read as common words piece by piece.
                coined = any(w.count("-") >= 2 and w not in _GENERIC_MODIFIERS for w in lowered[a:i])
                # Modifiers by their own frequency: "paged" is rare even though "page" is not.
                mod_zipfs = [_raw_zipf(w) for w in lowered[a:i]]
                if coined or min(mod_zipfs + [head_zipf + 0.7]) < PHRASE_ZIPF or _rare_pairing(
                        lowered[a:i], mod_zipfs, everyday_zipf(low)):
                    add(a, i, "phrase")
    found.extend(_mentions_in_context(text, tokens, lowered, found, basics))
    found = _without_verbs(text, found)
    # Every spelling of a term found above counts as a mention: "KV cache", then "kv caches".
    keys = sorted(set(extra_keys) | {m.key for m in found}, key=len, reverse=True)
    if keys:
        # One alternation for all keys (longest first) instead of one scan per key.
        bodies = [r"[-\s]+".join(_word_pattern(w) for w in key.split(" ")) for key in keys]
        sweep = re.compile(r"(?<![\w-])(?:" + "|".join(bodies) + r")(?:s|es)?(?![\w-])", re.IGNORECASE)
        by_key = {k: k for k in keys}
        for m in sweep.finditer(text):
            key = by_key.get(term_key(m.group()))
            if key is None:  # a plural/spelling the key folds differently: find it by its own pattern
                key = next((k for k in keys if re.fullmatch(_key_pattern(k), m.group(), re.IGNORECASE)), None)
            if key is not None:
                found.append(Mention(key, m.group(), m.start(), m.end(), "phrase"))
    return _without_overlaps(found)


@lru_cache(maxsize=65536)
def word_classes(word: str) -> frozenset[str]:
    """The parts of speech English gives a word form (lemminflect's lexicon): {'VERB'}, {'NOUN', 'VERB'}, ...; empty if unknown."""
    from lemminflect import getAllLemmas

    return frozenset(getAllLemmas(word))


def _is_verb_or_adverb(word: str, *, participle_ok: bool) -> bool:
    """True for a word form that is only a verb ('evaluate', 'using', 'found') or only an adverb ('asynchronously').

    With `participle_ok`, -ed/-ing/-en forms are not counted: before a noun they describe it
    ("sampled negatives", "masked language model")."""
    if participle_ok and word.lower().endswith(("ed", "ing", "en")):
        return False
    classes = word_classes(word.lower()) if word.islower() or not _is_name(word) else frozenset()
    return classes in (frozenset({"VERB"}), frozenset({"ADV"}), frozenset({"ADV", "VERB"}))


def _without_verbs(text: str, found: list[Mention]) -> list[Mention]:
    """Mentions with verbs and adverbs trimmed off their ends: a term is a noun phrase.

    "evaluate model", "compute word similarities", "QA using", "DPR found", "REALM asynchronously"
    are sentence fragments; what remains ("word similarities", "QA", "DPR") is kept when it is
    still a term: several words, a name, or a rare word."""
    out = []
    for m in found:
        words = list(re.finditer(r"\S+", text[m.start:m.end]))
        if len(words) < 2:
            out.append(m)
            continue
        a, b = 0, len(words)
        while a < b - 1 and _is_verb_or_adverb(words[a].group(), participle_ok=True):
            a += 1
        # A gerund head names an operation ("data-dependent hashing"); a common -ing verb does not ("QA using").
        while b > a + 1 and _is_verb_or_adverb(last := words[b - 1].group(), participle_ok=False) and not (
                last.endswith("ing") and (_singular(last.lower()) in TECH_HEADS or everyday_zipf(last.lower()) < 4.5)):
            b -= 1
        if (a, b) == (0, len(words)):
            out.append(m)
            continue
        start, end = m.start + words[a].start(), m.start + words[b - 1].end()
        surface = text[start:end]
        single = b - a == 1
        if not single or _is_name(surface) or everyday_zipf(surface.lower()) < RECURRING_ZIPF:
            out.append(Mention(term_key(surface), surface, start, end, "name" if single and _is_name(surface) else m.kind))
    return out


def _mentions_in_context(text: str, tokens: list[_Token], lowered: list[str], found: list[Mention],
                         basics: frozenset[str]) -> list[Mention]:
    """Terms that need the company of other terms to be told apart from ordinary words.

    - a lowercase word below `CONTEXT_RARE_ZIPF` opening a noun phrase (after a determiner or
      a number) in a sentence that names a model, method or acronym ("a siamese setup" beside
      "SBERT", "5-gram shingles" beside "MinHash"), unless it is a plain derivation or compound
      of common words; in plain prose such words ("knead", "heron") stay ordinary;
    - a capitalised word below `SUBJECT_NAME_ZIPF` that opens a sentence as a bare singular
      subject ("Chinchilla showed", "Gopher was") in a paragraph that already holds terms:
      a common noun would need an article there, a name does not;
    - a hyphenated compound ending in the -s or -ing form of a technical head's verb
      ("mean-pools", "instruction-tuning"), a coined operation in any text.
    """
    index_at = {t.start: i for i, t in enumerate(tokens)}
    sentence_ids, paragraph_ids = [], []
    sentence = paragraph = 0
    for i, tok in enumerate(tokens):
        if i and tok.sentence_start:
            sentence += 1
        if i and "\n\n" in text[tokens[i - 1].end:tok.start]:
            paragraph += 1
        sentence_ids.append(sentence)
        paragraph_ids.append(paragraph)
    covered: set[int] = set()
    named_sentences: set[int] = set()
    term_paragraphs: set[int] = set()
    for m in found:
        i = index_at.get(m.start)
        if i is None:
            continue
        term_paragraphs.add(paragraph_ids[i])
        if m.kind == "name":
            named_sentences.add(sentence_ids[i])
        while i < len(tokens) and tokens[i].start < m.end:
            covered.add(i)
            i += 1
    out = []
    for i, tok in enumerate(tokens):
        low = lowered[i]
        if i in covered or low in STOPWORDS or not tok.text.replace("-", "").isalpha() or term_key(low) in basics:
            continue
        if "-" in low:
            head = _head_operation(low)
            if head and term_key(low.split("-")[0] + "-" + head) not in basics:
                out.append(Mention(term_key(tok.text), tok.text, tok.start, tok.end, "phrase"))
            continue
        if sentence_ids[i] not in named_sentences and not (tok.sentence_start and paragraph_ids[i] in term_paragraphs):
            continue
        zipf = everyday_zipf(low)
        if tok.sentence_start and tok.text[0].isupper():
            if zipf < SUBJECT_NAME_ZIPF and paragraph_ids[i] in term_paragraphs and _is_bare_subject(tokens, lowered, i):
                out.append(Mention(term_key(tok.text), tok.text, tok.start, tok.end, "name"))
        elif (sentence_ids[i] in named_sentences and zipf < CONTEXT_RARE_ZIPF and tok.text.islower()
              and _is_nominal(tokens, lowered, i) and not _is_transparent(low)):
            out.append(Mention(term_key(tok.text), tok.text, tok.start, tok.end, "rare"))
    return out


_SUBJECT_VERBS = frozenset("is was has had can could will would may might does did should must".split())
_DETERMINERS = frozenset("a an the its their this these those each every any some no our his her my your "
                         "one two three several many few such another".split())


def _is_bare_subject(tokens: list[_Token], lowered: list[str], i: int) -> bool:
    """True when a sentence-initial singular word is followed straight away by a verb ("Gopher was")."""
    low = lowered[i]
    if i + 1 >= len(tokens) or not tokens[i + 1].joined_left or (low.endswith("s") and not low.endswith(("ss", "us", "is"))):
        return False
    nxt = lowered[i + 1]
    return tokens[i + 1].text.islower() and (nxt in _SUBJECT_VERBS or nxt.endswith("ed") and len(nxt) > 3
                                             or nxt.endswith("s") and not nxt.endswith(("ss", "us", "is")) and nxt not in STOPWORDS)


def _is_nominal(tokens: list[_Token], lowered: list[str], i: int) -> bool:
    """True when the word opens a noun phrase: right after a determiner or a number ("a siamese setup",
    "5-gram shingles"), and not an adverb or participle. Verbs ("DPR encodes", "to invert") never are."""
    low = lowered[i]
    if i == 0 or low.endswith(("ly", "ing", "ed")) or not tokens[i].joined_left:
        return False
    return lowered[i - 1] in _DETERMINERS or tokens[i - 1].text[0].isdigit()


def _head_operation(word: str) -> str | None:
    """The technical head ('pooling') whose verb ends a hyphenated compound ('mean-pools'), or None."""
    first, last = word.split("-")[0], word.split("-")[-1]
    if first in _PREFIXES or first + "-" in _PREFIXES:
        return None
    # Third-person and -ing forms only: "max-pools", "instruction-tuning"; "large-scale" and
    # "well-tuned" describe, they do not name an operation.
    for suffix in ("ing", "s"):
        if last.endswith(suffix) and len(last) - len(suffix) >= 3:
            base = last[:len(last) - len(suffix)]
            for head in (base + "ing", base[:-1] + "ing" if base.endswith("e") else ""):
                if head in TECH_HEADS:
                    return head
    return None


# Derivations that keep a common word's meaning: "adequacy" (adequate), "worsen" (worse).
_TRANSPARENT_SUFFIXES = (("acy", "ate"), ("ency", "ent"), ("ancy", "ant"), ("ency", "ence"), ("ity", ""), ("ity", "e"),
                         ("ness", ""), ("iness", "y"), ("en", ""), ("en", "e"), ("ment", ""), ("ful", ""), ("less", ""),
                         ("ive", ""), ("able", ""), ("able", "e"))


def _is_transparent(word: str, *, compounds: bool = True) -> bool:
    """True when a rare word is a common word in disguise: a plain derivation or a compound of two common words.

    "inefficiency", "adequacy", "worsen", "checkable", "fanciness", "superfun" and "placeholder" are rare in
    wordfreq but read as ordinary English; "siamese" and "shingles" do not decompose.
    """
    forms = {word}  # inflections first: "worsens", "dependencies"
    for suffix, repl in (("ies", "y"), ("es", ""), ("s", ""), ("ed", ""), ("ed", "e")):
        if word.endswith(suffix) and len(word) - len(suffix) >= 4:
            forms.add(word[:len(word) - len(suffix)] + repl)
    # "superfun", "megabrain": an intensifying prefix on a common word is English too.
    stems = forms | {f[len(p):] for f in forms for p in ("in", "im", "un", "ir", "il", "super", "mega")
                     if f.startswith(p) and len(f) - len(p) >= 3 + 2 * (len(p) < 5)}
    for stem in list(stems):
        for suffix, repl in _TRANSPARENT_SUFFIXES:
            if stem.endswith(suffix) and len(stem) - len(suffix) >= 3:
                stems.add(stem[:len(stem) - len(suffix)] + repl)
    if any(everyday_zipf(stem) >= TRANSPARENT_BASE_ZIPF for stem in stems - forms):
        return True
    return compounds and any(everyday_zipf(word[:k]) >= TRANSPARENT_BASE_ZIPF and everyday_zipf(word[k:]) >= TRANSPARENT_BASE_ZIPF
               for k in range(4, len(word) - 3))


def _rare_pairing(modifiers: list[str], mod_zipfs: list[float], head_zipf: float) -> bool:
    """True when a noun modifier and a technical head would rarely meet by chance in general English.

    Zipf is log10 of frequency per billion words, so the sum of two Zipf values less 9 is the
    Zipf the pair would have if words were drawn independently. Everyday collocations of common
    words ("price list", "role model") sit above `JOINT_ZIPF`; terms of art built from common
    words ("reward model", "product quantization") sit below it. The head is judged by its own
    frequency even when the audience knows it alone: knowing "quantization" is not knowing
    "product quantization". Participles ("trained model") and adjectives describe rather than name.
    """
    mod = modifiers[-1]
    if mod.endswith(_ADJECTIVE_ENDINGS) or mod in _GENERIC_MODIFIERS:
        return False
    return mod_zipfs[-1] + head_zipf < JOINT_ZIPF


def _is_modifier(tok: _Token, low: str) -> bool:
    word = tok.text
    return (word.replace("-", "").isalpha() and low not in STOPWORDS and not (word[0].isupper() and not tok.sentence_start
            and everyday_zipf(low) > 3) and not low.endswith(("ly", "ss")) and len(low) > 2
            and not (low.endswith("s") and not low.endswith(("ss", "us", "is"))))  # "emits": a verb, not a modifier


def _is_head_noun_after_acronym(word: str) -> bool:
    """'KV cache', 'IDF weight' but not 'BM25 scores' (a verb) or 'RLHF and'."""
    low = word.lower()
    return (word.isalpha() and word.islower() and low not in STOPWORDS and not low.endswith(("s", "ed", "ly"))
            and len(low) > 2)


def _word_pattern(word: str) -> str:
    """A key word as a regex that also matches its British spelling: 'normalization' -> 'normali[sz]ation'."""
    escaped = re.escape(word)
    return re.sub(r"iz(?=ation|ing|ed|er|e)", "i[sz]", escaped) if len(word) > 5 else escaped


def _key_pattern(key: str) -> str:
    words = [_word_pattern(w) for w in key.split(" ")]
    return r"(?<![\w-])" + r"[-\s]+".join(words) + r"(?:s|es)?(?![\w-])"


def mention_pattern(key: str) -> re.Pattern[str]:
    """A case-insensitive regex matching a term key's case, hyphen and plural variants in any text."""
    return re.compile(_key_pattern(key), re.IGNORECASE)


def _without_overlaps(mentions: list[Mention]) -> list[Mention]:
    mentions.sort(key=lambda m: (m.start, -(m.end - m.start)))
    kept: list[Mention] = []
    for m in mentions:
        if kept and m.start < kept[-1].end:
            continue
        kept.append(m)
    return kept
