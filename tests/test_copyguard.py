"""The copy guard: no verbatim run of a source past N words, with the real bundled models and on its own."""

from __future__ import annotations

import pytest

from engine.evaluate.copying import SourceText, find_copied_spans
from engine.llm import GenerationParams, Message, generate
from engine.llm.copyguard import CopyGuard, starts_word, vocabulary_ids

SOURCE = ("Dense passage retrieval encodes each question and each passage with its own BERT encoder and ranks the "
          "passages by the inner product of the two vectors, which a FAISS index searches in milliseconds.")
PARROT = [Message("system", "You repeat text exactly, word for word, and add nothing."),
          Message("user", f"Repeat this text exactly:\n\n{SOURCE}")]


# ----------------------------------------------------------------------------- the guard on its own
# A toy vocabulary: one token per word (with its leading space), plus split spellings and digits.
WORDS = [" the", " model", " reads", " each", " passage", " twice", " and", " then", " writes", " pass", " pa",
         " 7", "8", ".", "4", "passage", "pass", "p", " in", " SRAM", " instead", ".passage", "-pass", ".p", " Passage",
         " Pass"]
IDS = {piece: i for i, piece in enumerate(WORDS)}


def ids(*pieces: str) -> list[int]:
    return [IDS[p] for p in pieces]


def guard(source: list[int], max_words: int) -> CopyGuard:
    return CopyGuard([source], WORDS.__getitem__, max_words, vocabulary_ids(enumerate(WORDS)))


def test_a_run_at_the_limit_bans_the_next_word_and_its_shorter_spellings():
    source = ids(" the", " model", " reads", " each", " passage", " twice")
    g = guard(source, 4)
    for token in ids(" the", " model", " reads"):
        g.feed(token)
        assert g.banned() == set()  # three words copied: under the limit
    g.feed(IDS[" each"])
    assert g.longest_run_words() == 4
    # ... and the pieces that would glue it to " each" ("eachpassage"), which the default model wrote when only
    # the spaced spellings were banned
    assert g.banned() == set(ids(" passage", " pa", " pass", "passage", "pass", "p", ".passage", "-pass", ".p",
                                     " Passage", " Pass"))


def test_a_glued_spelling_stays_banned_across_a_punctuation_mark():
    g = guard(ids(" the", " model", " reads", " each", " passage", " twice"), 4)
    for token in ids(" the", " model", " reads", " each"):
        g.feed(token)
    g.banned()
    g.feed(IDS["."])  # "each." and then "passage" would still read as the source's words
    # (a new sentence may start with the word capitalised: " Passage" is free after the stop)
    assert g.banned() == set(ids("passage", "pass", "p", ".passage", "-pass", ".p"))
    g.feed(IDS[" then"])
    assert g.banned() == set()


def test_a_token_that_glues_a_mark_to_the_next_word_is_banned_with_it():
    # Qwen's vocabulary holds ".model" and ".patch" as single tokens: with only " patch" and "patch" banned, the
    # default model wrote "other.patch" (session 12's ViT draft).
    g = guard(ids(" the", " model", " reads", " each", " passage", " twice"), 4)
    for token in ids(" the", " model", " reads", " each"):
        g.feed(token)
    assert {IDS[".passage"], IDS["-pass"], IDS[".p"]} <= g.banned()
    # ... and so is the word capitalised mid-sentence ("of Each head", session 13's Transformer draft)
    assert {IDS[" Passage"], IDS[" Pass"]} <= g.banned()
    assert vocabulary_ids([(0, ".model"), (1, "-row"), (2, "..."), (3, "  two"), (4, ".4")]) == {".model": 0, "-row": 1}


def test_a_name_or_acronym_is_never_banned_and_the_next_word_is():
    # Made to swap " SRAM", the default model wrote " RAM": a different memory.
    g = guard(ids(" the", " model", " reads", " each", " passage", " in", " SRAM", " instead"), 5)
    for token in ids(" the", " model", " reads", " each", " passage"):
        g.feed(token)
    assert g.banned() == {IDS[" in"]}
    g2 = guard(ids(" the", " model", " reads", " each", " passage", " in", " SRAM", " instead"), 6)
    for token in ids(" the", " model", " reads", " each", " passage", " in"):
        g2.feed(token)
    assert g2.banned() == set()
    g2.feed(IDS[" SRAM"])
    assert g2.banned() == set(ids(" instead", " in"))  # " in" + "stead" would spell it too


