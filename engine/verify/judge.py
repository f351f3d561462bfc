"""Meaning-level judges behind the `EntailmentModel` protocol: does the evidence say what the sentence says?

The cheap signals (support.py) see shared words, numbers and names; they pass fluent sentences that
reuse a source's words and say something else. A judge reads the sentence against the evidence it
was matched to and returns P(supported):

- `CrossEncoderJudge`: the embedded all-MiniLM-L6-v2 encoder fine-tuned as a cross-encoder on
  human-labeled attribution data (SciFact train, our pairs, the fitting half of AttributionBench
  dev). It is built on the user's machine at set-up (`python -m engine.verify.judge build`: about
  1,150 examples, 2 epochs, 21 minutes on one core of a busy shared 2-core machine) into
  `<data dir>/cache/verify-judge`; nothing is downloaded.
- `LlmJudge`: the drafting model (llama.cpp) asked "is the claim supported? Yes/No", scored from the
  token probabilities of its answer. It costs seconds per call, so support_score asks it only where the
  signals alone are unsure (the `unsure_band` bench/verify.py fits into verify_weights.json), and weighs
  its log-odds with its own fitted combination (`with_llm_judge`). `load_llm_judge` shares one copy.

`load_judge` returns the built cross-encoder when it exists, else None: verify then runs on the
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

JUDGE_DIR_NAME = "verify-judge"
_MAX_TOKENS = 256
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
        from engine import prompts

        user = prompts.JUDGE_CLAIM.format(notice=prompts.SOURCES_NOTICE,
                                          sources=prompts.sources_block([(1, "evidence", premise)]),
                                          claim=" ".join(hypothesis.split()))
        messages = [{"role": "system", "content": prompts.JUDGE_SYSTEM}, {"role": "user", "content": user}]
        with self._lock:
            reply = self._llm.create_chat_completion(messages, max_tokens=1, temperature=0.0, logprobs=True,
                                                     top_logprobs=20)
        top = reply["choices"][0]["logprobs"]["content"][0]["top_logprobs"]
        yes = sum(math.exp(t["logprob"]) for t in top if t["token"].strip().lower() == "yes")
        no = sum(math.exp(t["logprob"]) for t in top if t["token"].strip().lower() == "no")
        return yes, no


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


def load_llm_judge(model_path: str | Path, n_threads: int = 2) -> LlmJudge:
    """The drafting model's GGUF file as a yes/no judge, loaded once per file and shared (under its lock)."""
    return _loaded_llm(str(Path(model_path).resolve()), n_threads)


@functools.lru_cache(maxsize=1)
def _loaded_llm(path: str, n_threads: int) -> LlmJudge:
    return LlmJudge(path, n_threads=n_threads)


def judge_for(settings, *, drafting: bool):
    """The judge the settings choose (`verify_judge`), or None for the signals alone.

    auto: the built cross-encoder for evaluations, nothing while drafting (in drafting it removed nearly every
    supported sentence of a RAG draft: bench/results.md, verify); signals: nothing; llm: the drafting model's
    GGUF as a yes/no judge, which needs the llama.cpp backend: while drafting the self-check (`SelfCheck`, asked
    after each section's own prompt), in evaluations `LlmJudge`."""
    if settings.verify_judge == "signals" or (settings.verify_judge == "auto" and drafting):
        return None
    if settings.verify_judge == "auto":
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
