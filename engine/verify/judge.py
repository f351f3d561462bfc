"""Meaning-level judges behind the `EntailmentModel` protocol: does the evidence say what the sentence says?

The cheap signals (support.py) see shared words, numbers and names; they pass fluent sentences that
reuse a source's words and say something else. A judge reads the sentence against the evidence it
was matched to and returns P(supported):

- `CrossEncoderJudge`: the embedded all-MiniLM-L6-v2 encoder fine-tuned as a cross-encoder on
  human-labeled attribution data (SciFact train, our pairs, the fitting half of AttributionBench
  dev). It is built on the user's machine at set-up (`python -m engine.verify.judge build`: about
  1,150 examples, 2 epochs, 21 minutes on one core of a busy shared 2-core machine) into
  `<data dir>/cache/verify-judge`; nothing is downloaded.
- `ProbeJudge`: the drafting model (llama.cpp) reads the same yes/no question, and a linear probe fitted on
  the AttributionBench fit half (bench/verify_probe.py; engine/data/verify_probe.json) reads its hidden
  state where the answer would begin. It belongs to the one GGUF file it was fitted on (the default
  profile's). Of the judges here it is the one that beats the signals on held-out data (bench/results.md,
  verify-probe), so `auto` uses it in evaluations wherever that model runs.
- `LlmJudge`: the drafting model (llama.cpp) asked "is the claim supported? Yes/No", scored from the
  token probabilities of its answer: the judge for a GGUF no probe was fitted on.
The drafting model's judges cost seconds per call, so support_score asks them only where the signals alone
are unsure (the `unsure_band` fitted into verify_weights.json), and weighs their log-odds with their own
fitted combination (`with_probe_judge`, `with_llm_judge`). `load_llm_judge` shares one copy of either.

`load_judge` returns the built cross-encoder when it exists, else None; with no judge, verify runs on the
signals alone and says so (`judge_name`).
"""

from __future__ import annotations

import functools
import json
import math
import os
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np

JUDGE_DIR_NAME = "verify-judge"
_MAX_TOKENS = 256
# The drafting model's judges read at most this much of a claim and of its evidence (~150 words by design).
_CLAIM_WORDS = 120
_EVIDENCE_WORDS = 220
SIGNALS_ONLY = "signals only (no judge built: run `python -m engine.verify.judge build`)"


def judge_dir(cache_dir: Path) -> Path:
    """Where the set-up build puts the fine-tuned cross-encoder."""
    return Path(cache_dir) / JUDGE_DIR_NAME


@dataclass(frozen=True)
class Example:
    """One labeled (claim, evidence) pair for training or measuring a judge."""

    claim: str
    evidence: str
    supported: bool
    source: str = ""


class CrossEncoderJudge:
    """A fine-tuned MiniLM cross-encoder: P(the evidence supports the claim)."""

    def __init__(self, model_dir: Path) -> None:
        import torch  # heavy: imported when a judge is first built
        from transformers import AutoModelForSequenceClassification, AutoTokenizer

        meta_path = Path(model_dir) / "judge.json"
        if not meta_path.is_file():
            from engine.errors import ModelError

            raise ModelError(f"No verify judge in {model_dir}.",
                             "Build it with `python -m engine.verify.judge build` (scripts/setup.sh does).")
        self.meta = json.loads(meta_path.read_text(encoding="utf-8"))
        self.name = f"cross-encoder judge ({self.meta.get('base', 'MiniLM')}, fine-tuned)"
        self._torch = torch
        self._tokenizer = AutoTokenizer.from_pretrained(str(model_dir))
        self._model = AutoModelForSequenceClassification.from_pretrained(str(model_dir))
        self._model.eval()
        self._lock = threading.Lock()

    def entailment(self, premise: str, hypothesis: str) -> float:
        return self.entailment_batch([(premise, hypothesis)])[0]

    def entailment_batch(self, pairs: Sequence[tuple[str, str]], batch_size: int = 16) -> list[float]:
        """P(supported) for each (premise, hypothesis) pair."""
        out: list[float] = []
        with self._lock, self._torch.inference_mode():
            for start in range(0, len(pairs), batch_size):
                chunk = pairs[start:start + batch_size]
                batch = _encode(self._tokenizer, [h for _, h in chunk], [p for p, _ in chunk])
                logits = self._model(**batch).logits[:, 0]
                out.extend(float(x) for x in self._torch.sigmoid(logits))
        return out


