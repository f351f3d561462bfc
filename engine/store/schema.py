"""The workspace database's schema: migration steps, applied in order by `engine.store.core.Database`."""

from __future__ import annotations

import json
import sqlite3
from typing import Callable

from engine.store.rows import outline_from_json, outline_to_json

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
    # 4: the terms a writer told the jargon check to ignore, per article (were a fake 'jargon_ignored' check result).
    """
    CREATE TABLE ignored_terms (
        article_id INTEGER NOT NULL REFERENCES articles (id) ON DELETE CASCADE,
        term TEXT NOT NULL COLLATE NOCASE,
        created_at REAL NOT NULL,
        PRIMARY KEY (article_id, term)
    );
    """,
    lambda db: _move_ignored_terms(db),
)


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


def _move_ignored_terms(db: sqlite3.Connection) -> None:
    """Migration 5: every term of the stored 'jargon_ignored' lists moves into ignored_terms; those rows go."""
    rows = db.execute("SELECT v.article_id, c.result_json, c.created_at FROM check_results c "
                      "JOIN versions v ON v.id = c.version_id WHERE c.kind = 'jargon_ignored'").fetchall()
    for article_id, result_json, created_at in rows:
        terms = json.loads(result_json)
        for term in terms if isinstance(terms, list) else []:
            if isinstance(term, str) and term.strip():
                db.execute("INSERT OR IGNORE INTO ignored_terms (article_id, term, created_at) VALUES (?, ?, ?)",
                           (article_id, term.strip(), created_at))
    db.execute("DELETE FROM check_results WHERE kind = 'jargon_ignored'")


def split_sql(script: str) -> list[str]:
    """Statements of a migration step (no semicolons inside literals in our own DDL)."""
    lines = [line for line in script.splitlines() if not line.strip().startswith("--")]
    return [s.strip() for s in "\n".join(lines).split(";") if s.strip()]


_split_sql = split_sql  # the name older tests and tools import
