"""Peer reviews summarised: each reviewer's scores, the average per criterion, and which sections drew comments."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Sequence

from engine.evaluate.rubric import CRITERION_KEYS


@dataclass(frozen=True)
class ReviewerRow:
    """One review as a row of the panel."""

    reviewer: str
    version_id: int
    scores: dict[str, int]
    comments: int


@dataclass(frozen=True)
class ReviewSummary:
    """All reviews of an article (or one version): rows, averages and comments per section."""

    rows: tuple[ReviewerRow, ...]
    averages: dict[str, float]
    comment_sections: dict[str, int]  # section heading ('' = whole article) -> number of comments
    comments: tuple[tuple[str, str, str], ...]  # (reviewer, section, text)

    @property
    def count(self) -> int:
        return len(self.rows)

    @property
    def overall(self) -> float | None:
        """Mean of the criterion averages, or None without reviews."""
        return round(sum(self.averages.values()) / len(self.averages), 2) if self.averages else None

    def to_dict(self) -> dict:
        data = asdict(self)
        data.update(count=self.count, overall=self.overall)
        return data


def summarize_reviews(reviews: Sequence, version_id: int | None = None) -> ReviewSummary:
    """Summarise stored `engine.store.Review`s, optionally only those of one version."""
    chosen = [r for r in reviews if version_id is None or r.version_id == version_id]
    rows = tuple(ReviewerRow(r.reviewer, r.version_id, dict(r.scores), len(r.comments)) for r in chosen)
    averages: dict[str, float] = {}
    for key in CRITERION_KEYS + tuple(k for r in chosen for k in r.scores if k not in CRITERION_KEYS):
        values = [r.scores[key] for r in chosen if key in r.scores]
        if values and key not in averages:
            averages[key] = round(sum(values) / len(values), 2)
    sections: dict[str, int] = {}
    comments = []
    for r in chosen:
        for c in r.comments:
            sections[c.section] = sections.get(c.section, 0) + 1
            comments.append((r.reviewer, c.section, c.text))
    return ReviewSummary(rows, averages, sections, tuple(comments))
