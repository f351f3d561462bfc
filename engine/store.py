"""The workspace database: articles, their versions and everything attached to them, users and shares.

One SQLite file under the data directory. Every call that reads, lists or changes an article
takes the acting `User` and enforces who may do what, here in the engine, so no page or CLI
verb can leak an article by forgetting a check:

- the owner may do everything with their article;
- a user the article is shared with may read it (get, list, versions, checks, export) and
  add reviews, but not change it;
- admins manage users; they do NOT read other users' articles (an admin who writes owns
  their own articles like a writer). An article that a user may not see is reported as
  NotFound, so its existence does not leak either.

Check results are opaque JSON per (version, kind). The Library reads two kinds:
`grounding` ({"percent": 0-100} or {"grounded_fraction": 0-1}) and `readability`
({"band": "..."}).
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import threading
import time
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Callable, Iterator

from engine.errors import AccessDenied, NotFound, PeerDraftError
from engine.records import Brief, Outline, Section

ROLES = ("admin", "writer", "reviewer")
VERSION_REASONS = ("autosave", "generation", "manual", "restore", "duplicate")
RECOVERABLE_DAYS = 30
_DAY = 86400.0

# Each step runs once, in order, inside one transaction that also bumps PRAGMA user_version: SQL text, or
# a function of the connection for a step that rewrites stored JSON. Never edit a released step: append one.
MIGRATIONS: tuple[str | Callable[[sqlite3.Connection], None], ...] = (
    """
    CREATE TABLE users (
        id INTEGER PRIMARY KEY,
        name TEXT NOT NULL UNIQUE COLLATE NOCASE,
        role TEXT NOT NULL CHECK (role IN ('admin', 'writer', 'reviewer')),
        password_hash TEXT NOT NULL DEFAULT '',
        created_at REAL NOT NULL,
        disabled INTEGER NOT NULL DEFAULT 0
    );
    CREATE TABLE login_attempts (
        id INTEGER PRIMARY KEY,
        user_name TEXT NOT NULL COLLATE NOCASE,
        at REAL NOT NULL,
        success INTEGER NOT NULL
    );
    CREATE INDEX login_attempts_by_name ON login_attempts (user_name, at);
    CREATE TABLE articles (
        id INTEGER PRIMARY KEY,
        owner_id INTEGER NOT NULL REFERENCES users (id),
        title TEXT NOT NULL,
        created_at REAL NOT NULL,
        updated_at REAL NOT NULL,
        deleted_at REAL
    );
    CREATE INDEX articles_by_owner ON articles (owner_id, deleted_at);
    CREATE TABLE briefs (
        article_id INTEGER PRIMARY KEY REFERENCES articles (id) ON DELETE CASCADE,
        brief_json TEXT NOT NULL,
        updated_at REAL NOT NULL
    );
    CREATE TABLE outlines (
        article_id INTEGER PRIMARY KEY REFERENCES articles (id) ON DELETE CASCADE,
        outline_json TEXT NOT NULL,
        updated_at REAL NOT NULL
    );
    CREATE TABLE versions (
        id INTEGER PRIMARY KEY,
        article_id INTEGER NOT NULL REFERENCES articles (id) ON DELETE CASCADE,
        number INTEGER NOT NULL,
        markdown TEXT NOT NULL,
        content_hash TEXT NOT NULL,
        reason TEXT NOT NULL,
        outline_json TEXT,
        author_id INTEGER REFERENCES users (id),
        created_at REAL NOT NULL,
        UNIQUE (article_id, number)
    );
    CREATE TABLE evidence_pins (
        article_id INTEGER NOT NULL REFERENCES articles (id) ON DELETE CASCADE,
        section TEXT NOT NULL DEFAULT '',
        chunk_id TEXT NOT NULL,
        doc_id TEXT NOT NULL,
        note TEXT NOT NULL DEFAULT '',
        created_at REAL NOT NULL,
        PRIMARY KEY (article_id, section, chunk_id)
    );
    CREATE TABLE check_results (
        id INTEGER PRIMARY KEY,
        version_id INTEGER NOT NULL REFERENCES versions (id) ON DELETE CASCADE,
        kind TEXT NOT NULL,
        result_json TEXT NOT NULL,
        created_at REAL NOT NULL
    );
    CREATE INDEX check_results_by_version ON check_results (version_id, kind);
    CREATE TABLE evaluations (
        id INTEGER PRIMARY KEY,
        version_id INTEGER NOT NULL REFERENCES versions (id) ON DELETE CASCADE,
        result_json TEXT NOT NULL,
        report_markdown TEXT NOT NULL DEFAULT '',
        created_at REAL NOT NULL
    );
    CREATE TABLE reviews (
        id INTEGER PRIMARY KEY,
        article_id INTEGER NOT NULL REFERENCES articles (id) ON DELETE CASCADE,
        version_id INTEGER NOT NULL REFERENCES versions (id) ON DELETE CASCADE,
        reviewer_id INTEGER NOT NULL REFERENCES users (id),
        scores_json TEXT NOT NULL,
        comments_json TEXT NOT NULL,
        created_at REAL NOT NULL
    );
    CREATE TABLE shares (
        article_id INTEGER NOT NULL REFERENCES articles (id) ON DELETE CASCADE,
        user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
        created_at REAL NOT NULL,
        PRIMARY KEY (article_id, user_id)
    );
    -- The audit outlives the article (no foreign key): who deleted, restored or purged what, when.
    CREATE TABLE deletions (
        id INTEGER PRIMARY KEY,
        article_id INTEGER NOT NULL,
        title TEXT NOT NULL,
        action TEXT NOT NULL CHECK (action IN ('delete', 'restore', 'purge')),
        user_name TEXT NOT NULL,
        at REAL NOT NULL
    );
    """,
    # 2: a card the writer dropped stays dropped when the article is opened again.
    """
    ALTER TABLE evidence_pins ADD COLUMN dropped INTEGER NOT NULL DEFAULT 0;
    """,
    # 3: sections get ids and kinds; pins key on the section id instead of its heading.
    """
    ALTER TABLE evidence_pins RENAME COLUMN section TO section_id;
    """,
    lambda db: _give_sections_ids(db),
)


@dataclass(frozen=True)
class User:
    """An account: admins manage users, writers own articles, reviewers review shared ones."""

    id: int
    name: str
    role: str
    created_at: float = 0.0
    disabled: bool = False

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"

    @property
    def can_write(self) -> bool:
        """Admins write too (the local desktop user is an admin); reviewers only review."""
        return self.role in ("admin", "writer")


@dataclass(frozen=True)
class Article:
    """An article as its viewer sees it; `owner` is the owning user's name."""

    id: int
    title: str
    owner: str
    created_at: float
    updated_at: float
    deleted_at: float | None = None
    latest_version_id: int | None = None
    word_count: int = 0


