"""Index stage: add/delete without rebuild, persistence, atomic generations under kill -9, manifest checks."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import numpy as np
import pytest

import engine.index as index_module
from engine.errors import IndexStateError, NotFound
from engine.index import CorpusIndex, ensure_default_corpus, index_paths, index_uploads, open_index

REPO = Path(__file__).resolve().parents[1]


class HashEmbedder:
    """A fast deterministic bag-of-words embedder for tests that do not need real semantics."""

    def __init__(self, name: str = "hash-bow", dimension: int = 64):
        self.name, self.dimension = name, dimension

    def _one(self, text: str) -> np.ndarray:
        vector = np.zeros(self.dimension, dtype=np.float32)
        for word in text.lower().split():
            vector[int(hashlib.md5(word.encode()).hexdigest(), 16) % self.dimension] += 1.0
        return vector / (np.linalg.norm(vector) or 1.0)

    def embed_passages(self, texts, batch_size: int = 64) -> np.ndarray:
        return np.array([self._one(t) for t in texts], dtype=np.float32).reshape(len(texts), self.dimension)

    def embed_queries(self, texts) -> np.ndarray:
        return self.embed_passages(texts)


def note(title: str, body: str) -> str:
    return f"---\ntitle: {title}\nauthors: [A. Writer]\nyear: 2020\n---\n## Main\n\n{body}\n"


@pytest.fixture
def corpus_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "papers"
    folder.mkdir()
    (folder / "alpha.md").write_text(note("Alpha", "Gradient checkpointing trades compute for memory."))
    (folder / "beta.md").write_text(note("Beta", "Speculative decoding drafts tokens with a small model."))
    (folder / "gamma.md").write_text(note("Gamma", "Mixture of experts routes tokens to sparse feed-forward blocks."))
    return folder


def build(settings, corpus_dir, embedder=None) -> CorpusIndex:
    index = open_index(settings, embedder or HashEmbedder())
    index_paths(index, [corpus_dir], settings)
    return index


def test_documents_are_added_and_deleted_without_rebuilding_the_rest(settings, corpus_dir):
    index = build(settings, corpus_dir)
    beta_id = next(d.doc_id for d in index.list_documents() if d.title == "Beta")
    kept_vectors = {vid: index.vectors_for([vid])[0].copy() for vid, c in index.chunks.items() if c.doc_id != beta_id}
    calls = []
    original = index.embedder.embed_passages
    index.embedder.embed_passages = lambda texts, batch_size=64: calls.append(len(texts)) or original(texts)
    removed = index.remove_document(beta_id)
    assert removed == 1 and calls == []  # nothing re-embedded
    assert beta_id not in {c.doc_id for c in index.chunks.values()}
    assert index._faiss.ntotal == len(index.chunks) == 2
    for vid, vector in kept_vectors.items():
        np.testing.assert_array_equal(index.vectors_for([vid])[0], vector)
    index_uploads(index, [("delta.md", note("Delta", "Flash attention tiles the softmax.").encode())], settings)
    assert calls == [1]  # only the new document's chunk
    hits = index.search_dense(index.embedder.embed_queries(["speculative decoding drafts tokens"])[0], 5)
    assert all(index.chunks[vid].doc_id != beta_id for vid, _ in hits)


def test_index_round_trips_through_disk(settings, corpus_dir):
    index = build(settings, corpus_dir)
    query = index.embedder.embed_queries(["memory compute checkpointing"])[0]
    before = index.search_dense(query, 3)
    reopened = open_index(settings, HashEmbedder())
    assert reopened.list_documents() == index.list_documents()
    assert reopened.chunks == index.chunks
    assert reopened.search_dense(query, 3) == before
    assert reopened.search_bm25("checkpointing", 3)[0][0] == before[0][0]
    manifest = json.loads((settings.index_dir / (settings.index_dir / "CURRENT").read_text() / "manifest.json").read_text())
    assert manifest["chunk_count"] == 3 and manifest["dimension"] == 64 and manifest["embedding_model"] == "hash-bow"
    assert set(manifest["documents"]) == {d.doc_id for d in index.list_documents()}


def test_only_the_live_and_previous_generation_are_kept(settings, corpus_dir):
    index = build(settings, corpus_dir)
    for doc in index.list_documents():
        index.remove_document(doc.doc_id)
    generations = sorted(p.name for p in settings.index_dir.iterdir() if p.name.startswith("gen-"))
    assert len(generations) == 2 and (settings.index_dir / "CURRENT").read_text() == generations[-1]


def test_index_built_with_another_embedding_model_asks_for_a_rebuild(settings, corpus_dir):
    build(settings, corpus_dir)
    with pytest.raises(IndexStateError, match="peerdraft index --rebuild") as caught:
        open_index(settings, HashEmbedder(name="other-model", dimension=32))
    assert "hash-bow" in str(caught.value) and "other-model" in str(caught.value)


def test_rebuild_reembeds_stored_chunks_with_the_new_model(settings, corpus_dir):
    build(settings, corpus_dir)
    other = HashEmbedder(name="other-model", dimension=32)
    stale = open_index(settings, other, check_embedder=False)
    with pytest.raises(IndexStateError):
        stale.remove_document(stale.list_documents()[0].doc_id)
    stale.rebuild()
    fresh = open_index(settings, other)
    assert len(fresh) == 3 and fresh._vectors.shape == (3, 32)


def test_metadata_edit_persists_and_reembeds_only_on_title_change(settings, corpus_dir):
    index = build(settings, corpus_dir)
    doc = index.list_documents()[0]
    index.update_metadata(doc.doc_id, year=1999, venue="Workshop")
    reopened = open_index(settings, HashEmbedder())
    assert reopened.document(doc.doc_id).year == 1999 and reopened.document(doc.doc_id).venue == "Workshop"
    vid = next(v for v, c in reopened.chunks.items() if c.doc_id == doc.doc_id)
    before = reopened.vectors_for([vid])[0].copy()
    reopened.update_metadata(doc.doc_id, title="Completely Different Heading Words")
    assert not np.array_equal(reopened.vectors_for([vid])[0], before)
    with pytest.raises(NotFound):
        reopened.update_metadata("nope", year=2000)


def test_bad_upload_names_write_nothing_outside_the_data_dir(settings, tmp_path):
    index = open_index(settings, HashEmbedder())
    report = index_uploads(index, [("../../escape.md", b"# x\n\nhello"), ("ok.md", b"# Ok\n\nfine text")], settings)
    assert [o.status for o in report.outcomes] == ["error", "ok"]
    outside = [p for p in tmp_path.rglob("*") if settings.data_dir not in p.parents and p != settings.data_dir]
    assert outside == []
    assert len(open_index(settings, HashEmbedder()).documents) == 1


def test_default_corpus_is_indexed_on_first_start_only(settings, corpus_dir, monkeypatch):
    monkeypatch.setattr(index_module, "default_corpus_dir", lambda: corpus_dir)
    events = []
    index = ensure_default_corpus(settings, events.append, embedder=HashEmbedder())
    assert len(index.documents) == 3 and any(e.stage == "embed" for e in events)
    index.remove_document(index.list_documents()[0].doc_id)
    again = ensure_default_corpus(settings, embedder=HashEmbedder())
    assert len(again.documents) == 2  # a deliberate delete is not undone at the next start


WRITER = textwrap.dedent("""
    import sys
    sys.path.insert(0, {repo!r}); sys.path.insert(0, {tests!r})
    from engine.settings import load_settings
    from engine.index import open_index, index_uploads
    from test_index import HashEmbedder, note
    settings = load_settings(env={{"PEERDRAFT_DATA_DIR": {data!r}}}, toml_path=None)
    index = open_index(settings, HashEmbedder())
    i = len(index.documents)
    print("ready", flush=True)
    while True:
        body = " ".join(f"word{{i}}x{{j}} filler text for size" for j in range(400))
        index_uploads(index, [(f"doc{{i}}.md", note(f"Doc {{i}}", body).encode())], settings)
        i += 1
