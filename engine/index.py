"""Index stage: chunk embeddings in FAISS plus BM25, persisted atomically under the data directory.

Layout of `settings.index_dir`:
    CURRENT                 name of the live generation (replaced atomically with os.replace)
    gen-000007/             manifest.json, store.json, vectors.npy, ids.npy, index.faiss
Every change writes a complete new generation in a temporary folder, renames it, then switches
CURRENT; a crash at any point leaves the previous generation loadable. When the live generation's
files are damaged (a truncated file, a disk fault), opening falls back to the newest generation that
loads, moves the damaged one aside as `broken-gen-…` and says so in `CorpusIndex.recovered`.

Uploads (index_uploads) are also kept as sent under `settings.uploads_dir/<doc id>/`, so
`peerdraft index --rebuild` can re-ingest them when no generation is left to load.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import threading
import time
from contextlib import contextmanager
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Iterable, Iterator, Sequence

import numpy as np

from engine.bibliography import ReferenceEntry
from engine.embed import Embedder, embedder_fingerprint, load_embedder
from engine.errors import IndexStateError, NotFound
from engine.events import Event, OnEvent, ignore_event
from engine.ingest_pdf import ParseReport
from engine.ingest import (FileOutcome, IngestedDocument, IngestReport, ingest_paths, ingest_uploads,
                           update_metadata)
from engine.records import Chunk, Document, owners_readable_by
from engine.settings import Settings

log = logging.getLogger(__name__)

FORMAT_VERSION = 1
# Measured at 100k x 384 on the shared 2-core machine (bench/results.md, load 6-9): exact search 82 ms median per
# query; HNSW (M=32) 1.8 ms at efSearch 128, but its graph took 279 s to build, every delete rebuilds it, and on
# unstructured vectors its recall@10 was only 0.29 (1.00 on 3.3k real chunk embeddings). Exact search stays
# interactive well past 100k, so the switch stays at 200k, where exact search nears 0.2 s per query.
HNSW_THRESHOLD = 200_000
HNSW_M = 32
HNSW_EF_SEARCH = 128
EMBED_BATCH = 64
# Another process (the CLI beside the app) may be writing the index: wait this long for its lock, then give up.
LOCK_FILE = "write.lock"
LOCK_WAIT_S = 300.0
_REBUILD_FIX = "Run `peerdraft index --rebuild` to re-embed the corpus with the configured model."
_DAMAGED_FIX = ("Run `peerdraft index --rebuild`: it moves the damaged index aside and re-adds the bundled notes "
                "and every stored upload.")
UPLOAD_META = "upload.json"
POINTER = "CURRENT"  # the file naming the live generation: read and written only through the helpers below


class DamagedGeneration(IndexStateError):
    """One generation's files cannot be loaded (another, older generation may still be good)."""


def default_corpus_dir() -> Path:
    """The repository's bundled reference notes (corpus/ next to the engine package)."""
    import engine

    return Path(engine.__file__).resolve().parent.parent / "corpus"


def passage_text(document: Document, chunk: Chunk) -> str:
    """What gets embedded and BM25-indexed for a chunk: title and section give it context."""
    head = ". ".join(part for part in (document.title, chunk.section, chunk.label) if part)
    return f"{head}. {chunk.text}" if head else chunk.text


@dataclass(frozen=True)
class StoredDocument:
    """A document as the index keeps it: metadata, cleaned body, references and page spans."""

    document: Document
    body: str = ""
    references: str = ""
    pages: tuple[tuple[int, int, int], ...] = ()
    bibliography: tuple[ReferenceEntry, ...] = ()  # the paper's own reference list, parsed
    report: ParseReport | None = None  # what the reader found in the file (PDFs)


def _correction_key(document: Document) -> str:
    """Whose file under which name: a writer's metadata fixes follow the file when it is indexed again."""
    return f"{document.owner}/{document.source_name}"


def _fsync_write(path: Path, data: bytes) -> None:
    with open(path, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())


