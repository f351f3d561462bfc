"""Retrieval benchmark: quality on the labeled corpus queries and SciFact, ingest/embedding throughput,
FAISS latency. Prints tables and writes the `retrieval` section of bench/results.md.

    .venv/bin/python bench/retrieval.py [--scifact-docs 1500] [--skip-scifact]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import os
import random
import re
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench._results import write_section  # noqa: E402
from engine.embed import load_embedder  # noqa: E402
from engine.index import (HNSW_EF_SEARCH, HNSW_M, HNSW_THRESHOLD, CorpusIndex, default_corpus_dir,  # noqa: E402
                          index_uploads, passage_text)
from engine.ingest import ingest_paths  # noqa: E402
from engine.retrieve import (CONVEX_ALPHA, DENSE_WEIGHT, FUSION, RRF_K, fuse_rankings,  # noqa: E402
                            retrieve_passages)
from engine.settings import load_settings  # noqa: E402

QUERIES = REPO / "bench" / "data" / "queries"
SCIFACT = REPO.parent / "shared" / "data" / "scifact"
MODE_ORDER = ("bm25", "dense", "hybrid")


def metrics(ranked: list[str], relevant: set[str]) -> tuple[float, float, float]:
    """(recall@5, MRR@10, nDCG@10) for one query over a ranked list of document keys."""
    recall = len(set(ranked[:5]) & relevant) / len(relevant)
    mrr = next((1.0 / r for r, key in enumerate(ranked[:10], start=1) if key in relevant), 0.0)
    dcg = sum(1.0 / math.log2(r + 1) for r, key in enumerate(ranked[:10], start=1) if key in relevant)
    idcg = sum(1.0 / math.log2(r + 1) for r in range(1, min(len(relevant), 10) + 1))
    return recall, mrr, dcg / idcg


def ranked_documents(index: CorpusIndex, query: str, mode: str, key_of: dict[str, str], **options) -> list[str]:
    """Document keys in order of their best passage (passages beyond the first per document dropped)."""
    seen: list[str] = []
    for passage in retrieve_passages(index, query, k=50, mode=mode, **options):
        key = key_of[passage.doc_id]
        if key not in seen:
            seen.append(key)
    return seen


def evaluate(index: CorpusIndex, queries: list[dict], key_of: dict[str, str], modes=MODE_ORDER,
             **options) -> dict[str, tuple[float, float, float]]:
    """Mean (recall@5, MRR@10, nDCG@10) per mode."""
    results = {}
    for mode in modes:
        rows = [metrics(ranked_documents(index, q["query"], mode, key_of, **options), set(q["relevant"]))
                for q in queries]
        results[mode] = tuple(float(np.mean(col)) for col in zip(*rows))
    return results


# ---- fusion study: tune on one half of the labeled queries, report on the other half and on all ------------
RRF_GRID = [("rrf", {"dense_weight": w, "rrf_k": k}) for w in (0.25, 0.4, 0.5, 0.6, 0.75, 1.0) for k in (5, 10, 20, 40, 60)]
CONVEX_GRID = [("convex", {"alpha": a / 10}) for a in range(1, 10)]
DEPTH = 50  # candidates per list, as retrieve_passages takes for k <= 50


def fusion_label(fusion: str, options: dict) -> str:
    if fusion == "rrf":
        return f"RRF dense weight {options['dense_weight']}, k_rrf={options['rrf_k']}"
    return f"convex, dense share {options['alpha']}"


def split_halves(queries: list[dict]) -> tuple[list[int], list[int]]:
    """Positions of the tuning half (even) and the held-out half (odd): queries are grouped by paper in the files,
    so alternating keeps every paper in both halves."""
    return list(range(0, len(queries), 2)), list(range(1, len(queries), 2))


def fusion_study(index: CorpusIndex, queries: list[dict], key_of: dict[str, str]) -> dict:
    """Every fusion variant scored on the tuning half, the best one (by nDCG@10, then MRR@10, then recall@5)
    and the engine default scored on the held-out half and on all queries, next to bm25 and dense."""
    vectors = index.embedder.embed_queries([q["query"] for q in queries])
    lists = [(index.search_dense(v, DEPTH), index.search_bm25(q["query"], DEPTH)) for q, v in zip(queries, vectors)]

    def doc_ranking(chunks: list[tuple[int, float]]) -> list[str]:
        ranked: list[str] = []
        for vid, _ in chunks[:DEPTH]:
            key = key_of[index.chunks[vid].doc_id]
            if key not in ranked:
                ranked.append(key)
        return ranked

    def score(rank_of, positions: list[int]) -> tuple[float, float, float]:
        rows = [metrics(doc_ranking(rank_of(*lists[i])), set(queries[i]["relevant"])) for i in positions]
        return tuple(float(np.mean(col)) for col in zip(*rows))

    tune, held_out = split_halves(queries)
    everything = list(range(len(queries)))
    variants = {(f, tuple(sorted(o.items()))): o for f, o in RRF_GRID + CONVEX_GRID}
    tuned = {key: score(lambda d, b, f=key[0], o=o: fuse_rankings(d, b, fusion=f, **o), tune)
             for key, o in variants.items()}
    best = max(tuned, key=lambda key: (tuned[key][2], tuned[key][1], tuned[key][0]))
    default = (FUSION, tuple(sorted(({"dense_weight": DENSE_WEIGHT, "rrf_k": RRF_K} if FUSION == "rrf"
                                     else {"alpha": CONVEX_ALPHA}).items())))
    rows = {}
    for name, rank_of in (("bm25", lambda d, b: b), ("dense", lambda d, b: d),
                          ("best on tuning half: " + fusion_label(best[0], dict(best[1])),
                           lambda d, b: fuse_rankings(d, b, fusion=best[0], **dict(best[1]))),
                          ("engine default: " + fusion_label(default[0], dict(default[1])),
                           lambda d, b: fuse_rankings(d, b, fusion=default[0], **dict(default[1])))):
        rows[name] = {"tune": score(rank_of, tune), "held_out": score(rank_of, held_out),
                      "all": score(rank_of, everything)}
    # Cross-check of the protocol: tune on the other half instead and score on the first.
    swapped = {key: score(lambda d, b, f=key[0], o=o: fuse_rankings(d, b, fusion=f, **o), held_out)
               for key, o in variants.items()}
    best_swapped = max(swapped, key=lambda key: (swapped[key][2], swapped[key][1], swapped[key][0]))
    rows["best on held-out half (cross-check): " + fusion_label(best_swapped[0], dict(best_swapped[1]))] = {
        "tune": score(lambda d, b: fuse_rankings(d, b, fusion=best_swapped[0], **dict(best_swapped[1])), tune),
        "held_out": swapped[best_swapped], "all": score(
            lambda d, b: fuse_rankings(d, b, fusion=best_swapped[0], **dict(best_swapped[1])), everything)}
    return {"tuned": tuned, "best": best, "default": default, "rows": rows,
            "sizes": (len(tune), len(held_out), len(queries))}


def fusion_markdown(study: dict) -> str:
    n_tune, n_held, n_all = study["sizes"]
    lines = [f"**Fusion study**: tuned on the even-numbered {n_tune} queries, checked on the other {n_held} "
             f"(recall@5 / MRR@10 / nDCG@10; {len(study['tuned'])} variants tried: weighted RRF over dense weight "
             "× k_rrf, and a convex mix of min-max scaled scores)", "",
             "| ranking | tuning half | held-out half | all |", "|---|---|---|---|"]
    for name, parts in study["rows"].items():
        cells = [" / ".join(f"{x:.3f}" for x in parts[p]) for p in ("tune", "held_out", "all")]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    top = sorted(study["tuned"].items(), key=lambda kv: (-kv[1][2], -kv[1][1], -kv[1][0]))[:5]
    lines.append("\nTop variants on the tuning half (nDCG@10): " + "; ".join(
        f"{fusion_label(f, dict(o))}: {m[2]:.3f}" for (f, o), m in top))
    return "\n".join(lines)


def table(title: str, results: dict[str, tuple[float, float, float]], n: int) -> str:
    lines = [f"**{title}** ({n} queries)", "", "| mode | recall@5 | MRR@10 | nDCG@10 |", "|---|---|---|---|"]
    for mode, (r, m, n10) in results.items():
        lines.append(f"| {mode} | {r:.3f} | {m:.3f} | {n10:.3f} |")
    return "\n".join(lines)


def load_queries() -> list[dict]:
    return [json.loads(line) for path in sorted(QUERIES.glob("*.jsonl"))
            for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def fresh_settings(root: Path):
    return load_settings(env={"PEERDRAFT_DATA_DIR": str(root)}, toml_path=root / "none.toml")


# ---- (1) labeled queries over the default corpus, (3) ingest vs raw embedding throughput -------------------
def default_corpus_section(embedder, out: list[str]) -> None:
    queries = load_queries()
    with tempfile.TemporaryDirectory() as tmp:
        settings = fresh_settings(Path(tmp))
        files = sorted(default_corpus_dir().glob("*.md"))
        # Raw embedding throughput on exactly the texts the index will embed, in this run.
        report = ingest_paths(files, settings)
        texts = [passage_text(d.document, c) for d in report.documents for c in d.chunks]
        embedder.embed_passages(texts[:32])  # warm-up
        start = time.perf_counter()
        embedder.embed_passages(texts, batch_size=64)
        raw_rate = len(texts) / (time.perf_counter() - start)
        index = CorpusIndex(settings.index_dir, embedder)
        start = time.perf_counter()
        ingest_report = ingest_paths(files, settings)
        index.add_documents(ingest_report.documents)
        ingest_rate = len(index) / (time.perf_counter() - start)
        key_of = {doc.doc_id: Path(doc.source_name).stem for doc in index.list_documents()}
        results = evaluate(index, queries, key_of)
        print(table("default corpus", results, len(queries)))
        study = fusion_study(index, queries, key_of)
        print(fusion_markdown(study))
    out.append(f"Default corpus: {len(files)} notes, {len(texts)} chunks, all-MiniLM-L6-v2 (embedded), "
               "document-level scoring (a document's rank = its best passage's rank).\n")
    out.append(table("Labeled writer queries over corpus/ (bench/data/queries/*.jsonl)", results, len(queries)))
    out.append(f"\nHybrid = the engine default: {fusion_label(*study['default'][:1], dict(study['default'][1]))} "
               "(BM25 weight 1), the variant that scored best on the tuning half below.\n")
    out.append(fusion_markdown(study))
    ratio = ingest_rate / raw_rate
    out.append(f"\n**Ingest throughput**: {ingest_rate:.1f} chunks/s (read + clean + chunk + embed + atomic write) vs "
               f"{raw_rate:.1f} chunks/s raw `embed_passages` on the same {len(texts)} texts in the same run: "
               f"ratio **{ratio:.2f}** (target ≥ 0.8).")
    print(f"ingest {ingest_rate:.1f} chunks/s, raw {raw_rate:.1f} chunks/s, ratio {ratio:.2f}")


# ---- (2) SciFact --------------------------------------------------------------------------------------
_QUOTED = re.compile(r"'((?:[^'\\]|\\.)*)'|\"((?:[^\"\\]|\\.)*)\"")


def scifact_data():
    """SciFact abstracts {doc_id: (title, abstract)} and two query sets over claims_validation: the claims that
    have evidence (relevant = their evidence abstracts) and every claim (relevant = cited_doc_ids, as in BEIR)."""
    import pandas as pd

    corpus = pd.read_csv(SCIFACT / "corpus_train.csv")
    claims = pd.read_csv(SCIFACT / "claims_validation.csv")
    docs = {}
    for row in corpus.itertuples():
        sentences = [a or b for a, b in _QUOTED.findall(str(row.abstract))] or [str(row.abstract)]
        docs[str(row.doc_id)] = (str(row.title), " ".join(s.strip() for s in sentences))
    cited: dict[str, dict] = {}
    evidence: dict[str, dict] = {}
    for row in claims.itertuples():
        entry = cited.setdefault(str(row.id), {"query": str(row.claim), "relevant": set()})
        entry["relevant"].update(re.findall(r"\d+", str(row.cited_doc_ids)))
        if isinstance(row.evidence_doc_id, (int, float)) and not math.isnan(row.evidence_doc_id):
            evidence.setdefault(str(row.id), {"query": str(row.claim), "relevant": set()})["relevant"].add(
                str(int(row.evidence_doc_id)))
    keep = lambda qs: [{**q, "relevant": q["relevant"] & docs.keys()} for q in qs if q["relevant"] & docs.keys()]
    return docs, keep(evidence.values()), keep(cited.values())


def scifact_order(docs: dict, queries: list[dict]) -> list[str]:
    """Abstract ids in embedding order: every relevant one first, then the others shuffled with a fixed seed."""
    relevant = sorted(set().union(*(q["relevant"] for q in queries)) & docs.keys())
    others = sorted(set(docs) - set(relevant))
    random.Random(0).shuffle(others)
    return relevant + others


class CachingEmbedder:
    """Wraps an embedder and keeps every passage vector on disk by text hash, so a rerun (or a run that was
    cut short) does not embed the same SciFact text twice on a slow machine."""

    def __init__(self, inner, path: Path):
        self.inner, self.path = inner, path
        self.name, self.dimension = inner.name, inner.dimension
        self.cache: dict[str, np.ndarray] = {}
        self.embedded = 0  # texts this process had to embed (cache misses)
        self.queries: dict[tuple[str, str], np.ndarray] = {}
        if path.is_file():
            with np.load(path) as data:
                self.cache = dict(zip(data["keys"].tolist(), data["vectors"]))

    @staticmethod
    def _key(text: str) -> str:
        return hashlib.sha1(text.encode("utf-8")).hexdigest()

    def embed_passages(self, texts, batch_size: int = 64) -> np.ndarray:
        keys = [self._key(t) for t in texts]
        missing = [i for i, key in enumerate(keys) if key not in self.cache]
        for start in range(0, len(missing), 256):
            part = missing[start:start + 256]
            vectors = self.inner.embed_passages([texts[i] for i in part], batch_size=batch_size)
            self.cache.update({keys[i]: v for i, v in zip(part, vectors)})
            self.embedded += len(part)
            self.save()
        return np.array([self.cache[key] for key in keys], dtype=np.float32).reshape(len(texts), self.dimension)

    def embed_queries(self, texts) -> np.ndarray:
        # Queries are cached in memory only: dense and hybrid then embed each claim once per run.
        missing = [t for t in dict.fromkeys(texts) if ("query", t) not in self.queries]
        if missing:
            self.queries.update({("query", t): v for t, v in zip(missing, self.inner.embed_queries(missing))})
        return np.array([self.queries[("query", t)] for t in texts], dtype=np.float32).reshape(len(texts), self.dimension)

    def save(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        temp = self.path.with_suffix(".tmp.npz")
        np.savez(temp, keys=np.array(list(self.cache)), vectors=np.array(list(self.cache.values()), dtype=np.float32))
        os.replace(temp, self.path)


class _NoVectors:
    """A zero-dimension stand-in so BM25 can be measured on the full corpus without embedding it."""

    name, dimension = "none", 1

    def embed_passages(self, texts, batch_size=64):
        return np.ones((len(texts), 1), dtype=np.float32)

    def embed_queries(self, texts):
        return np.ones((len(texts), 1), dtype=np.float32)


def build_scifact_index(docs: dict, keys: list[str], embedder, root: Path) -> tuple[CorpusIndex, dict]:
    """Each abstract goes through the normal upload path (our chunker: title heading + abstract body)."""
    settings = fresh_settings(root)
    index = CorpusIndex(settings.index_dir, embedder)
    uploads = [(f"{key}.md", f"# {docs[key][0]}\n\n{docs[key][1]}\n".encode()) for key in keys]
    index_uploads(index, uploads, settings)
    key_of = {doc.doc_id: Path(doc.source_name).stem for doc in index.list_documents()}
    return index, key_of


def scifact_section(embedder, n_docs: int, cache_dir: Path, out: list[str]) -> None:
    from engine.embed import embedder_fingerprint

    docs, evidence, cited = scifact_data()
    with tempfile.TemporaryDirectory() as tmp:
        index, key_of = build_scifact_index(docs, sorted(docs), _NoVectors(), Path(tmp) / "full")
        full = {"claims with evidence": evaluate(index, evidence, key_of, modes=("bm25",))["bm25"],
                "all claims (cited_doc_ids)": evaluate(index, cited, key_of, modes=("bm25",))["bm25"]}
        full_chunks = len(index)
    order = scifact_order(docs, cited)  # the cited set contains every evidence abstract
    n_relevant = len(set().union(*(q["relevant"] for q in cited)))
    subset = order[:max(n_docs, n_relevant)]
    caching = CachingEmbedder(embedder, cache_dir / f"scifact-{embedder_fingerprint(embedder)}.npz")
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        index, key_of = build_scifact_index(docs, subset, caching, Path(tmp) / "sub")
        build_s = time.perf_counter() - start
        caching.embed_queries([q["query"] for q in cited])  # one batch; evaluate() then hits the cache
        sub = {"claims with evidence": evaluate(index, evidence, key_of),
               "all claims (cited_doc_ids)": evaluate(index, cited, key_of)}
        hnsw = hnsw_recall(index, [q["query"] for q in cited])
    rows = ["| queries | corpus | mode | recall@5 | MRR@10 | nDCG@10 |", "|---|---|---|---|---|---|"]
    for name, (r, m, n10) in full.items():
        rows.append(f"| {name} | all {len(docs):,} | bm25 | {r:.3f} | {m:.3f} | {n10:.3f} |")
    for name, results in sub.items():
        for mode, (r, m, n10) in results.items():
            rows.append(f"| {name} | {len(subset):,} subset | {mode} | {r:.3f} | {m:.3f} | {n10:.3f} |")
    text = "\n".join(rows)
    print(text)
    out.append(f"\n**SciFact** (Wadden et al. 2020; claims_validation as queries: {len(evidence)} claims with "
               f"evidence, relevant = their evidence abstracts; and all {len(cited)} claims, relevant = cited_doc_ids "
               "as in BEIR, whose published BM25 nDCG@10 is about 0.67). Abstracts are indexed through our upload "
               f"path and chunker ({full_chunks:,} chunks for the full corpus). BM25 runs on all {len(docs):,} "
               f"abstracts. Dense and hybrid run on a subset: all {n_relevant} cited abstracts plus "
               f"{len(subset) - n_relevant:,} others drawn at random ({len(index):,} chunks), because embedding the "
               "whole corpus takes over two hours on this shared 2-core machine (about 0.6 abstracts/s at load 12); "
               f"subset vectors come from a disk cache by text hash (this run embedded {caching.embedded:,} of "
               f"{len(index):,} chunks; index built in {build_s:.0f} s). Subset figures are easier than full-corpus "
               "ones: fewer distractors.\n\n" + text)
    out.append(f"\nHNSW (M={HNSW_M}, efSearch={HNSW_EF_SEARCH}) recall@10 against exact search on these "
               f"{len(index):,} real chunk embeddings (all {len(cited)} claims as queries): {hnsw:.3f}.")


def hnsw_recall(index: CorpusIndex, queries: list[str]) -> float:
    import faiss

    vectors = index.embedder.embed_queries(queries)
    exact = faiss.IndexFlatIP(vectors.shape[1])
    exact.add(index._vectors)
    approx = faiss.IndexHNSWFlat(vectors.shape[1], HNSW_M, faiss.METRIC_INNER_PRODUCT)
    approx.hnsw.efConstruction, approx.hnsw.efSearch = 80, HNSW_EF_SEARCH
    approx.add(index._vectors)
    _, truth = exact.search(vectors, 10)
    _, found = approx.search(vectors, 10)
    return float(np.mean([len(set(t) & set(f)) / 10 for t, f in zip(truth, found)]))


# ---- (4) FAISS latency: exact vs HNSW --------------------------------------------------------------------
def _latencies(index, queries: np.ndarray, k: int) -> tuple[np.ndarray, list[float]]:
    """Ids found for each query (searched one at a time, as the app does) and per-query milliseconds."""
    found, times = [], []
    for q in queries:
        start = time.perf_counter()
        _, ids = index.search(q.reshape(1, -1), k)
        times.append((time.perf_counter() - start) * 1000)
        found.append(ids[0])
    return np.array(found), times


FAISS_SIZES = (10_000, 100_000)


def faiss_section(out: list[str], ef_values=(32, 64, 128, 256)) -> None:
    import faiss

    rng = np.random.default_rng(0)
    rows = ["| chunks | index | build s | median ms | p95 ms | recall@10 vs exact |", "|---|---|---|---|---|---|"]
    for n in FAISS_SIZES:
        base = rng.standard_normal((n, 384), dtype=np.float32)
        base /= np.linalg.norm(base, axis=1, keepdims=True)
        queries = rng.standard_normal((200, 384), dtype=np.float32)
        queries /= np.linalg.norm(queries, axis=1, keepdims=True)
        exact = faiss.IndexIDMap(faiss.IndexFlatIP(384))
        start = time.perf_counter()
        exact.add_with_ids(base, np.arange(n, dtype=np.int64))
        build_s = time.perf_counter() - start
        for k in (10, 50):
            truth, times = _latencies(exact, queries, k)
            rows.append(f"| {n:,} | IDMap(FlatIP), exact, k={k} | {build_s:.1f} | {np.median(times):.2f} | "
                        f"{np.percentile(times, 95):.2f} | 1 |")
            print(rows[-1])
        if n < max(FAISS_SIZES):
            continue
        truth10 = truth[:, :10]
        hnsw = faiss.IndexHNSWFlat(384, HNSW_M, faiss.METRIC_INNER_PRODUCT)
        hnsw.hnsw.efConstruction = 80
        start = time.perf_counter()
        hnsw.add(base)
        build_s = time.perf_counter() - start
        for ef in ef_values:
            hnsw.hnsw.efSearch = ef
            found, times = _latencies(hnsw, queries, 10)
            recall = np.mean([len(set(t) & set(f)) / 10 for t, f in zip(truth10, found)])
            rows.append(f"| {n:,} | HNSW M={HNSW_M}, efConstruction=80, efSearch={ef}, k=10 | {build_s:.0f} | "
                        f"{np.median(times):.2f} | {np.percentile(times, 95):.2f} | {recall:.3f} |")
            print(rows[-1])
    out.append("\n**FAISS query latency, exact vs HNSW** (one query at a time, 200 queries, synthetic unit vectors, "
               f"384 dims, query embedding excluded; {faiss.omp_get_max_threads()} threads; the engine switches to "
               f"HNSW at {HNSW_THRESHOLD:,} chunks). Random Gaussian vectors are the hard case for HNSW (no cluster "
               "structure), so its recall here is a floor; see the real-embedding figure under SciFact.\n\n"
               + "\n".join(rows))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--scifact-docs", type=int, default=1500)
    parser.add_argument("--skip-scifact", action="store_true")
    parser.add_argument("--cache-dir", type=Path, default=Path(tempfile.gettempdir()) / "peerdraft-bench-cache",
                        help="where SciFact passage vectors are kept by text hash between runs")
    args = parser.parse_args()
    embedder = load_embedder(load_settings(env={}, toml_path=Path("/nonexistent")))
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    out: list[str] = [f"## Retrieval ({time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, bench/retrieval.py; "
                      f"shared 2-core machine, load average at start {load})\n"]
    default_corpus_section(embedder, out)
    faiss_section(out)
    if not args.skip_scifact and SCIFACT.is_dir():
        scifact_section(embedder, args.scifact_docs, args.cache_dir, out)
    text = "\n".join(out)
    write_section("retrieval", text)
    print("\nwrote the retrieval section of bench/results.md")
    return 0


if __name__ == "__main__":
    sys.exit(main())
