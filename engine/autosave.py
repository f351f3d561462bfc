"""When to autosave an article being edited: every few seconds of change, and always after a generation."""

from __future__ import annotations

import time
from typing import Callable

from engine.records import Outline
from engine.store import Store, User, Version

# What the Write page uses. Streamlit sends a text area's value when the writer commits it (blur or
# Ctrl+Enter), so "change" here means committed edits; a timer on the page calls `maybe_save` too.
INTERVAL_S = 5.0  # at most one autosave per this many seconds
QUIET_S = 5.0  # ... once the text has stayed unchanged this long (a pause in editing)
MAX_WAIT_S = 30.0  # ... but never later than this after the first unsaved change, pause or not


class Autosaver:
    """Per-editing-session save policy; the page calls `maybe_save` on every rerun.

    A change is saved when at least `interval_s` have passed since the last save (so a kill -9
    loses at most that much typing), at once after a generation, and on `flush` (leaving the page).
    With `quiet_s` it also waits until the text has stayed the same that long (debounce), unless
    the change has been waiting `max_wait_s` already.
    """

    def __init__(self, store: Store, user: User, article_id: int, *, interval_s: float = 5.0,
                 clock: Callable[[], float] = time.monotonic, quiet_s: float = 0.0,
                 max_wait_s: float | None = None):
        self.store = store
        self.user = user
        self.article_id = article_id
        self.interval_s = interval_s
        self.quiet_s = quiet_s
        self.max_wait_s = max_wait_s
        self._clock = clock
        latest = store.latest_version(user, article_id)
        self.last_version: Version | None = latest
        self._saved_text = latest.markdown if latest else None
        self._last_save_at = clock()
        self._seen_text: str | None = None  # the unsaved text last passed in, and since when
        self._seen_at = 0.0
        self._dirty_since: float | None = None

    def is_dirty(self, markdown: str) -> bool:
        """Whether the text differs from what was last saved."""
        return markdown != self._saved_text

    def maybe_save(self, markdown: str, *, after_generation: bool = False,
                   outline: Outline | None = None) -> Version | None:
        """Save a new version when due; returns it, or None when nothing was written."""
        if not self.is_dirty(markdown):
            self._seen_text, self._dirty_since = None, None
            return None
        now = self._clock()
        if markdown != self._seen_text:
            self._seen_text, self._seen_at = markdown, now
            self._dirty_since = now if self._dirty_since is None else self._dirty_since
        paused = now - self._last_save_at >= self.interval_s and now - self._seen_at >= self.quiet_s
        overdue = self.max_wait_s is not None and now - self._dirty_since >= self.max_wait_s
        due = after_generation or paused or overdue
        return self._save(markdown, "generation" if after_generation else "autosave", outline) if due else None

    def flush(self, markdown: str, *, reason: str = "autosave", outline: Outline | None = None) -> Version | None:
        """Save now if anything changed (sign-out, switching article, explicit Save)."""
        return self._save(markdown, reason, outline) if self.is_dirty(markdown) else None

    def adopt(self, version: Version) -> None:
        """Take a version saved elsewhere (another page, a restore) as the saved state of the text."""
        self._saved_text = version.markdown
        self._seen_text, self._dirty_since = None, None
        self.last_version = version

    def _save(self, markdown: str, reason: str, outline: Outline | None) -> Version:
        version = self.store.save_version(self.user, self.article_id, markdown, reason=reason, outline=outline)
        self._saved_text = markdown
        self._last_save_at = self._clock()
        self._seen_text, self._dirty_since = None, None
        self.last_version = version
        return version