@contextmanager
def exclusive_lock(path: Path, timeout_s: float = LOCK_WAIT_S, on_event: OnEvent = ignore_event) -> Iterator[None]:
    """Hold an exclusive flock on `path` (created if missing), waiting up to timeout_s for another holder."""
    import fcntl

    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a+", encoding="utf-8") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "unknown"
            # The pid goes last: the CLI's progress bar shows the message's tail.
            message = (f"The index in {path.parent} is being written by another PeerDraft process; "
                       f"waiting for it (pid {holder})")
            log.warning(message)
            on_event(Event("lock", message, 0, 1))
            deadline = time.monotonic() + timeout_s
            while True:
                time.sleep(0.05)
                try:
                    fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() > deadline:
                        raise IndexStateError(
                            f"Another PeerDraft process (pid {holder}) has held the index lock {path} for over "
                            f"{timeout_s:.0f} s.", "Let that `peerdraft index` run or upload finish (or stop it), "
                            "then try again.") from None
            on_event(Event("lock", "Index lock acquired", 1, 1))
        try:
            handle.seek(0)
            handle.truncate()
            handle.write(str(os.getpid()))
            handle.flush()
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def current_generation(index_dir: Path) -> str | None:
    """The name of the live generation `index_dir`'s pointer names, or None when no index was written there yet."""
    pointer = Path(index_dir) / POINTER
    return pointer.read_text(encoding="utf-8").strip() if pointer.is_file() else None


def has_index(index_dir: Path) -> bool:
    """Whether an index was ever written in `index_dir` (it has a pointer to a live generation)."""
    return (Path(index_dir) / POINTER).is_file()


