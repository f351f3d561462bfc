"""The store's core: one SQLite connection, its transactions and migrations, and the one access check.

Every part of the store (accounts, articles, annotations, sharing) reads and writes through `_tx` and
`_query` here, and every call about an article passes `_article_row`, which decides who may read or change it.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Iterator

from engine.errors import AccessDenied, NotFound, PeerDraftError
from engine.store.rows import User
from engine.store.schema import MIGRATIONS, split_sql


class Database:
    """The workspace database's connection core; safe to share between threads (one connection behind a lock)."""

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

    def now(self) -> float:
        """The store's clock, in seconds (time.time unless a test gave another): login lockouts use it too."""
        return self._clock()

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

    def _query(self, sql: str, params: tuple | dict = ()) -> list[sqlite3.Row]:
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
                    for statement in ([] if callable(step) else split_sql(step)):
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
