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
from engine.index import CorpusIndex, default_corpus_dir, index_uploads, passage_text  # noqa: E402
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
    import pandas as pd

    corpus = pd.read_csv(SCIFACT / "corpus_train.csv")
    claims = pd.read_csv(SCIFACT / "claims_validation.csv")
    docs = {}
    for row in corpus.itertuples():
        sentences = [a or b for a, b in _QUOTED.findall(str(row.abstract))] or [str(row.abstract)]
        docs[str(row.doc_id)] = (str(row.title), " ".join(s.strip() for s in sentences))
    queries: dict[str, dict] = {}
    for row in claims.itertuples():
        entry = queries.setdefault(str(row.id), {"query": str(row.claim), "relevant": set()})
        entry["relevant"].update(re.findall(r"\d+", str(row.cited_doc_ids)))
    queries_list = [q for q in queries.values() if q["relevant"] & docs.keys()]
    return docs, queries_list


class CachingEmbedder:
    """Wraps an embedder and keeps every passage vector on disk by text hash, so a rerun (or a run that was
    cut short) does not embed the same SciFact text twice on a slow machine."""

    def __init__(self, inner, path: Path):
        self.inner, self.path = inner, path
        self.name, self.dimension = inner.name, inner.dimension
        self.cache: dict[str, np.ndarray] = {}
        self.embedded = 0  # texts this process had to embed (cache misses)
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
        return self.inner.embed_queries(texts)

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
    settings = fresh_settings(root)
    index = CorpusIndex(settings.index_dir, embedder)
    uploads = [(f"{key}.md", f"# {docs[key][0]}\n\n{docs[key][1]}\n".encode()) for key in keys]
    index_uploads(index, uploads, settings)
    key_of = {doc.doc_id: Path(doc.source_name).stem for doc in index.list_documents()}
    return index, key_of


def scifact_section(embedder, n_docs: int, out: list[str]) -> None:
    docs, queries = scifact_data()
    for q in queries:
        q["relevant"] &= docs.keys()
    with tempfile.TemporaryDirectory() as tmp:
        index, key_of = build_scifact_index(docs, sorted(docs), _NoVectors(), Path(tmp) / "full")
        full = evaluate(index, queries, key_of, modes=("bm25",))
    print(table("SciFact full corpus", full, len(queries)))
    relevant = sorted(set().union(*(q["relevant"] for q in queries)))
    others = sorted(set(docs) - set(relevant))
    random.Random(0).shuffle(others)
    subset = relevant + others[:max(0, n_docs - len(relevant))]
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        index, key_of = build_scifact_index(docs, subset, embedder, Path(tmp) / "sub")
        build_s = time.perf_counter() - start
        sub = evaluate(index, queries, key_of)
        hnsw = hnsw_recall(index, [q["query"] for q in queries])
    print(table(f"SciFact {len(subset)}-abstract subset", sub, len(queries)))
    out.append("\n" + table(f"SciFact (claims_validation, relevant = cited_doc_ids), full corpus of {len(docs)} "
                            "abstracts, BM25 (BEIR's published BM25 nDCG@10 ≈ 0.67)", full, len(queries)))
    out.append("\n" + table(f"SciFact, all {len(relevant)} cited abstracts + {len(subset) - len(relevant)} random "
                            f"others ({len(index)} chunks; embedding the full corpus takes too long on this shared "
                            f"2-core machine, built in {build_s:.0f} s)", sub, len(queries)))
    out.append(f"\nHNSW (M=32, efSearch=128) recall@10 against exact search on these {len(index)} real chunk "
               f"embeddings: {hnsw:.3f}.")


def hnsw_recall(index: CorpusIndex, queries: list[str]) -> float:
    import faiss

    vectors = index.embedder.embed_queries(queries)
    exact = faiss.IndexFlatIP(vectors.shape[1])
    exact.add(index._vectors)
    approx = faiss.IndexHNSWFlat(vectors.shape[1], 32, faiss.METRIC_INNER_PRODUCT)
    approx.hnsw.efConstruction, approx.hnsw.efSearch = 80, 128
    approx.add(index._vectors)
    _, truth = exact.search(vectors, 10)
    _, found = approx.search(vectors, 10)
    return float(np.mean([len(set(t) & set(f)) / 10 for t, f in zip(truth, found)]))


# ---- (4) FAISS latency ------------------------------------------------------------------------------
def faiss_section(out: list[str]) -> None:
    import faiss

    rng = np.random.default_rng(0)
    rows = ["| chunks | index | median ms | p95 ms |", "|---|---|---|---|"]
    for n in (10_000, 100_000):
        base = rng.standard_normal((n, 384), dtype=np.float32)
        base /= np.linalg.norm(base, axis=1, keepdims=True)
        queries = rng.standard_normal((200, 384), dtype=np.float32)
        queries /= np.linalg.norm(queries, axis=1, keepdims=True)
        index = faiss.IndexIDMap(faiss.IndexFlatIP(384))
        index.add_with_ids(base, np.arange(n, dtype=np.int64))
        times = []
        for q in queries:
            start = time.perf_counter()
            index.search(q.reshape(1, -1), 50)
            times.append((time.perf_counter() - start) * 1000)
        rows.append(f"| {n:,} | IDMap(FlatIP), exact, k=50 | {np.median(times):.2f} | {np.percentile(times, 95):.2f} |")
        print(rows[-1])
    out.append("\n**FAISS query latency** (one query at a time, synthetic unit vectors, 384 dims, query embedding "
               f"excluded; {faiss.omp_get_max_threads()} threads):\n\n" + "\n".join(rows))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--scifact-docs", type=int, default=1500)
    parser.add_argument("--skip-scifact", action="store_true")
    args = parser.parse_args()
    embedder = load_embedder(load_settings(env={}, toml_path=Path("/nonexistent")))
    out: list[str] = [f"## Retrieval ({time.strftime('%Y-%m-%d')}, bench/retrieval.py)\n"]
    default_corpus_section(embedder, out)
    faiss_section(out)
    if not args.skip_scifact and SCIFACT.is_dir():
        scifact_section(embedder, args.scifact_docs, out)
    text = "\n".join(out)
    write_section("retrieval", text)
    print("\nwrote the retrieval section of bench/results.md")
    return 0


if __name__ == "__main__":
    sys.exit(main())