def point_to(index_dir: Path, name: str) -> None:
    """Make generation `name` the live one: the pointer is replaced atomically and flushed to disk."""
    index_dir = Path(index_dir)
    temp = index_dir / f".{POINTER}.tmp-{os.getpid()}"
    _fsync_write(temp, name.encode())
    os.replace(temp, index_dir / POINTER)
    _fsync_dir(index_dir)


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class CorpusIndex:
    """Documents, chunks, their vectors (FAISS) and a BM25 index over the same chunks."""

    def __init__(self, directory: Path, embedder: Embedder, *, index_kind: str = "auto",
                 hnsw_threshold: int = HNSW_THRESHOLD, lock_timeout_s: float = LOCK_WAIT_S) -> None:
        self.directory = Path(directory)
        self.embedder = embedder
        self.index_kind = index_kind  # "auto" (flat below hnsw_threshold chunks, HNSW from there), "flat" or "hnsw"
        self.hnsw_threshold = hnsw_threshold
        self.lock_timeout_s = lock_timeout_s
        self.generation = 0
        self.documents: dict[str, StoredDocument] = {}
        self.corrections: dict[str, dict] = {}  # _correction_key -> metadata fields a writer set by hand
        self.chunks: dict[int, Chunk] = {}  # vector id -> chunk
        self._ids = np.zeros(0, dtype=np.int64)
        self._vectors = np.zeros((0, embedder.dimension), dtype=np.float32)
        self._next_id = 0
        self._faiss = self._new_faiss(0)
        self._bm25 = None
        self._lock = threading.RLock()
        self.needs_rebuild = False  # opened with check_embedder=False over another model's vectors
        self.recovered = ""  # set when opening fell back from a damaged generation: what happened, for the user
        self.uploads_dir: Path | None = None  # where index_uploads keeps uploads as sent (open_index sets it)
        self._loaded_name = ""  # the generation folder this copy was loaded from (kept by the next prune)
        self._holds_lock = False  # inside _writing: a fallback while refreshing must not wait for our own lock

    # ---- loading -------------------------------------------------------------------------------
    @classmethod
    def open(cls, directory: Path, embedder: Embedder, *, check_embedder: bool = True, index_kind: str = "auto",
             hnsw_threshold: int = HNSW_THRESHOLD, lock_timeout_s: float = LOCK_WAIT_S,
             lock_held: bool = False) -> "CorpusIndex":
        """The live index in `directory` (empty if none yet); IndexStateError if it is unusable.

        A damaged live generation is replaced by the newest older one that loads (see `recovered`); that
        takes the write lock unless the caller holds it already (`lock_held`)."""
        options = dict(check_embedder=check_embedder, index_kind=index_kind, hnsw_threshold=hnsw_threshold,
                       lock_timeout_s=lock_timeout_s)
        directory = Path(directory)
        name = current_generation(directory)
        if name is None:
            return cls(directory, embedder, index_kind=index_kind, hnsw_threshold=hnsw_threshold,
                       lock_timeout_s=lock_timeout_s)
        try:
            return cls._open_generation(directory, name, embedder, **options)
        except DamagedGeneration as damaged:
            return cls._fall_back(directory, name, damaged, embedder, options, lock_held)

    @classmethod
    def _open_generation(cls, directory: Path, name: str, embedder: Embedder, *, check_embedder: bool,
                         index_kind: str, hnsw_threshold: int, lock_timeout_s: float) -> "CorpusIndex":
        index = cls(directory, embedder, index_kind=index_kind, hnsw_threshold=hnsw_threshold,
                    lock_timeout_s=lock_timeout_s)
        generation_dir = index.directory / name
        try:
            manifest = json.loads((generation_dir / "manifest.json").read_text(encoding="utf-8"))
            if not isinstance(manifest, dict):
                raise ValueError("the manifest is not a JSON object")
        except (OSError, ValueError) as exc:
            raise DamagedGeneration(f"The index manifest in {generation_dir} cannot be read ({exc}).",
                                    _DAMAGED_FIX) from None
        if manifest.get("format_version") != FORMAT_VERSION:
            raise IndexStateError(f"The index in {directory} has format {manifest.get('format_version')}, "
                                  f"this PeerDraft reads format {FORMAT_VERSION}.", _REBUILD_FIX)
        mismatch = manifest.get("embedding_fingerprint") != embedder_fingerprint(embedder)
        if check_embedder and mismatch:
            raise IndexStateError(
                f"The index in {directory} was built with {manifest.get('embedding_model')!r} "
                f"({manifest.get('dimension')} dimensions), but the configured embedding model is "
                f"{embedder.name!r} ({embedder.dimension} dimensions).", _REBUILD_FIX)
        index._load_generation(generation_dir, manifest, keep_vectors=not mismatch)
        index.needs_rebuild = mismatch
        index._loaded_name = name
        return index

    @classmethod
    def _fall_back(cls, directory: Path, damaged_name: str, damaged: DamagedGeneration, embedder: Embedder,
                   options: dict, lock_held: bool) -> "CorpusIndex":
        """The newest older generation that loads, made live (CURRENT switched, the damaged one moved aside)."""
        from contextlib import nullcontext

        with nullcontext() if lock_held else exclusive_lock(directory / LOCK_FILE, options["lock_timeout_s"]):
            if current_generation(directory) != damaged_name:
                return cls.open(directory, embedder, **options, lock_held=True)  # another process committed
            older = sorted((p.name for p in directory.iterdir() if p.is_dir() and p.name.startswith("gen-")
                            and p.name < damaged_name), reverse=True)
            for name in older:
                try:
                    index = cls._open_generation(directory, name, embedder, **options)
                except DamagedGeneration as exc:
                    log.warning("older index generation %s is damaged too: %s", name, exc.reason)
                    continue
                aside = directory / f"broken-{damaged_name}-{time.strftime('%Y%m%d-%H%M%S')}"
                if (directory / damaged_name).exists():  # CURRENT may name a folder that is gone altogether
                    os.rename(directory / damaged_name, aside)
                point_to(directory, name)
                index.generation = max(index.generation, int(damaged_name.removeprefix("gen-") or 0))
                written = json.loads((directory / name / "manifest.json").read_text(encoding="utf-8")).get(
                    "written_at", "")
                index.recovered = (f"The live index generation was damaged ({damaged.reason}) and was moved to "
                                   f"{aside.name}. PeerDraft now uses the previous generation ({name}, written "
                                   f"{written}); a change made after that is missing, so add any paper you "
                                   "uploaded last again, or run `peerdraft index --rebuild` to re-add every "
                                   "stored upload.")
                log.warning(index.recovered)
                return index
        raise damaged

    def _load_generation(self, generation_dir: Path, manifest: dict, keep_vectors: bool) -> None:
        import faiss

        try:
            store = json.loads((generation_dir / "store.json").read_text(encoding="utf-8"))
            ids = np.load(generation_dir / "ids.npy")
            vectors = np.load(generation_dir / "vectors.npy")
            faiss_index = faiss.read_index(str(generation_dir / "index.faiss")) if keep_vectors else None
        except (OSError, ValueError, RuntimeError) as exc:
            raise DamagedGeneration(f"The index files in {generation_dir} are damaged ({exc}).",
                                    _DAMAGED_FIX) from None
        try:
            for entry in store["documents"]:
                document = Document(**{**entry["document"], "authors": tuple(entry["document"]["authors"])})
                pages = tuple(tuple(p) for p in entry.get("pages", ()))
                self.documents[document.doc_id] = StoredDocument(
                    document, entry.get("body", ""), entry.get("references", ""), pages,
                    tuple(ReferenceEntry.from_dict(e) for e in entry.get("bibliography", ())),
                    ParseReport.from_dict(entry["report"]) if entry.get("report") else None)
            self.corrections = dict(store.get("corrections", {}))
            self.chunks = {int(row["vid"]): Chunk(**{k: v for k, v in row.items() if k != "vid"})
                           for row in store["chunks"]}
            self.generation = int(manifest["generation"])
            self._next_id = int(manifest["next_id"])
        except (KeyError, TypeError, ValueError, AttributeError) as exc:  # valid JSON of the wrong shape
            raise DamagedGeneration(f"The index files in {generation_dir} are damaged (store.json or manifest.json "
                                    f"does not hold what an index writes: {type(exc).__name__} {exc}).",
                                    _DAMAGED_FIX) from None
        if keep_vectors:
            if len(ids) != len(self.chunks) or faiss_index.ntotal != len(ids):
                raise DamagedGeneration(f"The index in {generation_dir} is inconsistent "
                                        f"({len(self.chunks)} chunks, {faiss_index.ntotal} vectors).", _DAMAGED_FIX)
            self._ids, self._vectors, self._faiss = ids.astype(np.int64), vectors.astype(np.float32), faiss_index

    def _refresh(self) -> None:
        """Load the live generation if another process switched CURRENT since this copy last read or wrote it."""
        if current_generation(self.directory) in (None, f"gen-{self.generation:06d}", self._loaded_name):
            return
        log.info("index in %s changed on disk; reloading before writing", self.directory)
        fresh = CorpusIndex.open(self.directory, self.embedder, check_embedder=False, index_kind=self.index_kind,
                                 hnsw_threshold=self.hnsw_threshold, lock_held=self._holds_lock)
        self.generation, self.documents, self.chunks = fresh.generation, fresh.documents, fresh.chunks
        self._ids, self._vectors, self._faiss = fresh._ids, fresh._vectors, fresh._faiss
        self._next_id, self.needs_rebuild, self._bm25 = fresh._next_id, fresh.needs_rebuild, None
        self._loaded_name, self.recovered = fresh._loaded_name, fresh.recovered or self.recovered

    def refresh(self) -> bool:
        """Catch up with a generation another process (say `peerdraft index` beside the app) committed.

        Cheap when nothing changed (one small file read). A generation pruned mid-load by a further write
        leaves this copy as it was, to catch up on the next call. Returns whether anything was reloaded."""
        with self._lock:
            before = self.generation
            try:
                self._refresh()
            except (OSError, IndexStateError) as exc:
                log.warning("index in %s changed on disk but could not be reloaded yet: %s", self.directory, exc)
            return self.generation != before

    @contextmanager
    def _writing(self, on_event: OnEvent = ignore_event) -> Iterator[None]:
        """Exclusive write access across threads and processes, with this copy brought up to date first."""
        with self._lock, exclusive_lock(self.directory / LOCK_FILE, self.lock_timeout_s, on_event):
            self._holds_lock = True
            try:
                self._refresh()
                yield
            finally:
                self._holds_lock = False

    # ---- FAISS -------------------------------------------------------------------------------
    def _resolved_kind(self, n: int) -> str:
        if self.index_kind == "auto":
            return "hnsw" if n >= self.hnsw_threshold else "flat"
        return self.index_kind

    def faiss_kind(self) -> str:
        """"flat" or "hnsw": what the live FAISS index actually is (it may have been loaded from disk)."""
        import faiss

        return "flat" if isinstance(faiss.downcast_index(self._faiss.index), faiss.IndexFlat) else "hnsw"

    def _new_faiss(self, n: int):
        import faiss

        dimension = self.embedder.dimension
        if self._resolved_kind(n) == "hnsw":
            inner = faiss.IndexHNSWFlat(dimension, HNSW_M, faiss.METRIC_INNER_PRODUCT)
            inner.hnsw.efConstruction = 80
            inner.hnsw.efSearch = HNSW_EF_SEARCH
        else:
            inner = faiss.IndexFlatIP(dimension)
        return faiss.IndexIDMap(inner)

    def _reset_faiss(self) -> None:
        self._faiss = self._new_faiss(len(self._ids))
        if len(self._ids):
            self._faiss.add_with_ids(self._vectors, self._ids)

    # ---- persistence ---------------------------------------------------------------------------
    def manifest(self) -> dict:
        """What the live generation holds: embedding model, dimension, counts, document hashes."""
        return {"format_version": FORMAT_VERSION, "generation": self.generation,
                "embedding_model": self.embedder.name, "embedding_fingerprint": embedder_fingerprint(self.embedder),
                "dimension": self.embedder.dimension, "index_kind": self._resolved_kind(len(self._ids)),
                "chunk_count": len(self.chunks), "document_count": len(self.documents), "next_id": self._next_id,
                "documents": {d: s.document.content_hash for d, s in self.documents.items()},
                "written_at": time.strftime("%Y-%m-%dT%H:%M:%S%z")}

    def _commit(self) -> None:
        """Write a complete new generation, then switch CURRENT to it (atomic on POSIX)."""
        import faiss

        self.directory.mkdir(parents=True, exist_ok=True)
        self.generation += 1
        name = f"gen-{self.generation:06d}"
        final = self.directory / name
        temp = self.directory / f".{name}.tmp-{os.getpid()}"
        for stale in (temp, final):  # leftovers of a crash before CURRENT was switched
            shutil.rmtree(stale, ignore_errors=True)
        temp.mkdir()
        store = {"documents": [{"document": asdict(s.document), "body": s.body, "references": s.references,
                                "pages": [list(p) for p in s.pages],
                                "bibliography": [asdict(e) for e in s.bibliography],
                                "report": asdict(s.report) if s.report else None} for s in self.documents.values()],
                 "corrections": self.corrections,
                 "chunks": [{"vid": vid, **asdict(chunk)} for vid, chunk in self.chunks.items()]}
        _fsync_write(temp / "store.json", json.dumps(store, ensure_ascii=False).encode("utf-8"))
        for file_name, array in (("ids.npy", self._ids), ("vectors.npy", self._vectors)):
            with open(temp / file_name, "wb") as handle:
                np.save(handle, array)
                handle.flush()
                os.fsync(handle.fileno())
        faiss.write_index(self._faiss, str(temp / "index.faiss"))
        with open(temp / "index.faiss", "rb") as handle:  # faiss does not fsync what it writes
            os.fsync(handle.fileno())
        _fsync_write(temp / "manifest.json", json.dumps(self.manifest(), indent=2).encode("utf-8"))
        _fsync_dir(temp)
        os.rename(temp, final)
        point_to(self.directory, name)
        # Keep the generation this change started from: it is the fallback should the new one be damaged.
        self._prune(keep={name, f"gen-{self.generation - 1:06d}", self._loaded_name})
        self._loaded_name = name

    def _prune(self, keep: set[str]) -> None:
        for path in self.directory.iterdir():
            is_old_generation = path.name.startswith("gen-") and path.name not in keep
            is_stale_temp = path.name.startswith(".gen-") and not path.name.endswith(f"-{os.getpid()}")
            if path.is_dir() and (is_old_generation or is_stale_temp):
                shutil.rmtree(path, ignore_errors=True)

    # ---- mutation ------------------------------------------------------------------------------
    def _embed(self, texts: Sequence[str], on_event: OnEvent) -> np.ndarray:
        parts = []
        for start in range(0, len(texts), EMBED_BATCH * 4):
            parts.append(self.embedder.embed_passages(texts[start:start + EMBED_BATCH * 4], batch_size=EMBED_BATCH))
            done = min(start + EMBED_BATCH * 4, len(texts))
            on_event(Event("embed", f"Embedded {done} of {len(texts)} chunks", done, len(texts)))
        if not parts:
            return np.zeros((0, self.embedder.dimension), dtype=np.float32)
        return np.ascontiguousarray(np.vstack(parts), dtype=np.float32)

    def _require_current_model(self) -> None:
        if self.needs_rebuild:
            raise IndexStateError(f"The index in {self.directory} holds vectors of another embedding model.",
                                  _REBUILD_FIX)

    def content_hashes(self, owner: str | None = None) -> dict[str, str]:
        """content hash -> title of every indexed document (for duplicate detection); with `owner`, only the
        shared documents and that owner's own uploads."""
        with self._lock:
            return {s.document.content_hash: s.document.title for s in self.documents.values()
                    if owner is None or s.document.readable_by(owner)}

    def _fresh_items(self, ingested: Iterable[IngestedDocument]) -> list[IngestedDocument]:
        # A document duplicates one in its own scope: the shared corpus, or the shared corpus plus its
        # owner's uploads. Another user's private copy of the same paper does not count.
        known = {(s.document.owner, s.document.content_hash) for s in self.documents.values()}
        fresh = []
        for item in ingested:
            owner, content_hash = item.document.owner, item.document.content_hash
            seen = any((scope, content_hash) in known for scope in owners_readable_by(owner))
            if not seen and item.document.doc_id not in self.documents:
                known.add((owner, content_hash))
                fresh.append(item)
        return fresh

    def add_documents(self, ingested: Iterable[IngestedDocument], on_event: OnEvent = ignore_event) -> list[str]:
        """Embed and add new documents (already-indexed content hashes are skipped); returns added doc ids."""
        with self._lock:
            self._require_current_model()
            candidates = [self._with_corrections(item) for item in self._fresh_items(ingested)]
            if not candidates:
                return []
            # Embedding is the slow part: it runs before the cross-process lock, so the CLI and the app only
            # wait for each other's (short) writes.
            vectors_of = {}
            pairs = [(item.document, chunk) for item in candidates for chunk in item.chunks]
            embedded = self._embed([passage_text(doc, chunk) for doc, chunk in pairs], on_event)
            row = 0
            for item in candidates:
                vectors_of[item.document.doc_id] = embedded[row:row + len(item.chunks)]
                row += len(item.chunks)
            with self._writing(on_event):
                self._require_current_model()
                fresh = self._fresh_items(candidates)  # another process may have added some meanwhile
                if not fresh:
                    return []
                pairs = [(item.document, chunk) for item in fresh for chunk in item.chunks]
                vectors = np.ascontiguousarray(
                    np.vstack([vectors_of[item.document.doc_id] for item in fresh]
                              or [np.zeros((0, self.embedder.dimension), dtype=np.float32)]), dtype=np.float32)
                ids = np.arange(self._next_id, self._next_id + len(pairs), dtype=np.int64)
                for item in fresh:
                    self.documents[item.document.doc_id] = StoredDocument(item.document, item.body, item.references,
                                                                          item.pages, item.bibliography, item.report)
                for vid, (_, chunk) in zip(ids.tolist(), pairs):
                    self.chunks[vid] = chunk
                self._next_id += len(pairs)
                self._ids = np.concatenate([self._ids, ids])
                self._vectors = np.vstack([self._vectors, vectors])
                if self._resolved_kind(len(self._ids)) != self.faiss_kind():
                    self._reset_faiss()
                elif len(ids):
                    self._faiss.add_with_ids(vectors, ids)
                self._bm25 = None
                self._commit()
            on_event(Event("index", f"Indexed {len(fresh)} documents ({len(pairs)} chunks)", 1, 1))
            return [item.document.doc_id for item in fresh]

    def _with_corrections(self, item: IngestedDocument) -> IngestedDocument:
        """The item with the metadata a writer corrected on an earlier copy of the same file, if any."""
        fixes = self.corrections.get(_correction_key(item.document))
        if not fixes:
            return item
        values = {k: list(v) if isinstance(v, (list, tuple)) else v for k, v in fixes.items()}
        return replace(item, document=update_metadata(item.document, **values))

    def remove_document(self, doc_id: str) -> int:
        """Delete a document and its vectors without rebuilding the rest; returns chunks removed."""
        with self._writing():
            self._require_current_model()
            if doc_id not in self.documents:
                raise NotFound(f"No document {doc_id!r} in the index.", "Pick one from `peerdraft search` or the Corpus page.")
            doomed = np.array([vid for vid, c in self.chunks.items() if c.doc_id == doc_id], dtype=np.int64)
            del self.documents[doc_id]
            for vid in doomed.tolist():
                del self.chunks[vid]
            keep = ~np.isin(self._ids, doomed)
            self._ids, self._vectors = self._ids[keep], np.ascontiguousarray(self._vectors[keep])
            if self._resolved_kind(len(self._ids)) == self.faiss_kind() == "flat" and self._faiss.ntotal == len(keep):
                self._faiss.remove_ids(doomed)
            else:  # HNSW cannot remove in place: rebuild its graph from the kept vectors
                self._reset_faiss()
            self._bm25 = None
            self._commit()
            forget_upload(self.uploads_dir, doc_id)
            return len(doomed)

    def update_metadata(self, doc_id: str, **changes: object) -> Document:
        """Edit a document's metadata; a changed title or section context is re-embedded for that document only."""
        with self._writing():
            self._require_current_model()
            stored = self.documents.get(doc_id)
            if stored is None:
                raise NotFound(f"No document {doc_id!r} in the index.", "Pick one from the document list.")
            updated = update_metadata(stored.document, **changes)
            self.documents[doc_id] = replace(stored, document=updated)
            key = _correction_key(updated)
            self.corrections[key] = {**self.corrections.get(key, {}),
                                     **{name: getattr(updated, name) for name in changes}}
            if updated.title != stored.document.title:
                vids = [vid for vid, c in self.chunks.items() if c.doc_id == doc_id]
                vectors = self._embed([passage_text(updated, self.chunks[v]) for v in vids], ignore_event)
                rows = np.searchsorted(self._ids, np.array(vids, dtype=np.int64))
                self._vectors[rows] = vectors
                self._reset_faiss()
                self._bm25 = None
            self._commit()
            return updated

    def rebuild(self, on_event: OnEvent = ignore_event) -> None:
        """Re-embed every stored chunk with the configured embedder and write a fresh generation."""
        with self._writing(on_event):
            vids = sorted(self.chunks)
            texts = [passage_text(self.documents[self.chunks[v].doc_id].document, self.chunks[v]) for v in vids]
            self._ids = np.array(vids, dtype=np.int64)
            self._vectors = self._embed(texts, on_event)
            self._reset_faiss()
            self._bm25 = None
            self.needs_rebuild = False
            self._commit()

    # ---- reading -------------------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self.chunks)

    def chunk_count(self, doc_id: str) -> int:
        with self._lock:
            return sum(1 for c in self.chunks.values() if c.doc_id == doc_id)

    def list_documents(self) -> list[Document]:
        """Every indexed document, sorted by title."""
        with self._lock:
            return sorted((s.document for s in self.documents.values()), key=lambda d: d.title.lower())

    def document(self, doc_id: str) -> Document:
        with self._lock:
            if doc_id not in self.documents:
                raise NotFound(f"No document {doc_id!r} in the index.", "Pick one from the document list.")
            return self.documents[doc_id].document

    def vectors_for(self, vids: Sequence[int]) -> np.ndarray:
        """The stored vectors of these chunk ids (rows in the same order)."""
        with self._lock:
            rows = np.searchsorted(self._ids, np.asarray(vids, dtype=np.int64))
            return self._vectors[rows]

    def search_dense(self, query_vector: np.ndarray, n: int, allowed: set[int] | None = None) -> list[tuple[int, float]]:
        """(chunk id, cosine) of the n nearest chunks, optionally only among `allowed` ids."""
        import faiss

        with self._lock:
            if not len(self._ids) or n <= 0:
                return []
            params = None
            query = np.ascontiguousarray(query_vector, dtype=np.float32).reshape(1, -1)
            if allowed is not None:
                if not allowed:
                    return []
                wanted = np.fromiter(allowed, dtype=np.int64)
                if self.faiss_kind() == "hnsw":
                    # A filtered HNSW walk misses most allowed ids when they are few: score them exactly instead.
                    wanted = wanted[np.isin(wanted, self._ids)]
                    scores = self._vectors[np.searchsorted(self._ids, wanted)] @ query[0]
                    top = np.argsort(-scores, kind="stable")[:n]
                    return [(int(wanted[i]), float(scores[i])) for i in top]
                params = faiss.SearchParameters(sel=faiss.IDSelectorBatch(wanted))
            scores, ids = self._faiss.search(query, min(n, len(self._ids)), params=params)
            return [(int(i), float(s)) for i, s in zip(ids[0], scores[0]) if i >= 0]

    def _bm25_state(self):
        if self._bm25 is None:
            import bm25s
            import Stemmer
            from bm25s.tokenization import Tokenizer

            vids = np.array(sorted(self.chunks), dtype=np.int64)
            tokenizer = Tokenizer(stemmer=Stemmer.Stemmer("english"), stopwords="en")
            texts = [passage_text(self.documents[self.chunks[v].doc_id].document, self.chunks[v]) for v in vids]
            retriever = bm25s.BM25()
            if texts:
                retriever.index(tokenizer.tokenize(texts, return_as="ids", show_progress=False), show_progress=False)
            self._bm25 = (retriever, tokenizer, vids)
        return self._bm25

    def search_bm25(self, query: str, n: int, allowed: set[int] | None = None) -> list[tuple[int, float]]:
        """(chunk id, BM25 score) of the n best-matching chunks with a positive score."""
        with self._lock:
            if not self.chunks or n <= 0:
                return []
            retriever, tokenizer, vids = self._bm25_state()
            tokens = tokenizer.tokenize([query], return_as="ids", update_vocab=False, show_progress=False)[0]
            tokens = [t for t in tokens if t != tokenizer.word_to_id.get("", -1)]
            if not tokens:
                return []
            scores = np.asarray(retriever.get_scores(tokens), dtype=np.float32)
            if allowed is not None:
                scores = np.where(np.isin(vids, np.fromiter(allowed, dtype=np.int64)), scores, 0.0)
            top = np.argsort(-scores, kind="stable")[:n]
            return [(int(vids[i]), float(scores[i])) for i in top if scores[i] > 0]


