"""Which layer of the drafting model should the verify probe read? (issue 15; an experiment, nothing ships from it)

The shipped probe judge (bench/verify_probe.py, engine/verify/judge.py `ProbeJudge`) reads the drafting model's
last-layer state at the answer position of the judge question. Probes of truthfulness in the literature often do
better on middle layers. This script reads the same judge prompt once per claim with a llama.cpp eval callback
that copies the answer position's row of `l_out-<layer>` (each transformer block's output) for chosen layers, plus
the final (normalised, pooled) state the shipped probe reads, caches them, and fits the very probe of
bench/verify_probe.py (L2 logistic, strength by 5-fold cross-validated AUC, threshold by balanced accuracy, all on
the AttributionBench fit half only) on each layer. Figures on held-out material only:

- the AttributionBench dev report half (public benchmark; AUC also averaged within each source, so a probe cannot
  score by telling the sources apart);
- the hand-labeled sentences of real drafts, report half (bench/data/draft_sentences.jsonl);
- optionally `--reviewed FILE`: the cited sentences of reviewed drafts, each labeled by what the readers of
  bench/data/article_review.json called wrong (`--build-reviewed` writes that file from a bench/article.py drafts
  folder, its data folder and a review file; the file holds the cited chunks' text, so keep it outside the repo).

Run (quiet machine, the drafting model on 2 threads; ~3 s per claim, cached):
    .venv/bin/python bench/verify_probe_layers.py [--limit 300] [--reviewed FILE] [--no-write]
    .venv/bin/python bench/verify_probe_layers.py --build-reviewed DRAFTS_DIR DATA_DIR REVIEW_JSON OUT_JSONL
"""

from __future__ import annotations

import argparse
import ctypes
import difflib
import glob
import json
import pickle
import random
import re
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench import verify as bv  # noqa: E402
from bench import verify_probe as vp  # noqa: E402
from bench._results import write_section  # noqa: E402
from bench.selfcheck import auc  # noqa: E402
from engine.bundled_models import profile_llm  # noqa: E402
from engine.embed import load_embedder  # noqa: E402
from engine.markup import citations_in, split_sentences, strip_citations  # noqa: E402
from engine.settings import load_settings  # noqa: E402
from engine.verify import judge as judge_mod  # noqa: E402
from engine.verify import judge_data as data  # noqa: E402
from engine.verify.support import VectorCache  # noqa: E402

LAYERS = (6, 10, 14, 17, 20, 23, 25, 27)  # of Qwen2.5-1.5B's 28 blocks (0-27)