def _encode(tokenizer, claims: Sequence[str], evidence: Sequence[str]):
    # The claim goes first and is never cut; long evidence is truncated from its end.
    return tokenizer(list(claims), list(evidence), truncation="only_second", max_length=_MAX_TOKENS,
                     padding=True, return_tensors="pt")


def judge_messages(premise: str, hypothesis: str, *, claim_words: int = _CLAIM_WORDS,
                   evidence_words: int = _EVIDENCE_WORDS) -> list[dict]:
    """The yes/no question the drafting model's judges read: is the claim supported by this evidence?
    A claim longer than `claim_words` is cut (a sentence of a draft never is), and so is evidence longer than
    `evidence_words` (the ~150-word window can hold one unpunctuated run of a web page)."""
    from engine import prompts

    claim = " ".join(hypothesis.split()[:claim_words])
    evidence = " ".join(premise.split()[:evidence_words])
    user = prompts.JUDGE_CLAIM.format(notice=prompts.SOURCES_NOTICE,
                                      sources=prompts.sources_block([(1, "evidence", evidence)]), claim=claim)
    return [{"role": "system", "content": prompts.JUDGE_SYSTEM}, {"role": "user", "content": user}]


class LlmJudge:
    """The drafting model as a yes/no judge: P(Yes) / (P(Yes) + P(No)) of its first answer token."""

    weights_key = "with_llm_judge"  # its own combination and unsure band in engine/data/verify_weights.json

    def __init__(self, model_path: str | Path, *, n_threads: int = 2, n_ctx: int = 2048) -> None:
        from llama_cpp import Llama  # heavy: imported when the judge is built

        self.name = f"LLM judge ({Path(model_path).name})"
        # logits_all: llama.cpp returns token log-probabilities only when it keeps every position's logits.
        self._llm = Llama(model_path=str(model_path), n_ctx=n_ctx, n_threads=n_threads, logits_all=True,
                          verbose=False)
        self._lock = threading.Lock()

    def entailment(self, premise: str, hypothesis: str) -> float:
        yes, no = self.yes_no(premise, hypothesis)
        return yes / (yes + no) if yes + no > 0 else 0.5

    def yes_no(self, premise: str, hypothesis: str) -> tuple[float, float]:
        """P("Yes") and P("No") of the model's first answer token (each summed over casing and spacing)."""
        with self._lock:
            reply = self._llm.create_chat_completion(judge_messages(premise, hypothesis), max_tokens=1,
                                                     temperature=0.0, logprobs=True, top_logprobs=20)
        top = reply["choices"][0]["logprobs"]["content"][0]["top_logprobs"]
        yes = sum(math.exp(t["logprob"]) for t in top if t["token"].strip().lower() == "yes")
        no = sum(math.exp(t["logprob"]) for t in top if t["token"].strip().lower() == "no")
        return yes, no


PROBE_PATH = Path(__file__).resolve().parents[1] / "data" / "verify_probe.json"


def save_probe(path: Path, probe: dict) -> None:
    """Write a fitted probe where `load_probe` reads it (bench/verify_probe.py calls this)."""
    Path(path).write_text(json.dumps(probe) + "\n", encoding="utf-8")


def load_probe(path: Path = PROBE_PATH) -> dict | None:
    """The linear probe bench/verify_probe.py fitted ({"model", "weights", "bias", ...}), or None when none ships."""
    return json.loads(path.read_text(encoding="utf-8")) if Path(path).is_file() else None


