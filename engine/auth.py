"""Accounts: argon2 password hashes, login with lockout after repeated failures, the first admin, the local user.

Lockout lives in the database (table login_attempts), so it holds across app restarts and across
every worker that shares the data directory. Failures are counted per user name, whether or not
the account exists, so the lockout also says nothing about which names are real.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Mapping

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from engine.errors import AccessDenied, PeerDraftError
from engine.settings import Settings
from engine.store import ROLES, Store, User

LOCAL_USER = "local"
MAX_FAILURES = 5
FAILURE_WINDOW_S = 15 * 60
LOCKOUT_S = 15 * 60
MIN_PASSWORD_CHARS = 8

_hasher = PasswordHasher()  # argon2id, RFC 9106 low-memory profile (t=3, m=64 MiB, p=4)


@functools.cache
def _dummy_hash() -> str:
    """Verified when the name is unknown, so a wrong name costs the same time as a wrong password."""
    return _hasher.hash("peerdraft-dummy-password")


class LoginFailed(PeerDraftError):
    """Wrong user name or password."""


class LockedOut(PeerDraftError):
    """Too many failed logins for this name; `retry_after_s` says when to try again."""

    def __init__(self, reason: str, fix: str | None, retry_after_s: float):
        super().__init__(reason, fix)
        self.retry_after_s = retry_after_s


@dataclass(frozen=True)
class LockState:
    """Whether a name is locked out now, and for how many more seconds."""

    locked: bool
    retry_after_s: float
    recent_failures: int


def hash_password(password: str) -> str:
    """An argon2id hash string (salt and parameters included)."""
    if len(password) < MIN_PASSWORD_CHARS:
        raise PeerDraftError(f"A password needs at least {MIN_PASSWORD_CHARS} characters.",
                             "Choose a longer password.")
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def lock_state(store: Store, name: str, now: float) -> LockState:
    """Failures since the last success within the window; MAX_FAILURES of them lock the name for LOCKOUT_S."""
    return _lock_state(store.login_attempts_since(name, now - _LOOKBACK_S), now)


_LOOKBACK_S = max(FAILURE_WINDOW_S, LOCKOUT_S)


def _lock_state(attempts: list[tuple[float, bool]], now: float) -> LockState:
    failures: list[float] = []
    for at, success in attempts:
        failures = [] if success else failures + [at]
    recent = [at for at in failures if at >= now - FAILURE_WINDOW_S]
    if len(failures) >= MAX_FAILURES:
        until = failures[-1] + LOCKOUT_S
        if until > now:
            return LockState(True, until - now, len(recent))
    return LockState(False, 0.0, len(recent))


def authenticate(store: Store, name: str, password: str, *, now: float | None = None) -> User:
    """The user whose name and password match; raises LockedOut or LoginFailed otherwise.

    The attempt is counted as a failure before the (slow) password check, in the transaction that checks
    the lockout, and turned into a success only when the password matches: parallel guesses each see the
    ones before them, so at most MAX_FAILURES are ever checked."""
    now = store.now() if now is None else now
    before: list[LockState] = []

    def admit(attempts: list[tuple[float, bool]]) -> None:
        state = _lock_state(attempts, now)
        if state.locked:
            minutes = max(1, round(state.retry_after_s / 60))
            raise LockedOut(f"Too many failed logins for {name!r}.", f"Try again in about {minutes} minute(s).",
                            state.retry_after_s)
        before.append(state)

    attempt = store.begin_login_attempt(name, now, now - _LOOKBACK_S, admit)
    stored = store.password_hash(name)
    ok = verify_password(stored or _dummy_hash(), password) and bool(stored)
    if not ok:
        left = MAX_FAILURES - (before[0].recent_failures + 1)
        hint = f"{left} attempt(s) left before a {LOCKOUT_S // 60}-minute lockout." if left > 0 else \
            f"Login is now locked for {LOCKOUT_S // 60} minutes."
        raise LoginFailed("Wrong user name or password.", hint)
    store.login_succeeded(attempt)
    user = store.user_by_name(name)
    assert user is not None
    return user


def add_user(store: Store, acting: User | None, name: str, role: str, password: str) -> User:
    """Create an account; `acting` must be an admin (None = the operator at the command line)."""
    if acting is not None and not acting.is_admin:
        raise AccessDenied("Only admins can add users.", "Ask an admin to create the account.")
    if role not in ROLES:
        raise PeerDraftError(f"Role must be one of {', '.join(ROLES)}, but is {role!r}.")
    return store.insert_user(name, role, hash_password(password))


def change_password(store: Store, acting: User | None, name: str, new_password: str) -> None:
    """Set a password: users change their own, admins (or the operator, acting=None) anyone's."""
    if acting is not None and not acting.is_admin and acting.name.lower() != name.strip().lower():
        raise AccessDenied("You can only change your own password.", "Ask an admin to reset it.")
    store.set_password_hash(name.strip(), hash_password(new_password))


def bootstrap_admin(store: Store, env: Mapping[str, str]) -> User | None:
    """On first start (no users yet), create the admin named by PEERDRAFT_ADMIN_USER/PEERDRAFT_ADMIN_PASSWORD.

    Returns the new admin, or None when users already exist or the variables are not set.
    """
    if store.count_users() > 0 and any(u.name != LOCAL_USER for u in store.list_users()):
        return None
    name, password = env.get("PEERDRAFT_ADMIN_USER", ""), env.get("PEERDRAFT_ADMIN_PASSWORD", "")
    if not name or not password:
        return None
    problem = _admin_env_problem(env)
    if problem:
        raise PeerDraftError(*problem)
    return add_user(store, None, name, "admin", password)


def _admin_env_problem(env: Mapping[str, str]) -> tuple[str, str] | None:
    """(reason, fix) when PEERDRAFT_ADMIN_PASSWORD is set but cannot be the first admin's password."""
    password = env.get("PEERDRAFT_ADMIN_PASSWORD", "")
    if password and len(password) < MIN_PASSWORD_CHARS:
        return (f"PEERDRAFT_ADMIN_PASSWORD has {len(password)} characters; the first admin's password needs at "
                f"least {MIN_PASSWORD_CHARS}.", "Set a longer PEERDRAFT_ADMIN_PASSWORD and restart PeerDraft, or "
                "create the admin with `peerdraft user add NAME --role admin`.")
    return None


def local_user(store: Store) -> User:
    """The single implicit user of local (desktop) mode: an admin, so it can write and manage everything."""
    user = store.user_by_name(LOCAL_USER)
    return user if user is not None else store.insert_user(LOCAL_USER, "admin", "")


def team_setup_problem(settings: Settings, store: Store, env: Mapping[str, str] | None = None) -> str | None:
    """A sentence saying why nobody can log in to this team instance, or None when someone can.

    `env` is the server's environment: a PEERDRAFT_ADMIN_PASSWORD too short to create the admin is named."""
    if settings.mode != "team":
        return None
    if not any(u.role == "admin" and u.name != LOCAL_USER and not u.disabled for u in store.list_users()):
        problem = _admin_env_problem(env or {})
        if problem:
            return " ".join(problem)
        return ("No admin account exists. Set PEERDRAFT_ADMIN_USER and PEERDRAFT_ADMIN_PASSWORD and restart, "
                "or run `peerdraft user add NAME --role admin`.")
    return None