class LayerReader(judge_mod.ProbeJudge):
    """The shipped probe judge's model and prompt, with a llama.cpp eval callback: the last prompt token's row of
    `l_out-<i>` for each chosen block i, beside the final pooled state (`hidden_state`, what the probe reads)."""

    def __init__(self, model_path: str | Path, layers=LAYERS, n_threads: int = 2) -> None:
        import llama_cpp
        from llama_cpp import llama_cpp as lc

        ggml = ctypes.CDLL(str(Path(llama_cpp.__file__).parent / "lib" / "libggml-base.so"))
        ggml.ggml_get_name.restype, ggml.ggml_get_name.argtypes = ctypes.c_char_p, [ctypes.c_void_p]
        ggml.ggml_nelements.restype, ggml.ggml_nelements.argtypes = ctypes.c_int64, [ctypes.c_void_p]
        ggml.ggml_is_contiguous.restype, ggml.ggml_is_contiguous.argtypes = ctypes.c_bool, [ctypes.c_void_p]
        ggml.ggml_backend_tensor_get.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_size_t, ctypes.c_size_t]
        wanted = {f"l_out-{i}".encode(): i for i in layers}
        self.got: dict[int, np.ndarray] = {}
        self.n_embd = 0

        def callback(tensor, ask, _user):
            layer = wanted.get(ggml.ggml_get_name(tensor))
            if layer is None or ask:
                return layer is not None if ask else True
            n = ggml.ggml_nelements(tensor)
            f32 = ctypes.cast(tensor, ctypes.POINTER(ctypes.c_int))[0] == 0  # ggml_tensor.type leads the struct
            if f32 and ggml.ggml_is_contiguous(tensor) and self.n_embd and n % self.n_embd == 0:
                row = np.empty(self.n_embd, dtype=np.float32)  # the last token's row: the answer position
                ggml.ggml_backend_tensor_get(tensor, row.ctypes.data, (n // self.n_embd - 1) * self.n_embd * 4,
                                             self.n_embd * 4)
                self.got[layer] = row
            return True

        self._callback = lc.ggml_backend_sched_eval_callback(callback)  # referenced: llama.cpp holds the pointer
        original = lc.llama_context_default_params

        def with_callback():
            params = original()
            params.cb_eval = self._callback
            return params

        placeholder = {"model": Path(model_path).name, "weights": [0.0] * 1536, "bias": 0.0}  # states only
        lc.llama_context_default_params = with_callback  # llama_cpp.Llama builds its context from these
        try:
            super().__init__(model_path, placeholder, n_threads=n_threads)
        finally:
            lc.llama_context_default_params = original
        self.n_embd = self._llm.n_embd()

    def states(self, premise: str, hypothesis: str) -> dict:
        """{block: state} for the chosen blocks and {"final": the state the shipped probe reads}."""
        self.got = {}
        final = self.hidden_state(premise, hypothesis).astype(np.float32)
        return {**self.got, "final": final}


def build_reviewed(drafts: Path, data_dir: Path, review_path: Path, out: Path, profile: str = "default") -> int:
    """Cited body sentences of the reviewed drafts under `drafts`/<profile>, each with the full text of the chunks
    it cites (from the bench's index stores under `data_dir`), 'unsupported' when the review quotes it as wrong.
    Only drafts whose sha256 the review names are used."""
    import hashlib

    chunks = {c["chunk_id"]: c["text"] for store in glob.glob(str(data_dir / "*" / "index" / "gen-*" / "store.json"))
              for c in json.loads(Path(store).read_text(encoding="utf-8"))["chunks"]}
    review = json.loads(review_path.read_text(encoding="utf-8"))[profile]

    def norm(s: str) -> str:
        return re.sub(r"\W+", " ", strip_citations(s)).strip().lower()

    rows = []
    for brief, entry in sorted(review.items()):
        path = drafts / profile / f"{brief}.json"
        if not path.is_file():
            continue
        draft = json.loads(path.read_text(encoding="utf-8"))
        if hashlib.sha256(draft["markdown"].encode("utf-8")).hexdigest() != entry.get("draft_sha256"):
            continue
        quoted = [norm(m.group(1)) for note in entry["notes"] if not note.startswith(("(not counted)", "Overall"))
                  for m in [re.search(r"'(.+?)'\s+[—-]", note)] if m]
        for section in draft["sections"]:
            by_number = {c["number"]: c for c in section.get("citations") or []}
            for sentence in split_sentences(section["text"]):
                passages = [chunks[cid] for n in citations_in(sentence.text) if n in by_number
                            for cid in by_number[n]["chunk_ids"] if cid in chunks]
                if not passages:
                    continue
                key = norm(sentence.text)
                wrong = any(difflib.SequenceMatcher(None, q, key).ratio() >= 0.85 for q in quoted)
                rows.append({"profile": profile, "brief": brief, "sentence": sentence.text.strip(),
                             "passages": passages, "label": "unsupported" if wrong else "supported"})
    out.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    print(f"{len(rows)} cited sentences, {sum(r['label'] == 'unsupported' for r in rows)} called wrong -> {out}")
    return len(rows)


def _source_auc(p: np.ndarray, y: np.ndarray, sources: list[str]) -> float:
    """AUC within each source that has both labels, averaged with the sources' sizes as weights."""
    total, weight = 0.0, 0
    for source in set(sources):
        idx = [i for i, s in enumerate(sources) if s == source]
        ys = y[idx]
        if 0 < ys.sum() < len(ys):
            total += len(idx) * auc(list(p[idx][ys == 1]), list(p[idx][ys == 0]))
            weight += len(idx)
    return total / weight if weight else float("nan")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, default=data.DEFAULT_LIMIT, help="claims of each AttributionBench half")
    parser.add_argument("--reviewed", type=Path, default=None, help="JSONL of reviewed draft sentences")
    parser.add_argument("--states", type=Path, default=None, help="cache of states (default: <cache dir>)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--no-read", action="store_true", help="fit on the states already cached only")
    parser.add_argument("--no-write", action="store_true", help="print only; leave results.md alone")
    parser.add_argument("--build-reviewed", nargs=4, type=Path, metavar=("DRAFTS", "DATA", "REVIEW", "OUT"))
    args = parser.parse_args(argv)
    if args.build_reviewed:
        return 0 if build_reviewed(*args.build_reviewed) else 1
    started = time.time()
    settings = load_settings()
    store = bv.SignalStore(settings.cache_dir / "bench-verify-signals.pkl", VectorCache(load_embedder(settings)))
    sets = {"fit": data.stratified_subset(data.attributionbench("fit"), args.limit),
            "AttributionBench dev, report half (public benchmark)":
                data.stratified_subset(data.attributionbench("report"), args.limit),
            "draft sentences, report half (real drafts, labeled by hand)": data.draft_sentences("report")}
    if args.reviewed:
        sets["reviewed drafts' cited sentences (readers' wrong = unsupported)"] = [
            data.Claim(r["sentence"], tuple(r["passages"]), r["label"] == "supported", "reviewed/" + r["brief"])
            for r in map(json.loads, args.reviewed.read_text(encoding="utf-8").splitlines()) if r]
    path = args.states or settings.cache_dir / "verify-probe-layer-states.pkl"
    rows = pickle.loads(path.read_bytes()) if path.is_file() else {}
    todo = [c for claims in sets.values() for c in claims if bv._key(c) not in rows]
    random.Random(7).shuffle(todo)  # a run stopped early holds a random sample of every set
    if todo and not args.no_read:
        reader = LayerReader(profile_llm("default").path, n_threads=args.threads)
        for i, claim in enumerate(todo, start=1):
            t0 = time.time()
            rows[bv._key(claim)] = {"v": reader.states(store.get(claim)["evidence"], claim.claim),
                                    "seconds": time.time() - t0}
            if i % 25 == 0 or i == len(todo):
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_bytes(pickle.dumps(rows))
                store.save()
                print(f"  states {i}/{len(todo)}", flush=True)

    def xy(claims: list, layer) -> tuple[np.ndarray, np.ndarray, list[str]]:
        chosen = [c for c in claims if bv._key(c) in rows and layer in rows[bv._key(c)]["v"]]
        x = np.stack([rows[bv._key(c)]["v"][layer] for c in chosen]).astype(np.float64) if chosen else np.zeros((0, 1))
        return x, np.array([1.0 if c.supported else 0.0 for c in chosen]), [c.source for c in chosen]

    held_out = list(sets)[1:]
    header = ["layer", "fit: CV AUC (L2)"] + [f"{name.split(' (')[0]}: {what}" for name in held_out
                                              for what in ("n", "AUC", "macro-F1")]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for layer in [*LAYERS, "final"]:
        x, y, _ = xy(sets["fit"], layer)
        if len(y) < 20 or len(set(y)) < 2:
            continue
        oofs = {l2: vp.out_of_fold(x, y, l2) for l2 in vp.L2_GRID}
        cv = {l2: auc(list(p[y == 1]), list(p[y == 0])) for l2, p in oofs.items()}
        l2 = max(cv, key=lambda k: (cv[k], k))
        threshold = bv.choose_threshold(y, oofs[l2])
        weights, bias = vp.fit_probe(x, y, l2)
        cells = [str(layer) if layer != "final" else "final (shipped probe's input)", f"{cv[l2]:.3f} ({l2:g})"]
        for name in held_out:
            xr, yr, sources = xy(sets[name], layer)
            if not len(yr):
                cells += ["0", "", ""]
                continue
            p = vp._probabilities(xr, weights, bias)
            score = _source_auc(p, yr, sources) if name.startswith("AttributionBench") else auc(
                list(p[yr == 1]), list(p[yr == 0]))
            cells += [str(len(yr)), f"{score:.3f}", f"{bv.figures(yr, p, threshold)['macro_f1']:.3f}"]
        lines.append("| " + " | ".join(cells) + " |")
    n_fit = len(xy(sets["fit"], "final")[1])
    seconds = [r["seconds"] for r in rows.values()]
    text = "\n".join([
        "## Verify probe: which layer of the drafting model to read (bench/verify_probe_layers.py; experiment)",
        "",
        f"Each layer's probe fitted on {n_fit} claims of the AttributionBench dev fit half only (L2 by 5-fold "
        "cross-validated AUC, threshold by the fit half's out-of-fold balanced accuracy), figures on held-out "
        "material. AttributionBench AUC is the size-weighted mean of the AUCs within each source. Layer i = the "
        "output of block i (0-27) at the answer position; final = the normalised state the shipped probe reads. "
        f"{len(seconds)} claims read, {np.mean(seconds):.1f} s per claim on average (2 threads; other work shared "
        "the cores part of the time). Nothing ships from this table yet.",
        "", *lines, "", f"Run time: {time.time() - started:.0f} s."])
    print(text)
    if not args.no_write:
        write_section("verify-probe-layers", text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
