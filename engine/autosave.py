"""When to autosave an article being edited: every few seconds of change, and always after a generation."""

from __future__ import annotations

import time
from typing import Callable

from engine.records import Outline
from engine.store import Store, User, Version


class Autosaver:
    """Per-editing-session save policy; the page calls `maybe_save` on every rerun.

    A change is saved when at least `interval_s` have passed since the last save (so a kill -9
    loses at most that much typing), at once after a generation, and on `flush` (leaving the page).
    """

    def __init__(self, store: Store, user: User, article_id: int, *, interval_s: float = 5.0,
                 clock: Callable[[], float] = time.monotonic):
        self.store = store
        self.user = user
        self.article_id = article_id
        self.interval_s = interval_s
        self._clock = clock
        latest = store.latest_version(user, article_id)
        self._saved_text = latest.markdown if latest else None
        self._last_save_at = clock()

    def is_dirty(self, markdown: str) -> bool:
        """Whether the text differs from what was last saved."""
        return markdown != self._saved_text

    def maybe_save(self, markdown: str, *, after_generation: bool = False,
                   outline: Outline | None = None) -> Version | None:
        """Save a new version when due; returns it, or None when nothing was written."""
        if not self.is_dirty(markdown):
            return None
        due = after_generation or self._clock() - self._last_save_at >= self.interval_s
        return self._save(markdown, "generation" if after_generation else "autosave", outline) if due else None

    def flush(self, markdown: str, *, reason: str = "autosave", outline: Outline | None = None) -> Version | None:
        """Save now if anything changed (sign-out, switching article, explicit Save)."""
        return self._save(markdown, reason, outline) if self.is_dirty(markdown) else None

    def _save(self, markdown: str, reason: str, outline: Outline | None) -> Version:
        version = self.store.save_version(self.user, self.article_id, markdown, reason=reason, outline=outline)
        self._saved_text = markdown
        self._last_save_at = self._clock()
        return version
