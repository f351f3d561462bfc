"""What the workspace store hands out (small frozen dataclasses) and how rows and stored JSON become them."""

from __future__ import annotations

import hashlib
import json
import sqlite3
from dataclasses import asdict, dataclass
from typing import Any

from engine.records import Brief, Outline, Section


@dataclass(frozen=True)
class User:
    """An account: admins manage users, writers own articles, reviewers review shared ones."""

    id: int
    name: str
    role: str
    created_at: float = 0.0
    disabled: bool = False

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"

    @property
    def can_write(self) -> bool:
        """Admins write too (the local desktop user is an admin); reviewers only review."""
        return self.role in ("admin", "writer")


@dataclass(frozen=True)
class Article:
    """An article as its viewer sees it; `owner` is the owning user's name."""

    id: int
    title: str
    owner: str
    created_at: float
    updated_at: float
    deleted_at: float | None = None
    latest_version_id: int | None = None
    word_count: int = 0


@dataclass(frozen=True)
class Version:
    """One saved state of an article's Markdown, numbered from 1 per article."""

    id: int
    article_id: int
    number: int
    markdown: str
    reason: str
    created_at: float
    author: str = ""
    outline: Outline | None = None


@dataclass(frozen=True)
class EvidencePin:
    """A passage the writer pinned as evidence for a section (its `Section.id`; '' = whole article)."""

    article_id: int
    section_id: str
    chunk_id: str
    doc_id: str
    note: str = ""
    dropped: bool = False  # a dropped card: left out of drafting and of later retrievals


@dataclass(frozen=True)
class CheckResult:
    """The stored output of one check (`kind`) on one version, as parsed JSON."""

    id: int
    version_id: int
    kind: str
    data: Any
    created_at: float


@dataclass(frozen=True)
class Evaluation:
    """A stored evaluation of one version: figures as JSON plus the rendered Markdown report."""

    id: int
    version_id: int
    data: Any
    report_markdown: str
    created_at: float


@dataclass(frozen=True)
class ReviewComment:
    """A reviewer's comment anchored to a section heading ('' = the whole article)."""

    section: str
    text: str


@dataclass(frozen=True)
class Review:
    """A peer review of one version: criterion → score 1–5, and section comments."""

    id: int
    article_id: int
    version_id: int
    reviewer: str
    scores: dict[str, int]
    comments: tuple[ReviewComment, ...]
    created_at: float


@dataclass(frozen=True)
class LibraryRow:
    """One line of the Library: an article with the figures its latest checks left behind."""

    article: Article
    grounding_percent: float | None
    readability_band: str


@dataclass(frozen=True)
class DeletionEvent:
    """One entry of the deletion audit."""

    article_id: int
    title: str
    action: str
    user_name: str
    at: float


def word_count(markdown: str) -> int:
    """Whitespace-separated words, headings and citations included (a quick Library figure)."""
    return len(markdown.split())


def content_hash(text: str) -> str:
    """The sha256 hex digest of a version's text (identical text is not saved twice)."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def brief_to_json(brief: Brief) -> str:
    """Brief → JSON text."""
    return json.dumps(asdict(brief), ensure_ascii=False)


def brief_from_json(text: str) -> Brief:
    """JSON text → Brief."""
    data = json.loads(text)
    for key in ("key_points", "assumed_terms", "must_cite"):
        data[key] = tuple(data.get(key, ()))
    return Brief(**data)


def outline_to_json(outline: Outline) -> str:
    """Outline → JSON text (sections in order)."""
    return json.dumps(asdict(outline), ensure_ascii=False)


def outline_from_json(text: str) -> Outline:
    """JSON text → Outline (an outline stored before sections had kinds gets them from its purposes)."""
    data = json.loads(text)
    return Outline(title=data["title"], sections=[Section(**s) for s in data.get("sections", [])])



def user_from_row(row: sqlite3.Row) -> User:
    return User(row["id"], row["name"], row["role"], row["created_at"], bool(row["disabled"]))


def article_from_row(row: sqlite3.Row) -> Article:
    markdown = row["latest_markdown"] or ""
    return Article(row["id"], row["title"], row["owner_name"], row["created_at"], row["updated_at"],
                   row["deleted_at"], row["latest_version_id"], word_count(markdown))


def version_from_row(row: sqlite3.Row) -> Version:
    outline = outline_from_json(row["outline_json"]) if row["outline_json"] else None
    return Version(row["id"], row["article_id"], row["number"], row["markdown"], row["reason"], row["created_at"],
                   row["author_name"] or "", outline)


def check_from_row(row: sqlite3.Row) -> CheckResult:
    return CheckResult(row["id"], row["version_id"], row["kind"], json.loads(row["result_json"]), row["created_at"])


def evaluation_from_row(row: sqlite3.Row) -> Evaluation:
    return Evaluation(row["id"], row["version_id"], json.loads(row["result_json"]), row["report_markdown"],
                      row["created_at"])


def grounding_percent(result_json: str | None) -> float | None:
    """The percent of a stored `grounding` check result ({"percent": 0-100}), or None."""
    data = json.loads(result_json) if result_json else None
    percent = data.get("percent") if isinstance(data, dict) else None
    return float(percent) if isinstance(percent, (int, float)) and not isinstance(percent, bool) else None


def readability_band(result_json: str | None) -> str:
    """The band of a stored `readability` check result ({"band": "..."}), or ''."""
    data = json.loads(result_json) if result_json else None
    return str(data.get("band", "")) if isinstance(data, dict) else ""