def open_index(settings: Settings, embedder: Embedder | None = None, *, check_embedder: bool = True,
               hnsw_threshold: int = HNSW_THRESHOLD) -> CorpusIndex:
    """The corpus index under settings.index_dir, with the configured embedder."""
    index = CorpusIndex.open(settings.index_dir, embedder or load_embedder(settings), check_embedder=check_embedder,
                             hnsw_threshold=hnsw_threshold)
    index.uploads_dir = settings.uploads_dir
    return index


def index_paths(index: CorpusIndex, paths: Iterable[Path], settings: Settings,
                on_event: OnEvent = ignore_event, *, owner: str = "") -> IngestReport:
    """Ingest files/folders and add the new ones to the index; the report has one outcome per file."""
    report = ingest_paths(paths, settings, on_event, known_hashes=index.content_hashes(owner), owner=owner)
    index.add_documents(report.documents, on_event)
    return report


def index_uploads(index: CorpusIndex, files: Iterable[tuple[str, bytes]], settings: Settings,
                  on_event: OnEvent = ignore_event, *, owner: str = "") -> IngestReport:
    """Ingest uploaded (name, bytes) pairs, add the new ones to the index and keep each as sent (for a rebuild)."""
    files = list(files)
    report = ingest_uploads(files, settings, on_event, known_hashes=index.content_hashes(owner), owner=owner)
    added = set(index.add_documents(report.documents, on_event))
    sent = dict(files)
    for item in report.documents:
        if item.document.doc_id in added:
            _keep_upload(settings.uploads_dir, item.document, sent[item.document.source_name])
    return report