@dataclass(frozen=True)
class Version:
    """One saved state of an article's Markdown, numbered from 1 per article."""

    id: int
    article_id: int
    number: int
    markdown: str
    reason: str
    created_at: float
    author: str = ""
    outline: Outline | None = None


@dataclass(frozen=True)
class EvidencePin:
    """A passage the writer pinned as evidence for a section (its `Section.id`; '' = whole article)."""

    article_id: int
    section_id: str
    chunk_id: str
    doc_id: str
    note: str = ""
    dropped: bool = False  # a dropped card: left out of drafting and of later retrievals


@dataclass(frozen=True)
class CheckResult:
    """The stored output of one check (`kind`) on one version, as parsed JSON."""

    id: int
    version_id: int
    kind: str
    data: Any
    created_at: float


@dataclass(frozen=True)
class Evaluation:
    """A stored evaluation of one version: figures as JSON plus the rendered Markdown report."""

    id: int
    version_id: int
    data: Any
    report_markdown: str
    created_at: float


@dataclass(frozen=True)
class ReviewComment:
    """A reviewer's comment anchored to a section heading ('' = the whole article)."""

    section: str
    text: str


@dataclass(frozen=True)
class Review:
    """A peer review of one version: criterion → score 1–5, and section comments."""

    id: int
    article_id: int
    version_id: int
    reviewer: str
    scores: dict[str, int]
    comments: tuple[ReviewComment, ...]
    created_at: float


@dataclass(frozen=True)
class LibraryRow:
    """One line of the Library: an article with the figures its latest checks left behind."""

    article: Article
    grounding_percent: float | None
    readability_band: str


@dataclass(frozen=True)
class DeletionEvent:
    """One entry of the deletion audit."""

    article_id: int
    title: str
    action: str
    user_name: str
    at: float


def word_count(markdown: str) -> int:
    """Whitespace-separated words, headings and citations included (a quick Library figure)."""
    return len(markdown.split())


def _hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _brief_to_json(brief: Brief) -> str:
    return json.dumps(asdict(brief), ensure_ascii=False)


def _brief_from_json(text: str) -> Brief:
    data = json.loads(text)
    for key in ("key_points", "assumed_terms", "must_cite"):
        data[key] = tuple(data.get(key, ()))
    return Brief(**data)


def outline_to_json(outline: Outline) -> str:
    """Outline → JSON text (sections in order)."""
    return json.dumps(asdict(outline), ensure_ascii=False)


def outline_from_json(text: str) -> Outline:
    """JSON text → Outline (an outline stored before sections had kinds gets them from its purposes)."""
    data = json.loads(text)
    return Outline(title=data["title"], sections=[Section(**s) for s in data.get("sections", [])])