def test_banned_after_feeds_what_a_backends_sequence_holds_beyond_its_prompt():
    # A backend's logits hook sees the prompt and the tokens generated so far; the first call's ids are the prompt.
    source = ids(" the", " model", " reads", " each", " passage", " twice")
    g = guard(source, 4)
    prompt = ids(" the", " model", " reads", " each")  # the prompt quotes the source: that is no copy
    assert g.banned_after(prompt) == set()
    sequence = prompt + ids(" the", " model", " reads")
    for end in range(len(prompt) + 1, len(sequence) + 1):
        assert g.banned_after(sequence[:end]) == set()
    assert g.banned_after(sequence + ids(" each")) == set(ids(" passage", " pa", " pass", "passage", "pass", "p",
                                                               ".passage", "-pass", ".p", " Passage", " Pass"))


def test_a_run_that_leaves_the_source_is_forgotten():
    g = guard(ids(" the", " model", " reads", " each", " passage"), 3)
    for token in ids(" the", " model", " reads"):
        g.feed(token)
    assert g.banned() == {IDS[" each"]}
    g.feed(IDS[" writes"])  # the model went on in its own words
    assert g.banned() == set() and g.longest_run_words() == 0


def test_numbers_and_word_pieces_are_never_banned():
    # "the model reads 78.4": after the limit the digits go on; only the next word would be cut.
    source = ids(" the", " model", " reads", " 7", "8", ".", "4", " and")
    g = guard(source, 3)
    for token in ids(" the", " model", " reads"):
        g.feed(token)
    assert g.banned() == set()  # " 7" is a space and a digit, not a word: a number is never cut
    for token in ids(" 7", "8", "."):
        g.feed(token)
        assert g.banned() == set()
    g.feed(IDS["4"])
    assert g.banned() == {IDS[" and"]}


def test_no_run_crosses_from_one_source_into_the_next():
    g = CopyGuard([ids(" the", " model", " reads"), ids(" each", " passage")], WORDS.__getitem__, 2)
    for token in ids(" the", " model", " reads"):
        g.feed(token)
    assert g.banned() == set()  # the first source ends here; " each" starts another one
    assert starts_word(" model") and not starts_word("8") and not starts_word(" 7")


# ----------------------------------------------------------------------------- with the real models
def longest_copy(text: str) -> int:
    spans = find_copied_spans(text, [SourceText("s", "source", SOURCE)], shingle=3, min_words=3)
    return max((s.words for s in spans.spans), default=0)


@pytest.mark.parametrize("backend", ["llama_llm", "hf_llm"])
def test_a_model_told_to_repeat_its_source_cannot_copy_past_the_limit(backend, request):
    llm = request.getfixturevalue(backend)
    free = generate(llm, PARROT, GenerationParams(max_new_tokens=60, temperature=0.0, repetition_penalty=1.0))
    assert longest_copy(free.text) >= 12, free.text  # unguarded, the small model parrots the sentence
    guarded = generate(llm, PARROT, GenerationParams(max_new_tokens=60, temperature=0.0, repetition_penalty=1.0,
                                                     no_copy=(SOURCE,), no_copy_words=5))
    assert guarded.text.strip() and guarded.text != free.text
    # 5 words and the pieces of the word that runs on (a number, punctuation) at most
    assert longest_copy(guarded.text) <= 6, guarded.text


def test_the_default_model_drafts_in_its_own_words_with_the_guard(writer_llm):
    messages = [Message("system", "You write clear technical prose for ML engineers."),
                Message("user", f"Source [1]: {SOURCE}\n\nIn two sentences, explain how dense passage retrieval "
                                "finds passages. Put [1] after each fact.")]
    guarded = generate(writer_llm, messages, GenerationParams(max_new_tokens=90, temperature=0.0, seed=7,
                                                              no_copy=(SOURCE,), no_copy_words=8))
    text = guarded.text
    assert longest_copy(text) <= 9, text
    assert "[1]" in text and ("BERT" in text or "encoder" in text), text  # still about its source
