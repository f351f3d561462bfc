"""A decoding-time limit on copying: the model may not continue a verbatim run of its sources past N words.

Asked to write from passages, the default model copies them: in session 8's article bench 36% of its body
sentences were at least 60% one 12-word-or-longer span of a cited passage (bench/results.md), and the repair
round's "say it in your own words" changed few of them. A copied sentence is a quote the reader is not told
about, and copied out of its context it often says something the paper does not ("this setup", "we found").

`CopyGuard` follows, token by token, every place in the source tokens where the generated text's latest tokens
run verbatim. Once such a run holds `max_words` words, the token that would start the source's next word is
banned, and with it every shorter spelling of that word (" enc" for " encoder") and every piece that would glue
it to the word before, also across a punctuation mark ("vector" after " dense": session 9's first guarded drafts
wrote "densevector", "aclosed-book" and "full-row.softmax") and through a token that is a mark and the word at once
(Qwen's vocabulary holds ".model" and ".patch", from code: session 12's ViT draft wrote "each.model" and
"other.patch"), so the model has to go on in its own words. Names and acronyms are never banned (made to avoid
" SRAM" the model wrote " RAM"): the run goes on through them; a lower-case word is banned capitalised too (" Each"
for " each"). Only tokens that start a word are banned: a number, a word's second half or punctuation is never
cut, so the guard cannot turn "78.4" into "78.9". The backends that see logits apply it (llama.cpp, transformers);
an OpenAI-compatible server cannot, and there the repair round's copy check is what remains.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Callable, Iterable, Mapping, Sequence

if TYPE_CHECKING:
    from engine.llm import GenerationParams

_SEPARATOR = -1  # between two sources: no run crosses it
# Marks a code-trained vocabulary glues to a word in one token (".model", "-model", "_model", ",model").
GLUE_MARKS = ".,;:-_/"


def starts_word(piece: str) -> bool:
    """Whether a token's text begins a new word: a space followed by a letter."""
    return len(piece) >= 2 and piece[0] == " " and piece[1].isalpha()


class CopyGuard:
    """Which tokens to ban next so that no run of generated tokens copies a source past `max_words` words.

    `sources`: each source's token ids; `piece_of(id)`: a token's text; `ids_of_piece`: text → token id for the
    vocabulary (for the shorter spellings of a banned word; may be empty). Feed each generated token with
    `feed`, then ask `banned()` before choosing the next one."""

    def __init__(self, sources: Iterable[Sequence[int]], piece_of: Callable[[int], str], max_words: int,
                 ids_of_piece: Mapping[str, int] | None = None):
        self.max_words = max_words
        self._tokens: list[int] = []
        for source in sources:
            self._tokens.extend(source)
            self._tokens.append(_SEPARATOR)
        self._positions: dict[int, list[int]] = {}
        for i, token in enumerate(self._tokens):
            if token != _SEPARATOR:
                self._positions.setdefault(token, []).append(i)
        pieces = {token: piece_of(token) for token in self._positions}
        self._word_start = [token != _SEPARATOR and starts_word(pieces[token]) for token in self._tokens]
        self._words_before = [0]  # _words_before[i]: word-starting tokens among the first i
        for flag in self._word_start:
            self._words_before.append(self._words_before[-1] + flag)
        # A word-starting token → its spellings with a space (it, " enc" for " encoder") and glued to what comes
        # before ("encoder", "enc"). A name or acronym is never banned: made to swap " SRAM" the model wrote
        # " RAM", a different memory (session 9's first run); the run goes on, and the next word is banned.
        self._spellings: dict[int, set[int]] = {}
        self._glued: dict[int, set[int]] = {}
        ids_of_piece = ids_of_piece or {}
        for token, piece in pieces.items():
            if starts_word(piece) and piece == piece.lower():
                spaced = [piece[:k] for k in range(2, len(piece))]
                # ... and capitalised mid-sentence (" Each" for " each": session 13's Transformer draft wrote "of
                # Each head" and "h = 8 Parallel attention layers"); the source's word is lower case here, so
                # this is never a sentence's first word
                spaced += [" " + p[1:].capitalize() for p in spaced + [piece]]
                glued = [piece[1:k] for k in range(2, len(piece) + 1)]
                glued += [mark + g for mark in GLUE_MARKS for g in glued]
                self._spellings[token] = {token} | {ids_of_piece[p] for p in spaced if p in ids_of_piece}
                self._glued[token] = {ids_of_piece[p] for p in glued if p in ids_of_piece}
        self._piece_of = piece_of
        self._runs: dict[int, int] = {}  # source position of a run's last token → the run's length in tokens
        self._last_glued: set[int] = set()  # glued spellings of the words banned before the latest token
        self._carried: set[int] = set()  # ... still banned after a punctuation mark ("full-row.softmax")
        self._seen: int | None = None  # how many of a backend's ids `banned_after` has fed

    def feed(self, token: int) -> None:
        """Extend or end every verbatim run with the token just generated."""
        runs = self._runs
        self._runs = {q: runs.get(q - 1, 0) + 1 for q in self._positions.get(token, ())}
        piece = self._piece_of(token)
        punctuation = bool(piece) and not any(c.isalnum() or c.isspace() for c in piece)
        self._carried = self._last_glued if punctuation else set()

    def longest_run_words(self) -> int:
        """Words in the longest verbatim run that ends at the latest token."""
        return max((self._words_before[q + 1] - self._words_before[q + 1 - n] for q, n in self._runs.items()),
                   default=0)

    def banned(self) -> set[int]:
        """Tokens that would carry a run of `max_words` words or more on into the source's next word."""
        banned, glued = set(), set()
        for q, n in self._runs.items():
            word = self._tokens[q + 1]
            if word not in self._spellings:  # the separator, a token inside a word or number, or a name
                continue
            if self._words_before[q + 1] - self._words_before[q + 1 - n] >= self.max_words:
                banned |= self._spellings[word]
                glued |= self._glued[word]
        self._last_glued = glued
        return banned | glued | self._carried


    def banned_after(self, ids: Sequence[int]) -> set[int]:
        """`banned()` once the tokens `ids` holds beyond what it held at the last call are fed: `ids` is the
        sequence a backend's logits hook sees (prompt and tokens generated so far), the first call's the prompt."""
        if self._seen is None:
            self._seen = len(ids)
        for token in ids[self._seen:]:
            self.feed(int(token))
        self._seen = len(ids)
        return self.banned()


def guard_for(params: GenerationParams, tokenize: Callable[[str], Sequence[int]], piece_of: Callable[[int], str],
              vocabulary: Callable[[], Mapping[str, int]]) -> CopyGuard | None:
    """The guard that applies `params.no_copy` to one generation, or None when it limits nothing. `vocabulary`
    returns the backend's `vocabulary_ids` (built once, on the first guarded generation)."""
    if not params.no_copy or params.no_copy_words <= 0:
        return None
    return CopyGuard([tokenize(text) for text in params.no_copy], piece_of, params.no_copy_words, vocabulary())


def vocabulary_ids(pieces: Iterable[tuple[int, str]]) -> dict[str, int]:
    """Text → token id over a vocabulary's tokens of letters, with one leading space, none, or one of
    `GLUE_MARKS` (the first id when two share a text): the spellings `CopyGuard` bans beside a word."""
    ids: dict[str, int] = {}
    for token, piece in pieces:
        word = piece[1:] if piece[:1] in GLUE_MARKS or piece[:1] == " " else piece
        if word.isalpha() and piece not in ids:
            ids[piece] = token
    return ids