def probe_for(model_path: str | Path) -> dict | None:
    """The shipped probe when it was fitted on this very model file, else None."""
    probe = load_probe()
    return probe if probe is not None and probe.get("model") == Path(model_path).name else None


class ProbeJudge:
    """The drafting model's reading of the judge question, scored by a linear probe on its hidden state.

    Asked zero-shot, the 1.5B drafting model answers Yes to most claims; its hidden state at the answer position
    (the last prompt token, where it would say Yes or No) holds more than that first token shows. A logistic
    probe over that state, fitted by bench/verify_probe.py on the AttributionBench fit half and kept in
    engine/data/verify_probe.json, turns it into P(supported). A probe belongs to the one model file it was fitted
    on: any other model gets the yes/no `LlmJudge` instead (`judge_for`). One read of the prompt (~300 tokens)
    costs about as much as the yes/no judge's, seconds on 2 cores, so it too runs only where the signals are
    unsure (`with_probe_judge` in verify_weights.json)."""

    weights_key = "with_probe_judge"

    def __init__(self, model_path: str | Path, probe: dict | None = None, *, n_threads: int = 2,
                 n_ctx: int = 1024) -> None:
        import llama_cpp  # heavy: imported when the judge is built
        from llama_cpp.llama_chat_format import Jinja2ChatFormatter

        self._file = Path(model_path).name
        self.name = f"LLM probe judge ({self._file})"
        probe = self._check(probe if probe is not None else load_probe())  # before the model loads: fail fast
        # n_batch = n_ubatch = n_ctx: llama.cpp reads a pooled prompt in one batch.
        self._llm = llama_cpp.Llama(model_path=str(model_path), n_ctx=n_ctx, n_batch=n_ctx, n_ubatch=n_ctx,
                                    n_threads=n_threads, embedding=True,
                                    pooling_type=llama_cpp.LLAMA_POOLING_TYPE_LAST, verbose=False)
        self.use_probe(probe)
        eos = self._llm.detokenize([self._llm.token_eos()]).decode("utf-8", "ignore")
        bos = self._llm.detokenize([self._llm.token_bos()]).decode("utf-8", "ignore")
        self._format = Jinja2ChatFormatter(template=self._llm.metadata["tokenizer.chat_template"], eos_token=eos,
                                           bos_token=bos)
        self._lock = threading.Lock()

    def _check(self, probe: dict | None) -> dict:
        from engine.errors import ModelError

        if probe is None or probe.get("model") != self._file:
            raise ModelError(f"No verify probe fitted for {self._file}.",
                             "Use PEERDRAFT_VERIFY_JUDGE=llm with that model for the yes/no judge, or fit a probe "
                             "with bench/verify_probe.py.")
        return probe

    def use_probe(self, probe: dict | None) -> None:
        """Score with `probe` from now on (it must be fitted on this model file, one weight per hidden unit)."""
        from engine.errors import ModelError

        probe = self._check(probe)
        if self._llm.n_embd() != len(probe["weights"]):
            raise ModelError(f"The verify probe has {len(probe['weights'])} weights but {self._file} "
                             f"has {self._llm.n_embd()} hidden units.", "Refit it with bench/verify_probe.py.")
        self._weights = np.asarray(probe["weights"], dtype=np.float64)
        self._bias = float(probe["bias"])

    def prompt(self, premise: str, hypothesis: str) -> str:
        """The chat-formatted judge question, ending where the model's answer would begin; evidence whose words
        split into many tokens (numbers, URLs) is cut further until the question fits the context."""
        words = _EVIDENCE_WORDS
        while True:
            text = self._format(messages=judge_messages(premise, hypothesis, evidence_words=words)).prompt
            if words <= 20 or len(self._llm.tokenize(text.encode("utf-8"), special=True)) <= self._llm.n_ctx():
                return text
            words //= 2

    def hidden_state(self, premise: str, hypothesis: str) -> np.ndarray:
        """The model's last-layer state at the answer position (what the probe reads)."""
        with self._lock:
            return np.asarray(self._llm.embed(self.prompt(premise, hypothesis), truncate=False), dtype=np.float64)

    def probability(self, state: np.ndarray) -> float:
        z = float(state @ self._weights + self._bias)
        return 1.0 / (1.0 + math.exp(-max(-30.0, min(30.0, z))))

    def entailment(self, premise: str, hypothesis: str) -> float:
        return self.probability(self.hidden_state(premise, hypothesis))