""")


def test_kill_9_during_writes_always_leaves_a_loadable_index(settings, tmp_path):
    script = tmp_path / "writer.py"
    script.write_text(WRITER.format(repo=str(REPO), tests=str(REPO / "tests"), data=str(settings.data_dir)))
    rng = np.random.default_rng(7)
    seen_documents = 0
    for _ in range(6):
        proc = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        assert proc.stdout.readline().strip() == b"ready"
        time.sleep(float(rng.uniform(0.3, 1.2)))
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        index = open_index(settings, HashEmbedder())  # must not raise
        assert index._faiss.ntotal == len(index.chunks) == len(index._ids)
        assert {c.doc_id for c in index.chunks.values()} == set(index.documents)
        assert len(index.documents) >= seen_documents  # never loses what a finished write committed
        seen_documents = len(index.documents)
    assert seen_documents > 0


def test_index_forced_to_hnsw_adds_deletes_and_finds_the_nearest_neighbour(settings, corpus_dir):
    index = CorpusIndex.open(settings.index_dir, HashEmbedder(), hnsw_threshold=2)
    index_paths(index, [corpus_dir], settings)
    assert index.faiss_kind() == "hnsw" and index._faiss.ntotal == 3
    by_title = {d.title: d.doc_id for d in index.list_documents()}

    def nearest(text: str, index=index, **options) -> str:
        vid, _ = index.search_dense(index.embedder.embed_queries([text])[0], 1, **options)[0]
        return index.chunks[vid].doc_id

    assert nearest("Speculative decoding drafts tokens with a small model.") == by_title["Beta"]
    index.remove_document(by_title["Beta"])
    assert index.faiss_kind() == "hnsw" and index._faiss.ntotal == 2
    assert nearest("Speculative decoding drafts tokens with a small model.") != by_title["Beta"]
    index_uploads(index, [("delta.md", note("Delta", "Flash attention tiles the softmax.").encode())], settings)
    reopened = CorpusIndex.open(settings.index_dir, HashEmbedder(), hnsw_threshold=2)
    assert reopened.faiss_kind() == "hnsw" and reopened._faiss.ntotal == 3
    delta = next(d.doc_id for d in reopened.list_documents() if d.title == "Delta")
    assert nearest("Flash attention tiles the softmax.", reopened) == delta
    allowed = {vid for vid, c in reopened.chunks.items() if c.doc_id == by_title["Alpha"]}
    assert nearest("Flash attention tiles the softmax.", reopened, allowed=allowed) == by_title["Alpha"]


def test_an_index_shrinking_below_the_threshold_goes_back_to_exact_search(settings, corpus_dir):
    index = CorpusIndex.open(settings.index_dir, HashEmbedder(), hnsw_threshold=3)
    index_paths(index, [corpus_dir], settings)
    assert index.faiss_kind() == "hnsw"
    index.remove_document(index.list_documents()[0].doc_id)
    assert index.faiss_kind() == "flat" and index._faiss.ntotal == 2


def test_a_writer_waits_for_the_lock_another_process_holds_and_names_it(settings, corpus_dir):
    from engine.index import LOCK_FILE, exclusive_lock

    index = open_index(settings, HashEmbedder())
    index.lock_timeout_s = 0.3
    with exclusive_lock(settings.index_dir / LOCK_FILE):
        with pytest.raises(IndexStateError, match=f"pid {os.getpid()}"):
            index_paths(index, [corpus_dir], settings)
    assert not (settings.index_dir / "CURRENT").exists()
    events = []
    index.lock_timeout_s = 30
    with exclusive_lock(settings.index_dir / LOCK_FILE):
        writer = threading.Thread(target=lambda: index_paths(index, [corpus_dir], settings, events.append))
        writer.start()
        time.sleep(0.5)
        assert writer.is_alive()  # still waiting while the lock is held
    writer.join(timeout=30)
    assert len(index.documents) == 3
    assert any(e.stage == "lock" and "being written by another PeerDraft process" in e.message for e in events)


CONCURRENT_WRITER = textwrap.dedent("""
    import sys, time
    from pathlib import Path
    sys.path.insert(0, {repo!r}); sys.path.insert(0, {tests!r})
    from engine.settings import load_settings
    from engine.index import open_index, index_uploads
    from test_index import HashEmbedder, note
    settings = load_settings(env={{"PEERDRAFT_DATA_DIR": {data!r}}}, toml_path=None)
    index = open_index(settings, HashEmbedder())  # both open the same (empty) index before either writes
    print("ready", flush=True)
    while not Path({go!r}).exists():
        time.sleep(0.01)
    for i in range(6):
        body = " ".join(f"{{sys.argv[1]}}word{{i}}x{{j}} text" for j in range(300))
        index_uploads(index, [(f"{{sys.argv[1]}}{{i}}.md", note(f"{{sys.argv[1]}} {{i}}", body).encode())], settings)