def _give_sections_ids(db: sqlite3.Connection) -> None:
    """Migration 3: every stored outline's sections get ids (the same id for the same heading in an article's
    outline and its versions' outlines) and kinds; pins move from the section heading to its id."""
    ids: dict[int, dict[str, str]] = {}  # article id → heading → section id
    for article_id, text in db.execute("SELECT article_id, outline_json FROM outlines").fetchall():
        outline = outline_from_json(text)
        ids[article_id] = {s.heading: s.id for s in reversed(outline.sections)}  # a repeated heading: its first
        db.execute("UPDATE outlines SET outline_json = ? WHERE article_id = ?", (outline_to_json(outline), article_id))
        for heading, section_id in ids[article_id].items():
            db.execute("UPDATE evidence_pins SET section_id = ? WHERE article_id = ? AND section_id = ?",
                       (section_id, article_id, heading))
    for version_id, article_id, text in db.execute(
            "SELECT id, article_id, outline_json FROM versions WHERE outline_json IS NOT NULL").fetchall():
        outline = outline_from_json(text)
        for section in outline.sections:
            section.id = ids.get(article_id, {}).get(section.heading, section.id)
        db.execute("UPDATE versions SET outline_json = ? WHERE id = ?", (outline_to_json(outline), version_id))


class Store:
    """The workspace database; safe to share between threads (one connection behind a lock)."""

    def __init__(self, path: Path | str, *, clock: Callable[[], float] = time.time):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._clock = clock
        self._lock = threading.RLock()
        # isolation_level=None: we issue BEGIN IMMEDIATE ourselves so a write transaction takes the
        # write lock up front instead of failing halfway with SQLITE_BUSY.
        self._conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False, timeout=10.0)
        self._conn.row_factory = sqlite3.Row
        try:
            self._open_database()
        except sqlite3.DatabaseError as exc:  # e.g. a truncated or overwritten file: "file is not a database"
            self._conn.close()
            raise self._damaged(exc) from None

    def _damaged(self, exc: sqlite3.DatabaseError) -> PeerDraftError:
        return PeerDraftError(
            f"The workspace database {self.path} cannot be read ({exc}): the file is damaged or is not a PeerDraft "
            "database.", f"Restore the latest backup (`peerdraft restore BACKUP_DIR`), or move {self.path.name} "
            "aside to start an empty workspace.")

    def _open_database(self) -> None:
        self._conn.execute("PRAGMA journal_mode=WAL")
        # NORMAL in WAL mode: a committed transaction survives a crash of the process (kill -9)
        # because the WAL is already in the OS page cache; only a power loss or OS crash can drop
        # the last few commits, never corrupt the file. Autosaves every few seconds make that the
        # "at most the last autosave" the workspace promises, without an fsync per keystroke save.
        self._conn.execute("PRAGMA synchronous=NORMAL")
        self._conn.execute("PRAGMA foreign_keys=ON")
        self._conn.execute("PRAGMA busy_timeout=10000")
        self._migrate()

    # ----------------------------------------------------------------- plumbing
    def close(self) -> None:
        with self._lock:
            self._conn.close()

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        with self._lock, self._readable():
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                yield self._conn
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")

    def _query(self, sql: str, params: tuple = ()) -> list[sqlite3.Row]:
        with self._lock, self._readable():
            return self._conn.execute(sql, params).fetchall()

    @contextmanager
    def _readable(self) -> Iterator[None]:
        """Turn SQLite's 'database disk image is malformed' (a damaged file) into a message naming the fix."""
        try:
            yield
        except sqlite3.DatabaseError as exc:
            if type(exc) is not sqlite3.DatabaseError:  # IntegrityError, OperationalError…: not damage
                raise
            raise self._damaged(exc) from None

    def _migrate(self) -> None:
        with self._lock:
            current = self._conn.execute("PRAGMA user_version").fetchone()[0]
            if current > len(MIGRATIONS):
                raise PeerDraftError(
                    f"The database {self.path} has schema version {current}, newer than this PeerDraft "
                    f"knows ({len(MIGRATIONS)}).", "Upgrade PeerDraft or restore an older backup.")
            for number in range(current, len(MIGRATIONS)):
                # executescript would COMMIT on its own; run the statements one by one instead so a
                # failed step leaves the schema untouched.
                self._conn.execute("BEGIN IMMEDIATE")
                try:
                    step = MIGRATIONS[number]
                    for statement in ([] if callable(step) else _split_sql(step)):
                        self._conn.execute(statement)
                    if callable(step):
                        step(self._conn)
                    self._conn.execute(f"PRAGMA user_version = {number + 1}")
                except BaseException:
                    self._conn.execute("ROLLBACK")
                    raise
                self._conn.execute("COMMIT")

    @property
    def schema_version(self) -> int:
        return self._query("PRAGMA user_version")[0][0]

    def integrity_check(self) -> str:
        """'ok' when SQLite finds the file sound, otherwise its first complaint."""
        return self._query("PRAGMA integrity_check")[0][0]

    # ----------------------------------------------------------------- users
    def insert_user(self, name: str, role: str, password_hash: str = "") -> User:
        """Create an account (no permission check: callers are auth.add_user or the operator's CLI)."""
        name = name.strip()
        if not name:
            raise PeerDraftError("A user name cannot be empty.", "Give the user a name.")
        if role not in ROLES:
            raise PeerDraftError(f"Role must be one of {', '.join(ROLES)}, but is {role!r}.",
                                 "Pick admin, writer or reviewer.")
        try:
            with self._tx() as db:
                cur = db.execute("INSERT INTO users (name, role, password_hash, created_at) VALUES (?, ?, ?, ?)",
                                 (name, role, password_hash, self._clock()))
        except sqlite3.IntegrityError:
            raise PeerDraftError(f"A user named {name!r} already exists.", "Choose another name.") from None
        return self.user_by_id(cur.lastrowid)

    def user_by_id(self, user_id: int) -> User:
        rows = self._query("SELECT * FROM users WHERE id = ?", (user_id,))
        if not rows:
            raise NotFound(f"No user with id {user_id}.")
        return _user(rows[0])

    def user_by_name(self, name: str) -> User | None:
        rows = self._query("SELECT * FROM users WHERE name = ?", (name.strip(),))
        return _user(rows[0]) if rows else None

    def password_hash(self, name: str) -> str | None:
        rows = self._query("SELECT password_hash FROM users WHERE name = ? AND disabled = 0", (name.strip(),))
        return rows[0][0] if rows else None

    def set_password_hash(self, name: str, password_hash: str) -> None:
        with self._tx() as db:
            if db.execute("UPDATE users SET password_hash = ? WHERE name = ?", (password_hash, name)).rowcount == 0:
                raise NotFound(f"No user named {name!r}.", "List users with `peerdraft user list`.")

    def set_user_role(self, name: str, role: str) -> None:
        if role not in ROLES:
            raise PeerDraftError(f"Role must be one of {', '.join(ROLES)}, but is {role!r}.")
        with self._tx() as db:
            if db.execute("UPDATE users SET role = ? WHERE name = ?", (role, name)).rowcount == 0:
                raise NotFound(f"No user named {name!r}.")

    def set_user_disabled(self, name: str, disabled: bool) -> None:
        with self._tx() as db:
            if db.execute("UPDATE users SET disabled = ? WHERE name = ?", (int(disabled), name)).rowcount == 0:
                raise NotFound(f"No user named {name!r}.")

    def list_users(self) -> list[User]:
        return [_user(r) for r in self._query("SELECT * FROM users ORDER BY name")]

    def count_users(self) -> int:
        return self._query("SELECT COUNT(*) FROM users")[0][0]

    def record_login_attempt(self, name: str, success: bool, at: float | None = None) -> None:
        with self._tx() as db:
            db.execute("INSERT INTO login_attempts (user_name, at, success) VALUES (?, ?, ?)",
                       (name.strip(), self._clock() if at is None else at, int(success)))

    def begin_login_attempt(self, name: str, at: float, since: float,
                            admit: Callable[[list[tuple[float, bool]]], None]) -> int:
        """Record a login attempt as a failure, in the same write transaction that shows `admit` this name's
        attempts since `since` (oldest first); returns the attempt's id for `login_succeeded`.

        `admit` raises to refuse the attempt (a lockout): nothing is recorded then. One transaction means two
        guesses racing each other are counted one after the other, so the lockout cannot be outrun."""
        with self._tx() as db:
            rows = db.execute("SELECT at, success FROM login_attempts WHERE user_name = ? AND at >= ? "
                              "ORDER BY at, id", (name.strip(), since)).fetchall()
            admit([(r[0], bool(r[1])) for r in rows])
            cur = db.execute("INSERT INTO login_attempts (user_name, at, success) VALUES (?, ?, 0)",
                             (name.strip(), at))
            return cur.lastrowid

    def login_succeeded(self, attempt_id: int) -> None:
        """Mark an attempt begun with `begin_login_attempt` as a success (it ends the run of failures)."""
        with self._tx() as db:
            db.execute("UPDATE login_attempts SET success = 1 WHERE id = ?", (attempt_id,))

    def login_attempts_since(self, name: str, since: float) -> list[tuple[float, bool]]:
        """(time, success) of this name's login attempts at or after `since`, oldest first."""
        rows = self._query("SELECT at, success FROM login_attempts WHERE user_name = ? AND at >= ? ORDER BY at, id",
                           (name.strip(), since))
        return [(r[0], bool(r[1])) for r in rows]

    # ----------------------------------------------------------------- access
    def _article_row(self, user: User, article_id: int, *, write: bool, include_deleted: bool = False) -> sqlite3.Row:
        rows = self._query(
            "SELECT a.*, u.name AS owner_name FROM articles a JOIN users u ON u.id = a.owner_id WHERE a.id = ?",
            (article_id,))
        row = rows[0] if rows else None
        owner = row is not None and row["owner_id"] == user.id
        shared = row is not None and not owner and bool(self._query(
            "SELECT 1 FROM shares WHERE article_id = ? AND user_id = ?", (article_id, user.id)))
        if row is None or not (owner or shared) or user.disabled:
            raise NotFound(f"Article {article_id} does not exist or is not shared with you.",
                           "Open it from your Library.")
        if row["deleted_at"] is not None and not (include_deleted and owner):
            raise NotFound(f"Article {article_id} was deleted.", "Restore it from 'Recently deleted' in the Library.")
        if write and not owner:
            raise AccessDenied(f"Article {article_id} is shared with you for reading and review only.",
                               "Ask its owner to make the change.")
        if write and not user.can_write:  # e.g. a writer demoted to reviewer keeps reading their articles
            raise AccessDenied(f"Your role is {user.role}: reviewers read and review articles but do not change "
                               "them.", "Ask an admin for the writer role.")
        return row

    def _version_row(self, user: User, version_id: int, *, write: bool) -> sqlite3.Row:
        rows = self._query("SELECT * FROM versions WHERE id = ?", (version_id,))
        if not rows:
            raise NotFound(f"Version {version_id} does not exist.")
        self._article_row(user, rows[0]["article_id"], write=write)
        return rows[0]

    def can_edit(self, user: User, article_id: int) -> bool:
        """Whether `user` may change the article (they may at least read it, or this raises NotFound)."""
        try:
            self._article_row(user, article_id, write=True)
            return True
        except AccessDenied:
            return False

    # ----------------------------------------------------------------- articles
    def create_article(self, user: User, title: str, brief: Brief | None = None) -> Article:
        """A new, empty article owned by `user`, with its brief if given."""
        if not user.can_write:
            raise AccessDenied("Reviewers cannot create articles.", "Ask an admin for the writer role.")
        now = self._clock()
        with self._tx() as db:
            cur = db.execute("INSERT INTO articles (owner_id, title, created_at, updated_at) VALUES (?, ?, ?, ?)",
                             (user.id, title.strip() or "Untitled", now, now))
            if brief is not None:
                db.execute("INSERT INTO briefs (article_id, brief_json, updated_at) VALUES (?, ?, ?)",
                           (cur.lastrowid, _brief_to_json(brief), now))
        return self.get_article(user, cur.lastrowid)

    _ARTICLE_SELECT = """
        SELECT a.*, u.name AS owner_name, v.id AS latest_version_id, v.markdown AS latest_markdown
        FROM articles a JOIN users u ON u.id = a.owner_id
        LEFT JOIN versions v ON v.id = (SELECT id FROM versions WHERE article_id = a.id ORDER BY number DESC LIMIT 1)
    """

    def get_article(self, user: User, article_id: int) -> Article:
        self._article_row(user, article_id, write=False)
        return _article(self._query(self._ARTICLE_SELECT + " WHERE a.id = ?", (article_id,))[0])

    def list_articles(self, user: User, include_deleted: bool = False) -> list[Article]:
        """Articles `user` owns or that are shared with them, most recently updated first.

        With include_deleted, the user's own soft-deleted articles are listed too (never others').
        """
        if user.disabled:
            return []
        deleted = "" if include_deleted else "AND a.deleted_at IS NULL"
        rows = self._query(
            self._ARTICLE_SELECT + f"""
            WHERE (a.owner_id = ? {deleted})
               OR (a.deleted_at IS NULL AND a.id IN (SELECT article_id FROM shares WHERE user_id = ?))
            ORDER BY a.updated_at DESC, a.id DESC""", (user.id, user.id))
        return [_article(r) for r in rows]

    def list_deleted_articles(self, user: User) -> list[Article]:
        """The user's soft-deleted articles, still recoverable, most recently deleted first."""
        rows = self._query(self._ARTICLE_SELECT + " WHERE a.owner_id = ? AND a.deleted_at IS NOT NULL"
                           " ORDER BY a.deleted_at DESC", (user.id,))
        return [_article(r) for r in rows]

    def library(self, user: User) -> list[LibraryRow]:
        """The Library table: visible articles with grounding % and readability band of their latest checks."""
        out = []
        for article in self.list_articles(user):
            grounding = self.latest_check_result(user, article.id, "grounding")
            readability = self.latest_check_result(user, article.id, "readability")
            out.append(LibraryRow(article, _grounding_percent(grounding), _readability_band(readability)))
        return out

    def rename_article(self, user: User, article_id: int, title: str) -> Article:
        self._article_row(user, article_id, write=True)
        with self._tx() as db:
            db.execute("UPDATE articles SET title = ?, updated_at = ? WHERE id = ?",
                       (title.strip() or "Untitled", self._clock(), article_id))
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
        now = self._clock()
        with self._tx() as db:
            db.execute("UPDATE articles SET deleted_at = ? WHERE id = ?", (now, article_id))
            db.execute("INSERT INTO deletions (article_id, title, action, user_name, at) VALUES (?, ?, 'delete', ?, ?)",
                       (article_id, row["title"], user.name, now))

    def restore_article(self, user: User, article_id: int) -> Article:
        row = self._article_row(user, article_id, write=True, include_deleted=True)
        now = self._clock()
        with self._tx() as db:
            db.execute("UPDATE articles SET deleted_at = NULL WHERE id = ?", (article_id,))
            db.execute("INSERT INTO deletions (article_id, title, action, user_name, at) VALUES (?, ?, 'restore', ?, ?)",
                       (article_id, row["title"], user.name, now))
        return self.get_article(user, article_id)

    def purge_deleted(self, older_than_s: float = RECOVERABLE_DAYS * _DAY) -> int:
        """Remove for good the articles deleted more than `older_than_s` ago; returns how many.

        A maintenance action (app start, CLI), not a user's: it removes only what users deleted.
        """
        cutoff = self._clock() - older_than_s
        with self._tx() as db:
            rows = db.execute("SELECT id, title FROM articles WHERE deleted_at IS NOT NULL AND deleted_at < ?",
                              (cutoff,)).fetchall()
            for row in rows:
                db.execute("DELETE FROM articles WHERE id = ?", (row["id"],))
                db.execute("INSERT INTO deletions (article_id, title, action, user_name, at) "
                           "VALUES (?, ?, 'purge', 'system', ?)", (row["id"], row["title"], self._clock()))
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

    # ----------------------------------------------------------------- brief, outline, pins
    def save_brief(self, user: User, article_id: int, brief: Brief) -> None:
        self._article_row(user, article_id, write=True)
        now = self._clock()
        with self._tx() as db:
            db.execute("INSERT INTO briefs (article_id, brief_json, updated_at) VALUES (?, ?, ?) "
                       "ON CONFLICT (article_id) DO UPDATE SET brief_json = excluded.brief_json, "
                       "updated_at = excluded.updated_at", (article_id, _brief_to_json(brief), now))
            db.execute("UPDATE articles SET updated_at = ? WHERE id = ?", (now, article_id))

    def get_brief(self, user: User, article_id: int) -> Brief | None:
        self._article_row(user, article_id, write=False)
        rows = self._query("SELECT brief_json FROM briefs WHERE article_id = ?", (article_id,))
        return _brief_from_json(rows[0][0]) if rows else None

    def save_outline(self, user: User, article_id: int, outline: Outline) -> None:
        """Store the article's outline (pins key on section ids, so they follow renames and moves)."""
        self._article_row(user, article_id, write=True)
        with self._tx() as db:
            self._write_outline(db, article_id, outline, self._clock())

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

    def pin_evidence(self, user: User, article_id: int, chunk_id: str, doc_id: str,
                     section_id: str = "", note: str = "", *, dropped: bool = False) -> None:
        """Pin a passage to a section (by id), or with `dropped=True` remember that the writer dropped it."""
        self._article_row(user, article_id, write=True)
        with self._tx() as db:
            db.execute("INSERT OR REPLACE INTO evidence_pins "
                       "(article_id, section_id, chunk_id, doc_id, note, created_at, dropped) VALUES (?, ?, ?, ?, ?, ?, ?)",
                       (article_id, section_id, chunk_id, doc_id, note, self._clock(), int(dropped)))

    def unpin_evidence(self, user: User, article_id: int, chunk_id: str, section_id: str = "") -> None:
        self._article_row(user, article_id, write=True)
        with self._tx() as db:
            db.execute("DELETE FROM evidence_pins WHERE article_id = ? AND section_id = ? AND chunk_id = ?",
                       (article_id, section_id, chunk_id))

    def list_pins(self, user: User, article_id: int) -> list[EvidencePin]:
        self._article_row(user, article_id, write=False)
        rows = self._query("SELECT * FROM evidence_pins WHERE article_id = ? ORDER BY section_id, created_at",
                           (article_id,))
        return [EvidencePin(r["article_id"], r["section_id"], r["chunk_id"], r["doc_id"], r["note"], bool(r["dropped"]))
                for r in rows]

    # ----------------------------------------------------------------- versions
    def save_version(self, user: User, article_id: int, markdown: str, *, reason: str = "autosave",
                     outline: Outline | None = None) -> Version:
        """Append a version; when the text equals the latest version's, no version is added and that one is
        returned (a manual save of autosaved text marks that version 'manual', the writer's checkpoint).
        A version saved with its outline also makes that the article's current outline."""
        if reason not in VERSION_REASONS:
            raise PeerDraftError(f"Version reason must be one of {', '.join(VERSION_REASONS)}, but is {reason!r}.")
        self._article_row(user, article_id, write=True)
        digest = _hash(markdown)
        now = self._clock()
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
        return _version(self._query(self._VERSION_SELECT + " WHERE v.id = ?", (version_id,))[0])

    def list_versions(self, user: User, article_id: int) -> list[Version]:
        """All versions, newest first."""
        self._article_row(user, article_id, write=False)
        rows = self._query(self._VERSION_SELECT + " WHERE v.article_id = ? ORDER BY v.number DESC", (article_id,))
        return [_version(r) for r in rows]

    def latest_version(self, user: User, article_id: int) -> Version | None:
        self._article_row(user, article_id, write=False)
        rows = self._query(self._VERSION_SELECT + " WHERE v.article_id = ? ORDER BY v.number DESC LIMIT 1",
                           (article_id,))
        return _version(rows[0]) if rows else None

    def restore_version(self, user: User, version_id: int) -> Version:
        """Make an old version current again by saving its text as a new version (history is never rewritten)."""
        old = self.get_version(user, version_id)
        return self.save_version(user, old.article_id, old.markdown, reason="restore", outline=old.outline)

    # ----------------------------------------------------------------- checks, evaluations, reviews
    def save_check_result(self, user: User, version_id: int, kind: str, result: Any) -> CheckResult:
        """Store one check's JSON-serialisable output for a version (owner only)."""
        self._version_row(user, version_id, write=True)
        with self._tx() as db:
            cur = db.execute("INSERT INTO check_results (version_id, kind, result_json, created_at) VALUES (?, ?, ?, ?)",
                             (version_id, kind, json.dumps(result, ensure_ascii=False), self._clock()))
        row = self._query("SELECT * FROM check_results WHERE id = ?", (cur.lastrowid,))[0]
        return _check(row)

    def latest_check_result(self, user: User, article_id: int, kind: str,
                            version_id: int | None = None) -> CheckResult | None:
        """The newest result of `kind` for one version, or for any version of the article."""
        self._article_row(user, article_id, write=False)
        if version_id is not None:
            rows = self._query("SELECT c.* FROM check_results c JOIN versions v ON v.id = c.version_id "
                               "WHERE v.article_id = ? AND c.version_id = ? AND c.kind = ? "
                               "ORDER BY c.created_at DESC, c.id DESC LIMIT 1", (article_id, version_id, kind))
        else:
            rows = self._query("SELECT c.* FROM check_results c JOIN versions v ON v.id = c.version_id "
                               "WHERE v.article_id = ? AND c.kind = ? ORDER BY v.number DESC, c.id DESC LIMIT 1",
                               (article_id, kind))
        return _check(rows[0]) if rows else None

    def save_evaluation(self, user: User, version_id: int, result: Any, report_markdown: str = "") -> Evaluation:
        self._version_row(user, version_id, write=True)
        with self._tx() as db:
            cur = db.execute("INSERT INTO evaluations (version_id, result_json, report_markdown, created_at) "
                             "VALUES (?, ?, ?, ?)",
                             (version_id, json.dumps(result, ensure_ascii=False), report_markdown, self._clock()))
        return _evaluation(self._query("SELECT * FROM evaluations WHERE id = ?", (cur.lastrowid,))[0])

    def latest_evaluation(self, user: User, version_id: int) -> Evaluation | None:
        self._version_row(user, version_id, write=False)
        rows = self._query("SELECT * FROM evaluations WHERE version_id = ? ORDER BY id DESC LIMIT 1", (version_id,))
        return _evaluation(rows[0]) if rows else None

    def add_review(self, user: User, article_id: int, version_id: int, scores: dict[str, int],
                   comments: list[tuple[str, str]] | tuple[ReviewComment, ...] = ()) -> Review:
        """Store a review of one version by anyone who may read the article; scores are 1–5."""
        self._article_row(user, article_id, write=False)
        version = self._version_row(user, version_id, write=False)
        if version["article_id"] != article_id:
            raise NotFound(f"Version {version_id} does not belong to article {article_id}.")
        if not scores:
            raise PeerDraftError("A review needs at least one score.", "Score each criterion from 1 to 5.")
        for criterion, score in scores.items():
            if isinstance(score, bool) or not isinstance(score, int) or not 1 <= score <= 5:
                raise PeerDraftError(f"Score for {criterion!r} must be a whole number from 1 to 5, but is {score!r}.",
                                     "Pick 1 (poor) to 5 (excellent).")
        items = [c if isinstance(c, ReviewComment) else ReviewComment(*c) for c in comments]
        with self._tx() as db:
            cur = db.execute(
                "INSERT INTO reviews (article_id, version_id, reviewer_id, scores_json, comments_json, created_at) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (article_id, version_id, user.id, json.dumps(scores),
                 json.dumps([asdict(c) for c in items], ensure_ascii=False), self._clock()))
        return self._reviews("WHERE r.id = ?", (cur.lastrowid,))[0]

    def list_reviews(self, user: User, article_id: int) -> list[Review]:
        """Reviews of the article, oldest first."""
        self._article_row(user, article_id, write=False)
        return self._reviews("WHERE r.article_id = ?", (article_id,))

    def _reviews(self, where: str, params: tuple) -> list[Review]:
        rows = self._query("SELECT r.*, u.name AS reviewer_name FROM reviews r JOIN users u ON u.id = r.reviewer_id "
                           f"{where} ORDER BY r.created_at, r.id", params)
        return [Review(r["id"], r["article_id"], r["version_id"], r["reviewer_name"], json.loads(r["scores_json"]),
                       tuple(ReviewComment(**c) for c in json.loads(r["comments_json"])), r["created_at"])
                for r in rows]

    # ----------------------------------------------------------------- shares
    def share_article(self, user: User, article_id: int, reviewer_name: str) -> None:
        """Let the named user read and review the article (owner only)."""
        self._article_row(user, article_id, write=True)
        other = self.user_by_name(reviewer_name)
        if other is None or other.disabled:
            raise NotFound(f"No user named {reviewer_name!r}.", "Ask an admin to create the account first.")
        if other.id == user.id:
            return
        with self._tx() as db:
            db.execute("INSERT OR IGNORE INTO shares (article_id, user_id, created_at) VALUES (?, ?, ?)",
                       (article_id, other.id, self._clock()))

    def unshare_article(self, user: User, article_id: int, reviewer_name: str) -> None:
        self._article_row(user, article_id, write=True)
        with self._tx() as db:
            db.execute("DELETE FROM shares WHERE article_id = ? AND user_id = (SELECT id FROM users WHERE name = ?)",
                       (article_id, reviewer_name))

    def list_shares(self, user: User, article_id: int) -> list[str]:
        """Names of the users the article is shared with."""
        self._article_row(user, article_id, write=False)
        rows = self._query("SELECT u.name FROM shares s JOIN users u ON u.id = s.user_id WHERE s.article_id = ? "
                           "ORDER BY u.name", (article_id,))
        return [r[0] for r in rows]


