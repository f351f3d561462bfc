"""Whole-article benchmark: would a peer read what PeerDraft writes?

Eight briefs, four over the bundled corpus notes and four over real arXiv PDFs nobody in the team
wrote (`--pdf-dir`, see bench/data/pdf_expected.json for the files and their sha256), drafted end
to end (outline, evidence, sections, verify, repair, strict mode on) with each model profile.
Per brief and in total it reports: words; the share of body sentences the model wrote (not
quoted); the quoted share; duplicate sentences; debris (body "sentences" without a finite verb:
list items, titles, fragments); citations per 100 words; the supported share of claim sentences,
re-verified with the verify stage's best judge; time to first token; seconds per section; the
whole-article time; and the sentences a careful reader calls wrong, from a hand-labelled file
(`bench/data/article_review.json`, filled in by reading every draft; "not read" where absent).

    .venv/bin/python bench/article.py --pdf-dir /work/ext/pdfs [--profiles default,small] [--only ID]
        [--drafts-dir DIR] [--data-dir DIR] [--no-write]
    .venv/bin/python bench/article.py --render --drafts-dir DIR   # after reading the drafts: the table again,
                                                                 # with the hand review's counts

Speed figures are only comparable within one run on a quiet machine: the load average is printed
and written beside the table.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._results import write_section  # noqa: E402
from engine.draft import ArticleDraft, DraftedSection, copies_source, near_duplicate, sentence_key, write_article  # noqa: E402
from engine.embed import load_embedder  # noqa: E402
from engine.events import Event  # noqa: E402
from engine.evaluate.copying import SourceText  # noqa: E402
from engine.evidence import index_retriever  # noqa: E402
from engine.index import ensure_default_corpus, index_paths, open_index  # noqa: E402
from engine.llm import GenerationParams, load_llm  # noqa: E402
from engine.markup import CITATION, split_sentences  # noqa: E402
from engine.plan import model_can_plan  # noqa: E402
from engine.records import Brief  # noqa: E402
from engine.settings import load_settings  # noqa: E402
from engine.verify import verify_draft  # noqa: E402
from engine.verify.judge import judge_name, load_judge  # noqa: E402
from engine.verify.sentences import is_fragment  # noqa: E402

HERE = Path(__file__).resolve().parent
REVIEW = HERE / "data" / "article_review.json"
AUDIENCE = "ML engineers who know transformers but have not worked with this topic"
SEED = 7  # sampling seed: a rerun of the same code drafts the same words, so the hand review stays valid


@dataclass(frozen=True)
class BriefCase:
    """One benchmark brief and the corpus it is drafted from."""

    id: str
    corpus: str  # notes | pdfs
    topic: str
    key_points: tuple[str, ...]
    length: int = 800
    audience: str = AUDIENCE


BRIEFS = (
    BriefCase("rag", "notes", "How retrieval-augmented generation grounds language models",
              ("dense retrieval with DPR", "how RAG combines retriever and generator"), 900,
              "ML engineers who know transformers but have not built a RAG system"),
    BriefCase("lora", "notes", "Parameter-efficient fine-tuning with LoRA and QLoRA",
              ("low-rank update matrices", "4-bit NormalFloat quantization")),
    BriefCase("flash", "notes", "FlashAttention: exact attention that is aware of GPU memory",
              ("tiling and recomputation", "speed-ups over standard attention")),
    BriefCase("metrics", "notes", "Evaluating generated text with BLEU and ROUGE",
              ("n-gram precision and the brevity penalty", "recall-oriented summary evaluation")),
    BriefCase("transformer", "pdfs", "How the Transformer replaces recurrence with attention",
              ("scaled dot-product attention", "multi-head attention", "positional encoding")),
    BriefCase("resnet", "pdfs", "Why residual connections let very deep networks train",
              ("the degradation problem", "identity shortcuts")),
    BriefCase("distillation", "pdfs", "Knowledge distillation: training small models from large ones",
              ("soft targets and temperature", "distilling an ensemble")),
    BriefCase("vit", "pdfs", "Vision Transformers: images as sequences of patches",
              ("patch embeddings", "pre-training data scale")),
)


@dataclass
class Figures:
    """What one drafted article measures."""

    words: int = 0
    sentences: int = 0
    model_sentences: int = 0
    quoted: int = 0
    copied: int = 0  # the model's sentences that repeat a source word for word (a 12-word span or more)
    template: int = 0  # stock sentences of a fallback: the overview, reading pointers, the invitation
    duplicates: int = 0
    debris: int = 0
    citations: int = 0
    claims: int = 0
    supported: int = 0
    first_token: list[float] = field(default_factory=list)
    section_seconds: list[float] = field(default_factory=list)
    article_seconds: float = 0.0
    sections: int = 0
    wrong: int | None = None
    draft_sha256: str = ""  # of the article's Markdown: a hand review counts only for the draft it read

    def add(self, other: "Figures") -> None:
        for name in ("words", "sentences", "model_sentences", "quoted", "copied", "template", "duplicates", "debris",
                     "citations", "claims", "supported", "sections"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.first_token += other.first_token
        self.section_seconds += other.section_seconds
        self.article_seconds += other.article_seconds
        if other.wrong is not None:
            self.wrong = (self.wrong or 0) + other.wrong


_INVITATION_START = "Questions, corrections and pointers"
_STOCK_FALLBACKS = ("overview", "reading", "invitation")  # a fallback's stock text is not the model's writing


def body_of(markdown: str) -> str:
    """The article without its title, headings, notes to the writer (HTML comments) and reference list."""
    body = re.sub(r"<!--.*?-->", "", markdown.split("\n## References", 1)[0], flags=re.S)
    return "\n".join(line for line in body.splitlines() if not line.lstrip().startswith("#"))


def measure(article: ArticleDraft, embedder, judge, seconds: float, section_seconds: list[float]) -> Figures:
    """The figures of one article; the supported share is re-verified with the judge, strict mode off."""
    fig = Figures(article_seconds=seconds, section_seconds=section_seconds, sections=len(article.sections),
                  draft_sha256=hashlib.sha256(article.markdown.encode("utf-8")).hexdigest())
    quoted = {q for d in article.sections for q in d.quoted}
    stock = {sentence_key(span.text) for d in article.sections if d.fallback in _STOCK_FALLBACKS
             for span in split_sentences(d.markdown)}
    sources = [SourceText(p.chunk_id, p.title, p.text) for d in article.sections
               for ps in d.citation_map.values() for p in ps]
    seen: list[set[str]] = []
    for span in split_sentences(body_of(article.markdown)):
        text = span.text
        fig.sentences += 1
        fig.citations += len(CITATION.findall(text))
        words = set(sentence_key(text).split())
        if any(near_duplicate(words, other) for other in seen):  # the rule drafting applies, near-copies count
            fig.duplicates += 1
        seen.append(words)
        is_quote = any(CITATION.sub("", q).strip(" .") in text for q in quoted) or text.startswith("“")
        if is_quote:
            fig.quoted += 1
        elif text.startswith(_INVITATION_START) or sentence_key(text) in stock:
            fig.template += 1
        elif copies_source(text, sources):
            fig.copied += 1
        else:
            fig.model_sentences += 1
        if is_fragment(text):
            fig.debris += 1
    fig.words = len(CITATION.sub("", body_of(article.markdown)).split())
    for drafted in article.sections:
        fig.first_token += [g.first_token_seconds for g in [drafted.generation] if g and g.first_token_seconds]
        if not drafted.markdown.strip():
            continue
        # A drafting self-check is bound to each section's prompt while drafting; re-verifying reads the signals.
        report = verify_draft(drafted.markdown, drafted.citation_map, embedder, strict=False,
                              nli=None if hasattr(judge, "for_section") else judge)
        claims = [c for c in report.sentences if c.status != "no_claim"]
        fig.claims += len(claims)
        fig.supported += sum(c.status == "supported" for c in claims)
    return fig


def pdf_index(settings, embedder, pdf_dir: Path):
    """An index of the real PDFs alone (no bundled notes), built once per data directory."""
    index = open_index(settings, embedder)
    if not index.documents:
        paths = sorted(pdf_dir.glob("*.pdf"))
        index_paths(index, paths, settings)
    return index


def run_brief(case: BriefCase, llm, embedder, index, judge, settings, drafts_dir: Path) -> tuple[Figures, ArticleDraft]:
    brief = Brief(topic=case.topic, audience=case.audience, length_words=case.length, key_points=case.key_points)
    marks: list[float] = []

    def on_event(event: Event) -> None:
        if event.stage == "draft":
            marks.append(time.perf_counter())

    start = time.perf_counter()
    article = write_article(brief, index_retriever(index), llm, embedder,
                            params=GenerationParams.from_settings(settings, seed=SEED), strict=True,
                            documents={d.doc_id: d for d in index.list_documents()},
                            refine=model_can_plan(settings, llm.model_name), on_event=on_event, nli=judge)
    seconds = time.perf_counter() - start
    per_section = [b - a for a, b in zip(marks, marks[1:])]
    drafts_dir.mkdir(parents=True, exist_ok=True)
    (drafts_dir / f"{case.id}.md").write_text(article.markdown, encoding="utf-8")
    (drafts_dir / f"{case.id}.json").write_text(json.dumps(article.to_json(), indent=1, ensure_ascii=False))
    return measure(article, embedder, judge, seconds, per_section), article


def _pct(part: int, whole: int) -> str:
    return f"{100 * part / whole:.0f}%" if whole else "—"


def _mean(values: list[float]) -> str:
    return f"{sum(values) / len(values):.1f}" if values else "—"


def row(name: str, fig: Figures) -> str:
    per100 = f"{100 * fig.citations / fig.words:.1f}" if fig.words else "—"
    wrong = "not read" if fig.wrong is None else f"{fig.wrong} ({fig.words / max(fig.wrong, 1):.0f} words/wrong)" \
        if fig.wrong else "0"
    return (f"| {name} | {fig.words} | {_pct(fig.model_sentences, fig.sentences)} | {_pct(fig.quoted, fig.sentences)} "
            f"| {_pct(fig.copied, fig.sentences)} | {_pct(fig.template, fig.sentences)} "
            f"| {fig.duplicates} | {fig.debris} | {per100} | {_pct(fig.supported, fig.claims)} | {_mean(fig.first_token)} "
            f"| {max(fig.first_token, default=0):.1f} | {_mean(fig.section_seconds)} | {fig.article_seconds:.0f} "
            f"| {wrong} |")


HEADER = ("| brief | words | model-written | quoted | copied | stock | duplicates | debris | cites/100 w | supported | first token s "
          "(mean) | first token s (max) | s/section | article s | wrong (read by hand) |\n"
          "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|")


def reviewed_wrong(entry: dict, fig: Figures) -> int | None:
    """The hand count of wrong sentences in `entry` (bench/data/article_review.json) when it was made on this very
    draft (same `draft_sha256`; a run and a review from before the hash was kept match each other), else None:
    a new draft of the same brief is "not read" until someone reads it."""
    if entry.get("draft_sha256", "") != fig.draft_sha256:
        return None
    return entry.get("wrong")


def section_text(runs: list[dict], cases: list[BriefCase], load: tuple[float, float], note: str = "") -> str:
    """The results.md section from saved runs: one table per profile, the hand review read at render time."""
    review = json.loads(REVIEW.read_text(encoding="utf-8")) if REVIEW.exists() else {}
    tables: list[str] = []
    for run in runs:
        rows, totals = [], {"notes": Figures(), "pdfs": Figures()}
        for case in cases:
            if case.id not in run["figures"]:
                continue
            fig = Figures(**run["figures"][case.id])
            fig.wrong = reviewed_wrong(review.get(run["profile"], {}).get(case.id, {}), fig)
            totals[case.corpus].add(fig)
            rows.append(row(f"{case.id} ({case.corpus})", fig))
        overall = Figures()
        for corpus, fig in totals.items():
            if fig.sections:
                rows.append(row(f"**all {corpus}**", fig))
                overall.add(fig)
        rows.append(row("**all**", overall))
        tables.append(f"### Profile `{run['profile']}`: {run['model']} ({run['backend']}, load {run['load_seconds']:.1f} s; "
                      f"judge: {run['judge']})\n\n{HEADER}\n" + "\n".join(rows))
    counts = {corpus: sum(c.corpus == corpus for c in cases) for corpus in ("notes", "pdfs")}
    return ("## Whole articles (bench/article.py)\n\n"
            f"Material: {counts['notes']} briefs over the bundled corpus notes (written for PeerDraft) and "
            f"{counts['pdfs']} over real arXiv PDFs nobody in the team wrote (bench/data/pdf_expected.json)"
            f"{'' if len(cases) == len(BRIEFS) else f', of the {len(BRIEFS)} briefs in bench/article.py'}. "
            "Strict mode on. *model-written* = body "
            "sentences the model wrote in its own words (not marked quotes, not *stock* text, not *copied*: "
            "a sentence whose words are at least 60% a 12-word-or-longer verbatim span of a source); *stock* = "
            "a fallback's fixed sentences (the overview of an empty opening, reading pointers, the invitation); "
            "*duplicates* = body sentences whose words overlap an earlier one's by Jaccard 0.7 or more; "
            "*debris* = body sentences without a finite verb (list items, titles, fragments); *supported* = claim sentences of the final text that "
            "the verify stage (with its judge) finds supported by their citation; *wrong* = sentences a careful "
            "reader calls wrong, counted by hand in bench/data/article_review.json. "
            "*supported* is the verify stage's own verdict; the hand count of *wrong* sentences shows how much "
            "it still passes (issue 15). "
            f"Times include the repair round and verification. Load average {load[0]:.1f} at start, {load[1]:.1f} at "
            f"the end, 2 cores.{' ' + note if note else ''}\n\n"
            + "\n\n".join(tables))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pdf-dir", type=Path, help="folder of the real arXiv PDFs (bench/data/pdf_expected.json)")
    parser.add_argument("--profiles", default="default,small")
    parser.add_argument("--only", action="append", default=[], help="brief id (repeatable)")
    parser.add_argument("--drafts-dir", type=Path, default=Path(tempfile.gettempdir()) / "peerdraft-article-bench")
    parser.add_argument("--data-dir", type=Path, default=None, help="keep indexes here between runs")
    parser.add_argument("--judge", choices=("none", "built"), default="none",
                        help="draft and re-verify with the cross-encoder judge set-up built (default: the signals)")
    parser.add_argument("--render", action="store_true",
                        help="draft nothing: rebuild the section from the figures saved in --drafts-dir and the hand "
                             "review as it is now (after reading the drafts)")
    parser.add_argument("--note", default="", help="a sentence for the section: what else ran beside the bench")
    parser.add_argument("--no-write", action="store_true", help="print the table only")
    args = parser.parse_args(argv)
    cases = [c for c in BRIEFS if not args.only or c.id in args.only]
    profiles = args.profiles.split(",")
    if args.render:
        saved = [json.loads((args.drafts_dir / p / "figures.json").read_text(encoding="utf-8")) for p in profiles]
        cases = [c for c in cases if any(c.id in run["figures"] for run in saved)]
        text = section_text(saved, cases, (saved[0]["load_start"], saved[-1]["load_end"]), args.note)
        print(text)
        if not args.no_write:
            write_section("article", text)
        return 0
    if any(c.corpus == "pdfs" for c in cases) and (args.pdf_dir is None or not any(args.pdf_dir.glob("*.pdf"))):
        parser.error("the PDF briefs need --pdf-dir with the real papers (see bench/data/pdf_expected.json)")
    root = args.data_dir or Path(tempfile.mkdtemp(prefix="article-bench-"))
    load = os.getloadavg()
    print(f"load average at start: {load[0]:.1f} {load[1]:.1f} {load[2]:.1f} on {os.cpu_count()} cores", file=sys.stderr)
    runs: list[dict] = []
    for profile in profiles:
        base = load_settings(env={"PEERDRAFT_DATA_DIR": str(root / "notes"), "PEERDRAFT_LLM_PROFILE": profile},
                             toml_path=root / "none.toml")
        embedder = load_embedder(base)
        judge = (load_judge(base.cache_dir) or load_judge(load_settings().cache_dir)) if args.judge == "built" else None
        loaded = time.perf_counter()
        llm = load_llm(base)
        run = {"profile": profile, "model": llm.model_name, "backend": llm.backend,
               "load_seconds": time.perf_counter() - loaded, "judge": judge_name(judge), "load_start": load[0],
               "figures": {}}
        indexes = {"notes": ensure_default_corpus(base, embedder=embedder)}
        if any(c.corpus == "pdfs" for c in cases):
            indexes["pdfs"] = pdf_index(base.with_values(data_dir=root / "pdfs"), embedder, args.pdf_dir)
        for case in cases:
            fig, _ = run_brief(case, llm, embedder, indexes[case.corpus], judge, base, args.drafts_dir / profile)
            run["figures"][case.id] = asdict(fig) | {"wrong": None}
            run["load_end"] = os.getloadavg()[0]
            (args.drafts_dir / profile / "figures.json").write_text(json.dumps(run, indent=1), encoding="utf-8")
            print(row(f"{case.id} ({case.corpus})", fig), file=sys.stderr)
        runs.append(run)
        del llm
    text = section_text(runs, cases, (load[0], os.getloadavg()[0]), args.note)
    print(text)
    if not args.no_write:
        write_section("article", text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
