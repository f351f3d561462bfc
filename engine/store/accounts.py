"""Accounts: users, their roles and passwords, and login attempts (for lockouts)."""

from __future__ import annotations

import sqlite3
from typing import Callable

from engine.errors import NotFound, PeerDraftError
from engine.store.core import Database
from engine.store.rows import User, user_from_row

ROLES = ("admin", "writer", "reviewer")


class Accounts(Database):
    """Users and login attempts (no permission checks: callers are engine.auth and the operator's CLI)."""

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
                                 (name, role, password_hash, self.now()))
        except sqlite3.IntegrityError:
            raise PeerDraftError(f"A user named {name!r} already exists.", "Choose another name.") from None
        return self.user_by_id(cur.lastrowid)

    def user_by_id(self, user_id: int) -> User:
        rows = self._query("SELECT * FROM users WHERE id = ?", (user_id,))
        if not rows:
            raise NotFound(f"No user with id {user_id}.")
        return user_from_row(rows[0])

    def user_by_name(self, name: str) -> User | None:
        rows = self._query("SELECT * FROM users WHERE name = ?", (name.strip(),))
        return user_from_row(rows[0]) if rows else None

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
        return [user_from_row(r) for r in self._query("SELECT * FROM users ORDER BY name")]

    def count_users(self) -> int:
        return self._query("SELECT COUNT(*) FROM users")[0][0]

    def record_login_attempt(self, name: str, success: bool, at: float | None = None) -> None:
        with self._tx() as db:
            db.execute("INSERT INTO login_attempts (user_name, at, success) VALUES (?, ?, ?)",
                       (name.strip(), self.now() if at is None else at, int(success)))

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