class SectionJudge:
    """While drafting: the drafting model asked, after the section's own prompt cut at its sources, whether those
    sources state a claim (P(Yes) / (P(Yes) + P(No)) of its answer).

    llama.cpp still holds that prompt in its cache, so a question costs its own ~50 tokens (about a second on
    2 cores) instead of a new read of the sources. It reads the claim against every source the section was given
    (the premise support_score passes is among them). It only vetoes: a sentence the signals pass that it reads
    as unsupported fails (`vetoes`); it never rescues one the signals reject."""

    vetoes = True

    def __init__(self, llm, messages: Sequence, threshold: float) -> None:
        from engine.llm import Message

        system, user = messages[0], messages[-1]
        cut = user.content.find("\n</sources>")
        if cut < 0:
            raise ValueError("SectionJudge needs the section's drafting prompt with its <sources> block.")
        self._llm, self.threshold = llm, threshold
        self._system = Message(system.role, system.content)
        self._prefix = user.content[:cut + len("\n</sources>")]
        self.name = f"self-check ({getattr(llm, 'model_name', 'drafting model')} re-reading the section's sources)"

    def entailment(self, premise: str, hypothesis: str) -> float:
        from engine import prompts
        from engine.llm import Message

        question = self._prefix + prompts.SECTION_CLAIM.format(claim=" ".join(hypothesis.split()))
        yes, no = self._llm.answer_probabilities([self._system, Message("user", question)], ("Yes", "No"))
        return yes / (yes + no) if yes + no > 0 else 0.5


class SelfCheck:
    """The drafting judge `judge_for(settings, drafting=True)` returns for the llama.cpp backend: `for_section`
    binds it to each section's prompt (a `SectionJudge`), or gives None where the model cannot answer."""

    def __init__(self, threshold: float) -> None:
        self.threshold = threshold
        self.name = "self-check (the drafting model re-reading each section's sources)"

    def for_section(self, llm, messages: Sequence) -> SectionJudge | None:
        if not hasattr(llm, "answer_probabilities"):
            return None
        return SectionJudge(llm, messages, self.threshold)


def load_judge(cache_dir: Path) -> CrossEncoderJudge | None:
    """The cross-encoder judge built at set-up under `cache_dir`, or None when it was not built."""
    meta = judge_dir(cache_dir) / "judge.json"
    if not meta.is_file():
        return None
    return _loaded(str(meta.parent.resolve()), meta.stat().st_mtime_ns)


@functools.lru_cache(maxsize=2)
def _loaded(directory: str, _version: int) -> CrossEncoderJudge:
    # One copy per built judge (a rebuild changes the version): every evaluation shares it, under its lock.
    return CrossEncoderJudge(Path(directory))


def load_llm_judge(model_path: str | Path, n_threads: int = 2) -> LlmJudge | ProbeJudge:
    """The drafting model's GGUF file as a judge, loaded once per file and shared (under its lock): read by the
    shipped probe when it was fitted on this very file (`ProbeJudge`), else asked yes/no (`LlmJudge`)."""
    if probe_for(model_path) is not None:
        return _loaded_probe(str(Path(model_path).resolve()), n_threads, PROBE_PATH.stat().st_mtime_ns)
    return _loaded_llm(str(Path(model_path).resolve()), n_threads)


