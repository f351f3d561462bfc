"""Progress events: engine stages report through a callback, never through UI calls."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable


@dataclass(frozen=True)
class Event:
    """One progress report from a stage: `done` of `total` units, with a short message."""

    stage: str
    message: str
    done: int | None = None
    total: int | None = None

    @property
    def fraction(self) -> float | None:
        if self.done is None or not self.total:
            return None
        return min(1.0, self.done / self.total)


OnEvent = Callable[[Event], None]


def ignore_event(event: Event) -> None:
    """The default callback: progress goes nowhere."""
