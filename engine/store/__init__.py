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

The parts, each over one connection core (`core.Database`: transactions, migrations and the one
access check, `_article_row`):

| module | holds |
|---|---|
| `accounts.py` | users, roles, passwords, login attempts |
| `articles.py` | articles, briefs, outlines, versions, deletion, the Library query |
| `annotations.py` | evidence pins, check results, evaluations, reviews |
| `sharing.py` | who an article is shared with |
| `rows.py` | the dataclasses handed out, and row/JSON conversions |
| `schema.py` | the migration steps |

Check results are JSON per (version, kind). The Library reads two kinds, one shape each:
`grounding` ({"percent": 0-100}) and `readability` ({"band": "..."}).
"""

from __future__ import annotations

from engine.store.accounts import ROLES, Accounts
from engine.store.annotations import Annotations
from engine.store.articles import RECOVERABLE_DAYS, VERSION_REASONS, Articles
from engine.store.rows import (Article, CheckResult, DeletionEvent, Evaluation, EvidencePin, LibraryRow, Review,
                               ReviewComment, User, Version, outline_from_json, outline_to_json, word_count)
from engine.store.schema import MIGRATIONS, _split_sql, split_sql
from engine.store.sharing import Sharing

__all__ = ["MIGRATIONS", "RECOVERABLE_DAYS", "ROLES", "VERSION_REASONS", "Article", "CheckResult", "DeletionEvent",
           "Evaluation", "EvidencePin", "LibraryRow", "Review", "ReviewComment", "Store", "User", "Version",
           "_split_sql", "outline_from_json", "outline_to_json", "split_sql", "word_count"]


class Store(Sharing, Articles, Annotations, Accounts):
    """The workspace database (all its parts over one connection); safe to share between threads."""
