"""Which sources a finished draft cites: its `[n]` numbers resolved to indexed documents and their passages.

A draft saved as Markdown keeps only its reference list, so the citation map is rebuilt here:
each `[n] ...` entry of the References section (engine.export.split_references) is matched to
an indexed document by doc id, arXiv id or title. When the draft has no reference list, the
documents named with `--sources` stand for [1], [2], ... in the order given.

`readable` limits both to the documents the reader may see (engine.corpus_access): a reference line
naming another writer's private upload resolves to nothing, so its passages, numbers and title never
come back to someone who may not read it.
"""

from __future__ import annotations

import re
from typing import Collection, Sequence

from engine.records import Passage
from engine.retrieve import indexed_passage


def _normal(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", " ", text.lower()).strip()


def document_passages(index, doc_id: str) -> list[Passage]:
    """Every chunk of one indexed document as a Passage, in document order."""
    chunks = sorted((c for c in index.chunks.values() if c.doc_id == doc_id), key=lambda c: (c.start, c.chunk_id))
    return [indexed_passage(index, c, score=1.0) for c in chunks]


def match_reference(text: str, index, readable: Collection[str] | None = None) -> str | None:
    """The doc id of the indexed document a reference line names (doc id, arXiv id or title), or None;
    only documents in `readable` are candidates (None: every document, for the operator's CLI)."""
    lowered, normal = text.lower(), _normal(text)
    for doc_id, stored in index.documents.items():
        if readable is not None and doc_id not in readable:
            continue
        doc = stored.document
        if doc_id.lower() in lowered.split() or f"({doc_id.lower()})" in lowered:
            return doc_id
        if doc.arxiv_id and doc.arxiv_id in text:
            return doc_id
        title = _normal(doc.title)
        if len(title) >= 8 and title in normal:
            return doc_id
    return None


def citation_map_for(markdown: str, index, doc_ids: Sequence[str] = (), readable: Collection[str] | None = None
                     ) -> tuple[dict[int, list[Passage]], list[str]]:
    """({citation number: passages}, notes on what could not be resolved) for a saved draft, resolved only
    against the documents in `readable` (None: all)."""
    from engine.export import split_references

    notes: list[str] = []
    _, references = split_references(markdown)
    numbered: dict[int, str] = {}
    for ref in references:
        doc_id = match_reference(ref.text, index, readable) if index is not None else None
        if doc_id is None:
            notes.append(f"Reference [{ref.number}] matches no indexed document: its citations count as unsupported.")
        else:
            numbered[ref.number] = doc_id
    if not references and doc_ids:
        numbered = {i: d for i, d in enumerate(doc_ids, start=1)}
        notes.append("No reference list in the draft: the --sources documents stand for [1], [2], ... in order.")
    missing = [d for d in numbered.values() if index is None or d not in index.documents
               or (readable is not None and d not in readable)]
    for doc_id in missing:
        notes.append(f"Document {doc_id!r} is not in the index.")
    return ({n: document_passages(index, d) for n, d in numbered.items() if d not in missing}, notes)