def _keep_upload(uploads_dir: Path, document: Document, data: bytes) -> None:
    """Write uploads_dir/<doc id>/{original, upload.json} atomically (a temporary folder, then a rename)."""
    uploads_dir.mkdir(parents=True, exist_ok=True)
    final, temp = uploads_dir / document.doc_id, uploads_dir / f".{document.doc_id}.tmp-{os.getpid()}"
    shutil.rmtree(temp, ignore_errors=True)
    temp.mkdir()
    _fsync_write(temp / "original", data)
    _fsync_write(temp / UPLOAD_META, json.dumps({"name": document.source_name, "owner": document.owner}).encode())
    shutil.rmtree(final, ignore_errors=True)
    os.rename(temp, final)


def forget_upload(uploads_dir: Path | None, doc_id: str) -> None:
    """Delete the kept copy of an upload (its document left the index: nothing of it stays on disk)."""
    if uploads_dir is not None and doc_id and "/" not in doc_id and not doc_id.startswith("."):
        shutil.rmtree(uploads_dir / doc_id, ignore_errors=True)


def restore_stored_uploads(index: CorpusIndex, settings: Settings, on_event: OnEvent = ignore_event) -> IngestReport:
    """Re-ingest every kept upload the index lacks, each for its owner; one outcome per upload."""
    report = IngestReport()
    root = settings.uploads_dir
    by_owner: dict[str, list[tuple[str, bytes]]] = {}
    for folder in sorted(root.iterdir()) if root.is_dir() else []:
        if not folder.is_dir() or folder.name.startswith(".") or folder.name in index.documents:
            continue
        try:
            meta = json.loads((folder / UPLOAD_META).read_text(encoding="utf-8"))
            by_owner.setdefault(str(meta["owner"]), []).append((str(meta["name"]), (folder / "original").read_bytes()))
        except (OSError, ValueError, KeyError, TypeError) as exc:
            report.outcomes.append(FileOutcome(folder.name, "error", f"the kept upload in {folder} cannot be read "
                                               f"({exc}); upload that paper again"))
    for owner, files in by_owner.items():
        restored = ingest_uploads(files, settings, on_event, known_hashes=index.content_hashes(owner), owner=owner)
        index.add_documents(restored.documents, on_event)
        report.outcomes.extend(restored.outcomes)
    return report


def seed_default_corpus(index: CorpusIndex, settings: Settings, on_event: OnEvent = ignore_event) -> IngestReport | None:
    """Index the bundled corpus/ notes if this index has never been written; None when nothing was due."""
    if has_index(index.directory) or not default_corpus_dir().is_dir():
        return None
    on_event(Event("index", "Indexing the bundled reference corpus (first start)", 0, 1))
    report = index_paths(index, [default_corpus_dir()], settings, on_event)
    log.info("default corpus: %s", report.summary())
    return report


def ensure_default_corpus(settings: Settings, on_event: OnEvent = ignore_event,
                          embedder: Embedder | None = None) -> CorpusIndex:
    """The index, seeded with the bundled corpus/ notes the first time (when no index exists yet)."""
    index = open_index(settings, embedder)
    seed_default_corpus(index, settings, on_event)
    return index
