"""Drafting's self-check on real drafts: does the drafting model, asked after a section's own prompt, tell right
sentences from wrong ones, and what does a question cost?

Drafts briefs of bench/article.py with the default profile (strict mode on, the draft itself unchanged) and records,
for every sentence the signals pass, the self-check's P(Yes) (`engine.verify.judge.SectionJudge`, asked with a
threshold of 0 so it vetoes nothing) and the seconds and tokens each question cost. Sentences are labeled by hand in
bench/data/selfcheck_labels.json (right / wrong, by a careful reader against the section's sources); the section
reports, on the labeled ones, the ranking quality (AUC), the threshold with the best balanced accuracy on them (tuned
on the same sentences: optimistic) and the cost.

    .venv/bin/python bench/selfcheck.py --pdf-dir /work/ext/article_pdfs --data-dir DIR --only rag --only transformer
        --out /tmp/selfcheck.jsonl        # draft and record (minutes per brief)
    .venv/bin/python bench/selfcheck.py --from /tmp/selfcheck.jsonl   # the table from a recorded run
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._results import write_section  # noqa: E402

LABELS = Path(__file__).resolve().parent / "data" / "selfcheck_labels.json"


def record(args) -> list[dict]:
    import article as bench_article  # bench/article.py: the briefs, indexes and drafting loop

    from engine.embed import load_embedder
    from engine.index import ensure_default_corpus
    from engine.llm import load_llm
    from engine.settings import load_settings
    from engine.verify.judge import SectionJudge, SelfCheck

    rows: list[dict] = []
    current = {"brief": ""}

    class Recording(SectionJudge):
        def entailment(self, premise: str, hypothesis: str) -> float:
            start = time.perf_counter()
            p = super().entailment(premise, hypothesis)
            total, decoded = self._llm.last_prompt_tokens
            rows.append({"brief": current["brief"], "claim": " ".join(hypothesis.split()), "p_yes": p,
                         "seconds": time.perf_counter() - start, "prompt_tokens": total, "decoded_tokens": decoded})
            return p

    class Recorder(SelfCheck):
        def for_section(self, llm, messages):
            return Recording(llm, messages, 0.0) if hasattr(llm, "answer_probabilities") else None

    root = args.data_dir
    base = load_settings(env={"PEERDRAFT_DATA_DIR": str(root / "notes"), "PEERDRAFT_LLM_PROFILE": "default"},
                         toml_path=root / "none.toml")
    embedder, llm = load_embedder(base), load_llm(base)
    indexes = {"notes": ensure_default_corpus(base, embedder=embedder)}
    cases = [c for c in bench_article.BRIEFS if not args.only or c.id in args.only]
    if any(c.corpus == "pdfs" for c in cases):
        indexes["pdfs"] = bench_article.pdf_index(base.with_values(data_dir=root / "pdfs"), embedder, args.pdf_dir)
    for case in cases:
        current["brief"] = case.id
        bench_article.run_brief(case, llm, embedder, indexes[case.corpus], Recorder(0.0), base,
                                args.out.parent / "selfcheck-drafts")
        args.out.write_text("\n".join(json.dumps(r) for r in rows), encoding="utf-8")
        print(f"{case.id}: {sum(r['brief'] == case.id for r in rows)} questions", file=sys.stderr)
    return rows


def auc(right: list[float], wrong: list[float]) -> float:
    """P(a right sentence scores above a wrong one), ties half."""
    pairs = [(r > w) + 0.5 * (r == w) for r in right for w in wrong]
    return sum(pairs) / len(pairs) if pairs else float("nan")


def section(rows: list[dict], labels: dict, load: str) -> str:
    by_claim: dict[str, dict] = {}
    for row in rows:
        by_claim.setdefault(row["claim"], row)  # the first question about a sentence
    labeled = [(by_claim[c], v["right"]) for c, v in labels["sentences"].items() if c in by_claim]
    right = [r["p_yes"] for r, ok in labeled if ok]
    wrong = [r["p_yes"] for r, ok in labeled if not ok]
    best = (0.0, 0.5, 0, 0)
    for t in sorted({round(p, 2) for p in right + wrong}):
        caught, lost = sum(p < t for p in wrong), sum(p < t for p in right)
        balanced = (caught / max(len(wrong), 1) + (len(right) - lost) / max(len(right), 1)) / 2
        best = max(best, (balanced, t, caught, lost))
    cached = [r["seconds"] for r in rows if r["decoded_tokens"] < 150]
    cold = [r for r in rows if r["decoded_tokens"] >= 150]
    briefs = sorted({r["brief"] for r in rows})
    return (
        "## Drafting's self-check (bench/selfcheck.py)\n\n"
        f"Material: real PeerDraft drafts by the default model ({', '.join(briefs)}: bench/article.py's briefs over the "
        "bundled notes and real arXiv PDFs), each sentence the signals passed asked once as drafting asks it "
        "(after the section's own prompt cut at its sources). Labels: bench/data/selfcheck_labels.json, by the "
        f"team ({labels.get('about', '')}). {load}\n\n"
        "| figure | value |\n|---|---|\n"
        f"| questions asked / distinct sentences | {len(rows)} / {len(by_claim)} |\n"
        f"| labeled sentences (right / wrong) | {len(labeled)} ({len(right)} / {len(wrong)}) |\n"
        f"| AUC of P(Yes), right above wrong | {auc(right, wrong):.2f} |\n"
        f"| P(Yes) median, right / wrong | {statistics.median(right) if right else float('nan'):.2f} / "
        f"{statistics.median(wrong) if wrong else float('nan'):.2f} |\n"
        f"| best threshold on these sentences (tuned on them) | {best[1]:.2f}: catches {best[2]} of {len(wrong)} "
        f"wrong, removes {best[3]} of {len(right)} right (balanced accuracy {best[0]:.2f}) |\n"
        f"| seconds per question, prompt prefix cached (median of {len(cached)}) | "
        f"{statistics.median(cached) if cached else float('nan'):.1f} |\n"
        f"| seconds per question reading the section's prompt anew (median of {len(cold)}; tokens) | "
        f"{statistics.median(r['seconds'] for r in cold) if cold else float('nan'):.1f}; "
        f"{statistics.median(r['decoded_tokens'] for r in cold) if cold else 0:.0f} |\n\n"
        "Reading: drafting keeps to the signals by default (`PEERDRAFT_VERIFY_JUDGE=auto`); `llm` turns this "
        "self-check on with the tuned threshold in engine/data/verify_weights.json (`self_check`).")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--from", dest="source", type=Path, help="a recorded run (JSON lines) to report")
    parser.add_argument("--out", type=Path, default=Path("/tmp/selfcheck.jsonl"))
    parser.add_argument("--pdf-dir", type=Path)
    parser.add_argument("--data-dir", type=Path, default=Path("/tmp/selfcheck-data"))
    parser.add_argument("--only", action="append", default=[])
    parser.add_argument("--note", default="", help="how the run was made and what else ran beside it")
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args(argv)
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    if args.source:
        rows = [json.loads(line) for line in args.source.read_text(encoding="utf-8").splitlines() if line.strip()]
    else:
        load = os.getloadavg()[0]
        rows = record(args)
        args.note = args.note or f"Load average {load:.1f} at start, {os.getloadavg()[0]:.1f} at the end, 2 cores."
    text = section(rows, json.loads(LABELS.read_text(encoding="utf-8")), args.note)
    print(text)
    if not args.no_write:
        write_section("selfcheck", text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
