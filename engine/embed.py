"""Embedding backends behind one Protocol; the default is the embedded all-MiniLM-L6-v2."""

from __future__ import annotations

import hashlib
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol, Sequence

import numpy as np

from engine.bundled_models import MINILM_NAME, embedded_embedder_dir, offline_hub
from engine.errors import ConfigError, ModelError
from engine.settings import Settings

# Instruction prefixes that e5/bge-style models were trained with; plain models get none.
_PREFIXES: tuple[tuple[str, str, str], ...] = (
    ("e5", "query: ", "passage: "),
    ("bge", "Represent this sentence for searching relevant passages: ", ""),
)


class Embedder(Protocol):
    """Turns text into unit-length float32 vectors (inner product = cosine)."""

    name: str
    dimension: int

    def embed_passages(self, texts: Sequence[str], batch_size: int = 64) -> np.ndarray: ...

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray: ...


@dataclass
class SentenceTransformerEmbedder:
    """sentence-transformers model from a local folder or an HF id (with hub access)."""

    name: str
    model_path: str
    query_prefix: str = ""
    passage_prefix: str = ""

    def __post_init__(self) -> None:
        offline_hub()
        from sentence_transformers import SentenceTransformer  # heavy: import on first use

        try:
            self._model = SentenceTransformer(self.model_path, device="cpu")
        except Exception as exc:  # the library raises many types; report one clear reason
            raise ModelError(f"Could not load embedding model {self.model_path!r}: {exc}",
                             "Set PEERDRAFT_EMBEDDING_MODEL to a local sentence-transformers "
                             "folder, or leave it empty for the embedded all-MiniLM-L6-v2.") from exc
        getter = getattr(self._model, "get_embedding_dimension", None) or self._model.get_sentence_embedding_dimension
        dim = getter()
        self.dimension = int(dim)
        self._lock = threading.Lock()

    def _encode(self, texts: Sequence[str], batch_size: int) -> np.ndarray:
        with self._lock:
            vectors = self._model.encode(list(texts), batch_size=batch_size, normalize_embeddings=True,
                                         convert_to_numpy=True, show_progress_bar=False)
        return np.ascontiguousarray(vectors, dtype=np.float32).reshape(len(texts), self.dimension)

    def embed_passages(self, texts: Sequence[str], batch_size: int = 64) -> np.ndarray:
        return self._encode([self.passage_prefix + t for t in texts], batch_size)

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        return self._encode([self.query_prefix + t for t in texts], 32)


def _prefixes_for(model: str) -> tuple[str, str]:
    lowered = model.lower()
    for marker, query, passage in _PREFIXES:
        if marker in Path(lowered).name or f"/{marker}" in lowered:
            return query, passage
    return "", ""


def load_embedder(settings: Settings) -> SentenceTransformerEmbedder:
    """The configured embedder (embedded all-MiniLM-L6-v2 when none is set)."""
    if not settings.embedding_model:
        return SentenceTransformerEmbedder(name=MINILM_NAME, model_path=str(embedded_embedder_dir()))
    model = settings.embedding_model
    if (model.startswith((".", "/", "~")) or Path(model).exists()) and not Path(model).expanduser().is_dir():
        raise ConfigError(f"Embedding model folder {model!r} does not exist.",
                          "Fix PEERDRAFT_EMBEDDING_MODEL or leave it empty for the embedded default.")
    query, passage = _prefixes_for(model)
    return SentenceTransformerEmbedder(name=model, model_path=str(Path(model).expanduser())
                                       if Path(model).expanduser().exists() else model,
                                       query_prefix=query, passage_prefix=passage)


def embedder_fingerprint(embedder: Embedder) -> str:
    """A short id of the embedding space (model + dimension), stored in the index manifest."""
    return hashlib.sha1(f"{embedder.name}|{embedder.dimension}".encode()).hexdigest()[:12]