@functools.lru_cache(maxsize=1)
def _loaded_llm(path: str, n_threads: int) -> LlmJudge:
    return LlmJudge(path, n_threads=n_threads)


@functools.lru_cache(maxsize=1)
def _loaded_probe(path: str, n_threads: int, _version: int) -> ProbeJudge:
    return ProbeJudge(path, n_threads=n_threads)


def judge_for(settings, *, drafting: bool):
    """The judge the settings choose (`verify_judge`), or None for the signals alone.

    auto: in evaluations the drafting model read by its probe (`ProbeJudge`) when the llama.cpp backend runs the
    very GGUF file the shipped probe was fitted on (the default profile's), else the cross-encoder when built
    at set-up, else nothing; while drafting nothing (in drafting the cross-encoder removed nearly every
    supported sentence of a RAG draft: bench/results.md, verify); signals: nothing; llm: the drafting model's
    GGUF as a judge, which needs the llama.cpp backend: while drafting the self-check (`SelfCheck`, asked
    after each section's own prompt), in evaluations `ProbeJudge` where a probe was fitted on that model file,
    else the yes/no `LlmJudge` (`load_llm_judge`)."""
    if settings.verify_judge == "signals" or (settings.verify_judge == "auto" and drafting):
        return None
    if settings.verify_judge == "auto":
        probed = _probed_model(settings)
        if probed is not None:
            return load_llm_judge(probed, n_threads=settings.llm_threads or os.cpu_count() or 1)
        return load_judge(settings.cache_dir)
    from engine.errors import ConfigError
    from engine.llm import resolve_backend
    from engine.llm.llamacpp import gguf_path

    if resolve_backend(settings) != "llama-cpp":
        raise ConfigError("PEERDRAFT_VERIFY_JUDGE=llm needs the llama.cpp backend (a GGUF drafting model), "
                          f"but the backend is {resolve_backend(settings)!r}.",
                          "Set PEERDRAFT_VERIFY_JUDGE=auto, or draft with a GGUF model.")
    if drafting:
        from engine.verify.support import SELF_CHECK_THRESHOLD

        return SelfCheck(SELF_CHECK_THRESHOLD)
    path, _ = gguf_path(settings)
    return load_llm_judge(path, n_threads=settings.llm_threads or os.cpu_count() or 1)


def _probed_model(settings) -> Path | None:
    """The drafting GGUF when llama.cpp runs it and the shipped probe was fitted on that file, else None."""
    from engine.errors import PeerDraftError
    from engine.llm import resolve_backend

    try:
        if resolve_backend(settings) != "llama-cpp":
            return None
        from engine.llm.llamacpp import gguf_path

        path, _ = gguf_path(settings)
    except (PeerDraftError, ImportError):  # no model installed or no llama.cpp: the next judge in line
        return None
    return path if path.is_file() and probe_for(path) is not None else None


def judge_name(judge) -> str:
    """What judged the sentences, in words for the check panel."""
    return getattr(judge, "name", type(judge).__name__) if judge is not None else SIGNALS_ONLY


