"""Who may see and change which corpus documents.

The index holds one shared team corpus (documents with `owner == ""`: the bundled notes and what admins
add) and each user's private uploads (`owner == user.name`). Everyone signed in reads the shared corpus;
only its uploader reads a private document. Admins manage the shared corpus; a user manages their own
uploads. Reviewers read and search but do not add papers. In local (desktop) mode the one implicit user is
an admin, so everything added there is shared and manageable.

These checks live in the engine, so a page that forgets to hide a button still cannot delete, edit or
retrieve from a document its user may not see.
"""

from __future__ import annotations

from typing import Iterable

from engine.errors import AccessDenied, NotFound
from engine.events import OnEvent, ignore_event
from engine.records import SHARED, Document


def can_read(user, document: Document) -> bool:
    return document.readable_by(user.name)


def can_manage(user, document: Document) -> bool:
    """Edit metadata or delete: admins for the shared corpus, the uploader for a private document."""
    return (document.owner == SHARED and user.is_admin) or document.owner == user.name


def can_upload(user) -> bool:
    return user.can_write


def visible_documents(index, user) -> list[Document]:
    """The documents `user` may read, sorted by title."""
    return [d for d in index.list_documents() if can_read(user, d)]


def visible_doc_ids(index, user) -> set[str]:
    return {d.doc_id for d in visible_documents(index, user)}


def readable_document(index, user, doc_id: str) -> Document:
    """The document, or NotFound when it does not exist or is another user's private upload."""
    document = index.document(doc_id)
    if not can_read(user, document):
        raise NotFound(f"No document {doc_id!r} in the index.", "Pick one from the document list.")
    return document


def _managed(index, user, doc_id: str) -> Document:
    document = readable_document(index, user, doc_id)
    if not can_manage(user, document):
        raise AccessDenied(f"{document.title!r} belongs to the shared team corpus, which only admins change.",
                           "Ask an admin, or upload your own copy (it stays private to you).")
    return document


def remove_document(index, user, doc_id: str) -> int:
    _managed(index, user, doc_id)
    return index.remove_document(doc_id)


def update_metadata(index, user, doc_id: str, **changes: object) -> Document:
    _managed(index, user, doc_id)
    return index.update_metadata(doc_id, **changes)


def upload(index, user, files: Iterable[tuple[str, bytes]], settings, on_event: OnEvent = ignore_event, *,
           shared: bool | None = None):
    """Ingest uploads for `user`: into the shared corpus (an admin's default) or private to them (everyone
    else's default, and an admin's when `shared=False`)."""
    from engine.index import index_uploads

    if not can_upload(user):
        raise AccessDenied("Reviewers read and search the corpus but do not add papers to it.",
                           "Ask a writer or an admin to add the paper.")
    if shared is None:
        shared = user.is_admin
    if shared and not user.is_admin:
        raise AccessDenied("Only admins add papers to the shared team corpus.",
                           "Leave 'shared' off: your upload stays private to you.")
    owner = SHARED if shared else user.name
    return index_uploads(index, files, settings, on_event, owner=owner)


def restrict(doc_ids: Iterable[str] | None, visible: set[str] | None) -> list[str] | None:
    """`doc_ids` limited to `visible` (None means no limit on that side)."""
    if visible is None:
        return None if doc_ids is None else list(doc_ids)
    if doc_ids is None:
        return sorted(visible)
    return [d for d in doc_ids if d in visible]