# --------------------------------------------------------------------- row → dataclass
def _split_sql(script: str) -> list[str]:
    """Statements of a migration step (no semicolons inside literals in our own DDL)."""
    lines = [line for line in script.splitlines() if not line.strip().startswith("--")]
    return [s.strip() for s in "\n".join(lines).split(";") if s.strip()]


def _user(row: sqlite3.Row) -> User:
    return User(row["id"], row["name"], row["role"], row["created_at"], bool(row["disabled"]))


def _article(row: sqlite3.Row) -> Article:
    markdown = row["latest_markdown"] or ""
    return Article(row["id"], row["title"], row["owner_name"], row["created_at"], row["updated_at"],
                   row["deleted_at"], row["latest_version_id"], word_count(markdown))


def _version(row: sqlite3.Row) -> Version:
    outline = outline_from_json(row["outline_json"]) if row["outline_json"] else None
    return Version(row["id"], row["article_id"], row["number"], row["markdown"], row["reason"], row["created_at"],
                   row["author_name"] or "", outline)


def _check(row: sqlite3.Row) -> CheckResult:
    return CheckResult(row["id"], row["version_id"], row["kind"], json.loads(row["result_json"]), row["created_at"])


def _evaluation(row: sqlite3.Row) -> Evaluation:
    return Evaluation(row["id"], row["version_id"], json.loads(row["result_json"]), row["report_markdown"],
                      row["created_at"])


def _grounding_percent(result: CheckResult | None) -> float | None:
    if result is None or not isinstance(result.data, dict):
        return None
    if isinstance(result.data.get("percent"), (int, float)):
        return float(result.data["percent"])
    if isinstance(result.data.get("grounded_fraction"), (int, float)):
        return 100.0 * float(result.data["grounded_fraction"])
    return None


def _readability_band(result: CheckResult | None) -> str:
    if result is None or not isinstance(result.data, dict):
        return ""
    return str(result.data.get("band", ""))