""")


def test_concurrent_adds_from_two_processes_both_land(settings, tmp_path):
    script = tmp_path / "concurrent_writer.py"
    go = tmp_path / "go"
    script.write_text(CONCURRENT_WRITER.format(repo=str(REPO), tests=str(REPO / "tests"),
                                               data=str(settings.data_dir), go=str(go)))
    procs = [subprocess.Popen([sys.executable, str(script), name], stdout=subprocess.PIPE)
             for name in ("left", "right")]
    for proc in procs:
        assert proc.stdout.readline().strip() == b"ready"
    go.touch()
    for proc in procs:
        assert proc.wait(timeout=120) == 0
    index = open_index(settings, HashEmbedder())
    assert sorted(d.title for d in index.list_documents()) == sorted(
        f"{name} {i}" for name in ("left", "right") for i in range(6))
    assert index._faiss.ntotal == len(index.chunks) == len(index._ids)
    assert {c.doc_id for c in index.chunks.values()} == set(index.documents)
    assert len(set(index.chunks)) == len(index.chunks) and index.generation == 12


def test_a_reader_catches_up_with_documents_another_process_added(settings, tmp_path):
    reader = open_index(settings, HashEmbedder())
    assert reader.refresh() is False  # nothing on disk changed
    script = tmp_path / "concurrent_writer.py"
    (tmp_path / "go").touch()
    script.write_text(CONCURRENT_WRITER.format(repo=str(REPO), tests=str(REPO / "tests"),
                                               data=str(settings.data_dir), go=str(tmp_path / "go")))
    assert subprocess.run([sys.executable, str(script), "cli"], capture_output=True, timeout=120).returncode == 0
    assert len(reader.documents) == 0
    assert reader.refresh() is True
    assert sorted(d.title for d in reader.list_documents()) == [f"cli {i}" for i in range(6)]
    assert reader._faiss.ntotal == len(reader.chunks)
    assert reader.refresh() is False
