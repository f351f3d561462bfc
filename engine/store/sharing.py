"""Sharing: the owner lets named users read and review an article."""

from __future__ import annotations

from engine.errors import NotFound
from engine.store.accounts import Accounts
from engine.store.rows import User


class Sharing(Accounts):
    """Shares of an article with other users (who may then read it and add reviews)."""

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
                       (article_id, other.id, self.now()))

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
