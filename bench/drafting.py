"""Drafting benchmark: 10 topics over the bundled corpus with the configured (default: embedded) model.

Each section is generated once; the same model output is then finished twice, with strict mode
off (the reference: the model's text with flags) and on (unsupported sentences replaced). The
final text of each mode is re-verified with strict off, and we report the share of claim
sentences supported by their citation, citations per 100 words, seconds per section
(generation + verification) and time to first token.

    .venv/bin/python bench/drafting.py [--topics N] [--sections N] [--data-dir DIR]
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._results import write_section  # noqa: E402
from engine.draft import ArticleCitations, draft_section, finish_section, section_params  # noqa: E402
from engine.embed import load_embedder  # noqa: E402
from engine.evidence import gather_evidence, index_retriever  # noqa: E402
from engine.index import ensure_default_corpus  # noqa: E402
from engine.llm import GenerationParams, load_llm  # noqa: E402
from engine.plan import plan_outline, section_kind, section_words, trim_outline  # noqa: E402
from engine.records import Brief  # noqa: E402
from engine.settings import load_settings  # noqa: E402
from engine.verify import verify_draft  # noqa: E402

TOPICS = (
    "Low-rank adaptation (LoRA) for fine-tuning large language models",
    "QLoRA: fine-tuning quantized language models on one GPU",
    "FlashAttention and IO-aware exact attention",
    "Compute-optimal training: the Chinchilla scaling results",
    "Retrieval-augmented generation for knowledge-intensive tasks",
    "Dense passage retrieval versus BM25 for open-domain question answering",
    "Masked language model pre-training in BERT",
    "Direct preference optimization as an alternative to RLHF",
    "8-bit matrix multiplication for large transformers (LLM.int8())",
    "Evaluating generated text with BLEU and ROUGE",
)
_CITATION = re.compile(r"\[(\d{1,4}(?:\s*[-\u2013,;]\s*\d{1,4})*)\]")


@dataclass
class Tally:
    """Totals for one mode over all sections."""

    claims: int = 0
    supported: int = 0
    citations: int = 0
    words: int = 0
    seconds: list[float] = field(default_factory=list)

    def add(self, markdown: str, report, seconds: float) -> None:
        claims = [s for s in report.sentences if s.status != "no_claim"] if report else []
        self.claims += len(claims)
        self.supported += sum(s.status == "supported" for s in claims)
        self.citations += sum(len(re.findall(r"\d+", m.group(1))) for m in _CITATION.finditer(markdown))
        self.words += len(_CITATION.sub("", markdown).split())
        self.seconds.append(seconds)


def run(n_topics: int, n_sections: int, data_dir: Path) -> str:
    settings = load_settings().with_values(data_dir=data_dir)
    embedder = load_embedder(settings)
    index = ensure_default_corpus(settings, embedder=embedder)
    retriever, llm = index_retriever(index), load_llm(settings)
    base = GenerationParams.from_settings(settings, temperature=0.0)
    tallies = {"strict off": Tally(), "strict on": Tally()}
    first_tokens: list[float] = []
    fallbacks = 0
    for t, topic in enumerate(TOPICS[:n_topics], start=1):
        brief = Brief(topic=topic, length_words=150 * n_sections * 3)
        outline = trim_outline(plan_outline(brief, retriever), n_sections)
        budgets = section_words(outline, brief)
        citations = ArticleCitations()
        for section, words in zip(outline.sections, budgets):
            if section_kind(section) == "questions":
                continue
            cards = gather_evidence(retriever, brief, section, k=4)
            start = time.perf_counter()
            loose = draft_section(llm, section, cards, brief, section_params(base, words), embedder=embedder,
                                  citations=citations, strict=False, words=words)
            loose_s = time.perf_counter() - start
            gen_s = loose.generation.seconds
            first_tokens.append(loose.generation.first_token_seconds or 0.0)
            start = time.perf_counter()
            strict = finish_section(section.heading, section_kind(section), loose.generation, loose.citation_map,
                                    cards, embedder, True, words)
            strict_s = gen_s + time.perf_counter() - start
            fallbacks += strict.fallback != ""
            for name, done, seconds in (("strict off", loose, loose_s), ("strict on", strict, strict_s)):
                check = verify_draft(done.markdown, done.citation_map, embedder, strict=False) \
                    if done.markdown else None
                tallies[name].add(done.markdown, check, seconds)
            print(f"[{t}/{n_topics}] {section.heading[:50]:50s} gen {gen_s:5.1f}s  "
                  f"fallback={strict.fallback or '-'}", file=sys.stderr)
    rows = []
    for name, tally in tallies.items():
        share = tally.supported / tally.claims if tally.claims else 0.0
        per100 = 100 * tally.citations / tally.words if tally.words else 0.0
        mean_s = sum(tally.seconds) / len(tally.seconds) if tally.seconds else 0.0
        rows.append(f"| {name} | {len(tally.seconds)} | {tally.claims} | {share:.1%} | {per100:.1f} | {mean_s:.1f} |")
    ttft = sorted(first_tokens)[len(first_tokens) // 2] if first_tokens else 0.0
    return "\n".join([
        "## Drafting (bench/drafting.py)",
        "",
        f"Model: {llm.model_name} ({llm.backend}), greedy. {n_topics} topics over the bundled corpus, "
        f"{n_sections} core sections each, 4 evidence passages per section. The same generation is finished "
        "with strict mode off and on; each final text is re-verified (strict off) to count claim sentences "
        "supported by their citation.",
        "",
        "| mode | sections | claim sentences | supported by citation | citations / 100 words | s / section |",
        "|---|---|---|---|---|---|",
        *rows,
        "",
        f"Median time to first token: {ttft:.2f} s. Strict-mode sections completed or replaced with extractive "
        f"evidence: {fallbacks} of {len(first_tokens)}. Target in strict mode: >= 95% supported. "
        f"OpenMP as the app runs it (engine/__init__.py): OMP_WAIT_POLICY={os.environ.get('OMP_WAIT_POLICY')}, "
        f"GOMP_SPINCOUNT={os.environ.get('GOMP_SPINCOUNT')}; load average at the end: "
        f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} cores.",
    ])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--topics", type=int, default=len(TOPICS))
    parser.add_argument("--sections", type=int, default=2)
    parser.add_argument("--data-dir", type=Path, default=None, help="reuse an indexed data dir (default: a temp one)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="peerdraft-bench-") as tmp:
        table = run(args.topics, args.sections, args.data_dir or Path(tmp))
    print(table)
    write_section("drafting", table)


if __name__ == "__main__":
    main()