def train_cross_encoder(examples: Sequence[Example], out_dir: Path, *, base_dir: Path | None = None,
                        epochs: int = 2, batch_size: int = 16, learning_rate: float = 4e-5, seed: int = 7,
                        on_progress=None) -> dict:
    """Fine-tune MiniLM (the embedded encoder by default) on `examples`; save it and return its metadata."""
    import random

    import torch
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    from engine.bundled_models import embedded_embedder_dir

    base = Path(base_dir) if base_dir else embedded_embedder_dir()
    torch.manual_seed(seed)
    rng = random.Random(seed)
    tokenizer = AutoTokenizer.from_pretrained(str(base))
    model = AutoModelForSequenceClassification.from_pretrained(str(base), num_labels=1)
    model.train()
    optimizer = torch.optim.AdamW(model.parameters(), lr=learning_rate, weight_decay=0.01)
    order = list(range(len(examples)))
    steps = epochs * math.ceil(len(order) / batch_size)
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda step: min(1.0, (step + 1) / max(1, steps // 10)) * max(0.0, 1 - step / steps))
    positives = sum(e.supported for e in examples)
    # Balance the classes in the loss: the sources mix them unevenly.
    pos_weight = torch.tensor((len(examples) - positives) / max(1, positives))
    loss_fn = torch.nn.BCEWithLogitsLoss(pos_weight=pos_weight)
    started, step = time.time(), 0
    for epoch in range(epochs):
        rng.shuffle(order)
        for start in range(0, len(order), batch_size):
            chunk = [examples[i] for i in order[start:start + batch_size]]
            batch = _encode(tokenizer, [e.claim for e in chunk], [e.evidence for e in chunk])
            target = torch.tensor([1.0 if e.supported else 0.0 for e in chunk])
            loss = loss_fn(model(**batch).logits[:, 0], target)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
            scheduler.step()
            optimizer.zero_grad()
            step += 1
            if on_progress is not None and step % 20 == 0:
                on_progress(f"epoch {epoch + 1}/{epochs} step {step}/{steps} loss {loss.item():.3f} "
                            f"({time.time() - started:.0f} s)")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(str(out_dir))
    tokenizer.save_pretrained(str(out_dir))
    sources: dict[str, int] = {}
    for e in examples:
        sources[e.source] = sources.get(e.source, 0) + 1
    meta = {"base": "all-MiniLM-L6-v2", "examples": len(examples), "sources": sources, "epochs": epochs,
            "batch_size": batch_size, "learning_rate": learning_rate, "seed": seed,
            "train_seconds": round(time.time() - started, 1), "max_tokens": _MAX_TOKENS}
    (out_dir / "judge.json").write_text(json.dumps(meta, indent=2), encoding="utf-8")
    return meta


def _print(message: str) -> None:
    print(message, flush=True)


def main(argv: Iterable[str] | None = None) -> int:
    """`python -m engine.verify.judge build [--data-dir D]`: fine-tune the cross-encoder judge."""
    import argparse

    from engine.settings import load_settings
    from engine.verify import judge_data

    parser = argparse.ArgumentParser(prog="python -m engine.verify.judge", description=main.__doc__)
    parser.add_argument("command", choices=["build"])
    parser.add_argument("--out", type=Path, help="output folder (default: <data dir>/cache/verify-judge)")
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--threads", type=int, default=1, help="torch threads (default 1: leave a core free)")
    parser.add_argument("--if-missing", action="store_true", help="do nothing when a judge is already built")
    parser.add_argument("--limit", type=int, default=judge_data.DEFAULT_LIMIT,
                        help="about N claims of AttributionBench's fit half and of SciFact train (0: all)")
    args = parser.parse_args(list(argv) if argv is not None else None)
    out = args.out or judge_dir(load_settings().cache_dir)
    if args.if_missing and (out / "judge.json").is_file():
        _print(f"verify judge already built in {out}")
        return 0
    claims = judge_data.judge_training_claims(args.limit)
    if not any(c.source.startswith(("AttributionBench", "SciFact")) for c in claims):
        _print(f"No attribution data under {judge_data.SHARED_DATA} (attributionbench/, scifact/): the verify judge "
               "is not built and verify runs on its signals. Put the data there and rerun this command.")
        return 0
    import torch

    torch.set_num_threads(args.threads)
    examples = judge_data.training_examples(claims, on_progress=_print)
    _print(f"training on {len(examples)} examples -> {out}")
    meta = train_cross_encoder(examples, out, epochs=args.epochs, on_progress=_print)
    _print(f"done in {meta['train_seconds']} s: {meta['sources']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
