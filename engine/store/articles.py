"""Articles and their versions: create, list, rename, duplicate, soft-delete; brief, outline; saved versions."""

from __future__ import annotations

from engine.errors import AccessDenied, PeerDraftError
from engine.records import Brief, Outline
from engine.store.core import Database
from engine.store.rows import User
from engine.store.rows import (Article, DeletionEvent, LibraryRow, Version, article_from_row, brief_from_json,
                               brief_to_json, content_hash, grounding_percent, outline_from_json, outline_to_json,
                               readability_band, version_from_row)

VERSION_REASONS = ("autosave", "generation", "manual", "restore", "duplicate")
RECOVERABLE_DAYS = 30
_DAY = 86400.0


class Articles(Database):
    """An article's life in the workspace, its brief and outline, and its numbered versions."""

    def create_article(self, user: User, title: str, brief: Brief | None = None) -> Article:
        """A new, empty article owned by `user`, with its brief if given."""
        if not user.can_write:
            raise AccessDenied("Reviewers cannot create articles.", "Ask an admin for the writer role.")
        now = self.now()
        with self._tx() as db:
            cur = db.execute("INSERT INTO articles (owner_id, title, created_at, updated_at) VALUES (?, ?, ?, ?)",
                             (user.id, title.strip() or "Untitled", now, now))
            if brief is not None:
                db.execute("INSERT INTO briefs (article_id, brief_json, updated_at) VALUES (?, ?, ?)",
                           (cur.lastrowid, brief_to_json(brief), now))
        return self.get_article(user, cur.lastrowid)

    _ARTICLE_SELECT = """
        SELECT a.*, u.name AS owner_name, v.id AS latest_version_id, v.markdown AS latest_markdown
        FROM articles a JOIN users u ON u.id = a.owner_id
        LEFT JOIN versions v ON v.id = (SELECT id FROM versions WHERE article_id = a.id ORDER BY number DESC LIMIT 1)
    """

    def get_article(self, user: User, article_id: int) -> Article:
        self._article_row(user, article_id, write=False)
        return article_from_row(self._query(self._ARTICLE_SELECT + " WHERE a.id = ?", (article_id,))[0])

    # The articles a user sees in lists: their own and those shared with them (deleted ones only their own).
    _VISIBLE = """(a.owner_id = :user {deleted})
               OR (a.deleted_at IS NULL AND a.id IN (SELECT article_id FROM shares WHERE user_id = :user))"""

    def list_articles(self, user: User, include_deleted: bool = False) -> list[Article]:
        """Articles `user` owns or that are shared with them, most recently updated first.

        With include_deleted, the user's own soft-deleted articles are listed too (never others').
        """
        if user.disabled:
            return []
        visible = self._VISIBLE.format(deleted="" if include_deleted else "AND a.deleted_at IS NULL")
        rows = self._query(self._ARTICLE_SELECT + f" WHERE {visible} ORDER BY a.updated_at DESC, a.id DESC",
                           {"user": user.id})
        return [article_from_row(r) for r in rows]

    def list_deleted_articles(self, user: User) -> list[Article]:
        """The user's soft-deleted articles, still recoverable, most recently deleted first."""
        rows = self._query(self._ARTICLE_SELECT + " WHERE a.owner_id = ? AND a.deleted_at IS NOT NULL"
                           " ORDER BY a.deleted_at DESC", (user.id,))
        return [article_from_row(r) for r in rows]

    # The newest result of one check kind on any version of the article (the latest version's first).
    _LATEST_CHECK = """(SELECT c.result_json FROM check_results c JOIN versions cv ON cv.id = c.version_id
                        WHERE cv.article_id = a.id AND c.kind = '{kind}' ORDER BY cv.number DESC, c.id DESC LIMIT 1)"""

    def library(self, user: User) -> list[LibraryRow]:
        """The Library table in one query: visible articles with the grounding % and readability band of their
        latest checks (`grounding` results are {"percent": 0-100}, `readability` results {"band": "..."})."""
        if user.disabled:
            return []
        select = self._ARTICLE_SELECT.replace(
            "SELECT a.*,", f"SELECT {self._LATEST_CHECK.format(kind='grounding')} AS grounding_json, "
                           f"{self._LATEST_CHECK.format(kind='readability')} AS readability_json, a.*,", 1)
        visible = self._VISIBLE.format(deleted="AND a.deleted_at IS NULL")
        rows = self._query(select + f" WHERE {visible} ORDER BY a.updated_at DESC, a.id DESC", {"user": user.id})
        return [LibraryRow(article_from_row(r), grounding_percent(r["grounding_json"]),
                           readability_band(r["readability_json"])) for r in rows]

    def rename_article(self, user: User, article_id: int, title: str) -> Article:
        self._article_row(user, article_id, write=True)
        with self._tx() as db:
            db.execute("UPDATE articles SET title = ?, updated_at = ? WHERE id = ?",
                       (title.strip() or "Untitled", self.now(), article_id))
        return self.get_article(user, article_id)

    def duplicate_article(self, user: User, article_id: int) -> Article:
        """A copy owned by `user` holding the latest text, brief and outline (history starts afresh).

        Anyone who may read an article may duplicate it into their own library.
        """
        source = self.get_article(user, article_id)
        if not user.can_write:
            raise AccessDenied("Reviewers cannot create articles.", "Ask an admin for the writer role.")
        brief = self.get_brief(user, article_id)
        outline = self.get_outline(user, article_id)
        latest = self.latest_version(user, article_id)
        copy = self.create_article(user, f"{source.title} (copy)", brief)
        if outline is not None:
            self.save_outline(user, copy.id, outline)
        if latest is not None:
            self.save_version(user, copy.id, latest.markdown, reason="duplicate", outline=latest.outline)
        return self.get_article(user, copy.id)

    def delete_article(self, user: User, article_id: int) -> None:
        """Soft delete: hidden everywhere, recoverable by its owner for RECOVERABLE_DAYS."""
        row = self._article_row(user, article_id, write=True)
        now = self.now()
        with self._tx() as db:
            db.execute("UPDATE articles SET deleted_at = ? WHERE id = ?", (now, article_id))
            db.execute("INSERT INTO deletions (article_id, title, action, user_name, at) VALUES (?, ?, 'delete', ?, ?)",
                       (article_id, row["title"], user.name, now))

    def restore_article(self, user: User, article_id: int) -> Article:
        row = self._article_row(user, article_id, write=True, include_deleted=True)
        now = self.now()
        with self._tx() as db:
            db.execute("UPDATE articles SET deleted_at = NULL WHERE id = ?", (article_id,))
            db.execute("INSERT INTO deletions (article_id, title, action, user_name, at) VALUES (?, ?, 'restore', ?, ?)",
                       (article_id, row["title"], user.name, now))
        return self.get_article(user, article_id)

    def purge_deleted(self, older_than_s: float = RECOVERABLE_DAYS * _DAY) -> int:
        """Remove for good the articles deleted more than `older_than_s` ago; returns how many.

        A maintenance action (app start, CLI), not a user's: it removes only what users deleted.
        """
        cutoff = self.now() - older_than_s
        with self._tx() as db:
            rows = db.execute("SELECT id, title FROM articles WHERE deleted_at IS NOT NULL AND deleted_at < ?",
                              (cutoff,)).fetchall()
            for row in rows:
                db.execute("DELETE FROM articles WHERE id = ?", (row["id"],))
                db.execute("INSERT INTO deletions (article_id, title, action, user_name, at) "
                           "VALUES (?, ?, 'purge', 'system', ?)", (row["id"], row["title"], self.now()))
        return len(rows)

    def deletion_audit(self, user: User) -> list[DeletionEvent]:
        """Deletion events: an admin sees all, everyone else the events on their own articles."""
        if user.is_admin:
            rows = self._query("SELECT * FROM deletions ORDER BY at, id")
        else:
            rows = self._query(
                "SELECT d.* FROM deletions d WHERE d.article_id IN (SELECT id FROM articles WHERE owner_id = ?) "
                "OR d.user_name = ? ORDER BY at, id", (user.id, user.name))
        return [DeletionEvent(r["article_id"], r["title"], r["action"], r["user_name"], r["at"]) for r in rows]
    def save_brief(self, user: User, article_id: int, brief: Brief) -> None:
        self._article_row(user, article_id, write=True)
        now = self.now()
        with self._tx() as db:
            db.execute("INSERT INTO briefs (article_id, brief_json, updated_at) VALUES (?, ?, ?) "
                       "ON CONFLICT (article_id) DO UPDATE SET brief_json = excluded.brief_json, "
                       "updated_at = excluded.updated_at", (article_id, brief_to_json(brief), now))
            db.execute("UPDATE articles SET updated_at = ? WHERE id = ?", (now, article_id))

    def get_brief(self, user: User, article_id: int) -> Brief | None:
        self._article_row(user, article_id, write=False)
        rows = self._query("SELECT brief_json FROM briefs WHERE article_id = ?", (article_id,))
        return brief_from_json(rows[0][0]) if rows else None

    def save_outline(self, user: User, article_id: int, outline: Outline) -> None:
        """Store the article's outline (pins key on section ids, so they follow renames and moves)."""
        self._article_row(user, article_id, write=True)
        with self._tx() as db:
            self._write_outline(db, article_id, outline, self.now())

    @staticmethod
    def _write_outline(db, article_id: int, outline: Outline, now: float) -> None:
        db.execute("INSERT INTO outlines (article_id, outline_json, updated_at) VALUES (?, ?, ?) "
                   "ON CONFLICT (article_id) DO UPDATE SET outline_json = excluded.outline_json, "
                   "updated_at = excluded.updated_at", (article_id, outline_to_json(outline), now))
        db.execute("UPDATE articles SET updated_at = ? WHERE id = ?", (now, article_id))

    def get_outline(self, user: User, article_id: int) -> Outline | None:
        self._article_row(user, article_id, write=False)
        rows = self._query("SELECT outline_json FROM outlines WHERE article_id = ?", (article_id,))
        return outline_from_json(rows[0][0]) if rows else None
    def save_version(self, user: User, article_id: int, markdown: str, *, reason: str = "autosave",
                     outline: Outline | None = None) -> Version:
        """Append a version; when the text equals the latest version's, no version is added and that one is
        returned (a manual save of autosaved text marks that version 'manual', the writer's checkpoint).
        A version saved with its outline also makes that the article's current outline."""
        if reason not in VERSION_REASONS:
            raise PeerDraftError(f"Version reason must be one of {', '.join(VERSION_REASONS)}, but is {reason!r}.")
        self._article_row(user, article_id, write=True)
        digest = content_hash(markdown)
        now = self.now()
        with self._tx() as db:
            latest = db.execute("SELECT id, number, content_hash, reason FROM versions WHERE article_id = ? "
                                "ORDER BY number DESC LIMIT 1", (article_id,)).fetchone()
            if latest is not None and latest["content_hash"] == digest and reason != "restore":
                version_id = latest["id"]
                if reason == "manual" and latest["reason"] == "autosave":
                    db.execute("UPDATE versions SET reason = 'manual' WHERE id = ?", (version_id,))
            else:
                number = (latest["number"] if latest else 0) + 1
                cur = db.execute(
                    "INSERT INTO versions (article_id, number, markdown, content_hash, reason, outline_json, "
                    "author_id, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    (article_id, number, markdown, digest, reason,
                     outline_to_json(outline) if outline is not None else None, user.id, now))
                db.execute("UPDATE articles SET updated_at = ? WHERE id = ?", (now, article_id))
                version_id = cur.lastrowid
            if outline is not None:
                self._write_outline(db, article_id, outline, now)
        return self.get_version(user, version_id)

    _VERSION_SELECT = "SELECT v.*, u.name AS author_name FROM versions v LEFT JOIN users u ON u.id = v.author_id"

    def get_version(self, user: User, version_id: int) -> Version:
        self._version_row(user, version_id, write=False)
        return version_from_row(self._query(self._VERSION_SELECT + " WHERE v.id = ?", (version_id,))[0])

    def list_versions(self, user: User, article_id: int) -> list[Version]:
        """All versions, newest first."""
        self._article_row(user, article_id, write=False)
        rows = self._query(self._VERSION_SELECT + " WHERE v.article_id = ? ORDER BY v.number DESC", (article_id,))
        return [version_from_row(r) for r in rows]

    def latest_version(self, user: User, article_id: int) -> Version | None:
        self._article_row(user, article_id, write=False)
        rows = self._query(self._VERSION_SELECT + " WHERE v.article_id = ? ORDER BY v.number DESC LIMIT 1",
                           (article_id,))
        return version_from_row(rows[0]) if rows else None

    def restore_version(self, user: User, version_id: int) -> Version:
        """Make an old version current again by saving its text as a new version (history is never rewritten)."""
        old = self.get_version(user, version_id)
        return self.save_version(user, old.article_id, old.markdown, reason="restore", outline=old.outline)
