"""What is attached to an article: evidence pins, check results, evaluations, peer reviews, ignored terms."""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import Any

from engine.errors import NotFound, PeerDraftError
from engine.store.core import Database
from engine.store.rows import User
from engine.store.rows import (CheckResult, EvidencePin, Evaluation, Review, ReviewComment, check_from_row,
                               evaluation_from_row)


class Annotations(Database):
    """Pins, checks, evaluations, reviews and ignored terms of an article (readers may add reviews; the owner
    the rest)."""

    def pin_evidence(self, user: User, article_id: int, chunk_id: str, doc_id: str,
                     section_id: str = "", note: str = "", *, dropped: bool = False) -> None:
        """Pin a passage to a section (by id), or with `dropped=True` remember that the writer dropped it."""
        self._article_row(user, article_id, write=True)
        with self._tx() as db:
            db.execute("INSERT OR REPLACE INTO evidence_pins "
                       "(article_id, section_id, chunk_id, doc_id, note, created_at, dropped) VALUES (?, ?, ?, ?, ?, ?, ?)",
                       (article_id, section_id, chunk_id, doc_id, note, self.now(), int(dropped)))

    def unpin_evidence(self, user: User, article_id: int, chunk_id: str, section_id: str = "") -> None:
        self._article_row(user, article_id, write=True)
        with self._tx() as db:
            db.execute("DELETE FROM evidence_pins WHERE article_id = ? AND section_id = ? AND chunk_id = ?",
                       (article_id, section_id, chunk_id))

    def list_pins(self, user: User, article_id: int) -> list[EvidencePin]:
        self._article_row(user, article_id, write=False)
        rows = self._query("SELECT * FROM evidence_pins WHERE article_id = ? ORDER BY section_id, created_at",
                           (article_id,))
        return [EvidencePin(r["article_id"], r["section_id"], r["chunk_id"], r["doc_id"], r["note"], bool(r["dropped"]))
                for r in rows]
    def save_check_result(self, user: User, version_id: int, kind: str, result: Any) -> CheckResult:
        """Store one check's JSON-serialisable output for a version (owner only)."""
        self._version_row(user, version_id, write=True)
        with self._tx() as db:
            cur = db.execute("INSERT INTO check_results (version_id, kind, result_json, created_at) VALUES (?, ?, ?, ?)",
                             (version_id, kind, json.dumps(result, ensure_ascii=False), self.now()))
        row = self._query("SELECT * FROM check_results WHERE id = ?", (cur.lastrowid,))[0]
        return check_from_row(row)

    def latest_check_result(self, user: User, article_id: int, kind: str,
                            version_id: int | None = None) -> CheckResult | None:
        """The newest result of `kind` for one version, or for any version of the article."""
        self._article_row(user, article_id, write=False)
        if version_id is not None:
            rows = self._query("SELECT c.* FROM check_results c JOIN versions v ON v.id = c.version_id "
                               "WHERE v.article_id = ? AND c.version_id = ? AND c.kind = ? "
                               "ORDER BY c.created_at DESC, c.id DESC LIMIT 1", (article_id, version_id, kind))
        else:
            rows = self._query("SELECT c.* FROM check_results c JOIN versions v ON v.id = c.version_id "
                               "WHERE v.article_id = ? AND c.kind = ? ORDER BY v.number DESC, c.id DESC LIMIT 1",
                               (article_id, kind))
        return check_from_row(rows[0]) if rows else None

    def save_evaluation(self, user: User, version_id: int, result: Any, report_markdown: str = "") -> Evaluation:
        self._version_row(user, version_id, write=True)
        with self._tx() as db:
            cur = db.execute("INSERT INTO evaluations (version_id, result_json, report_markdown, created_at) "
                             "VALUES (?, ?, ?, ?)",
                             (version_id, json.dumps(result, ensure_ascii=False), report_markdown, self.now()))
        return evaluation_from_row(self._query("SELECT * FROM evaluations WHERE id = ?", (cur.lastrowid,))[0])

    def latest_evaluation(self, user: User, version_id: int) -> Evaluation | None:
        self._version_row(user, version_id, write=False)
        rows = self._query("SELECT * FROM evaluations WHERE version_id = ? ORDER BY id DESC LIMIT 1", (version_id,))
        return evaluation_from_row(rows[0]) if rows else None

    def add_review(self, user: User, article_id: int, version_id: int, scores: dict[str, int],
                   comments: list[tuple[str, str]] | tuple[ReviewComment, ...] = ()) -> Review:
        """Store a review of one version by anyone who may read the article; scores are 1–5."""
        self._article_row(user, article_id, write=False)
        version = self._version_row(user, version_id, write=False)
        if version["article_id"] != article_id:
            raise NotFound(f"Version {version_id} does not belong to article {article_id}.")
        if not scores:
            raise PeerDraftError("A review needs at least one score.", "Score each criterion from 1 to 5.")
        for criterion, score in scores.items():
            if isinstance(score, bool) or not isinstance(score, int) or not 1 <= score <= 5:
                raise PeerDraftError(f"Score for {criterion!r} must be a whole number from 1 to 5, but is {score!r}.",
                                     "Pick 1 (poor) to 5 (excellent).")
        items = [c if isinstance(c, ReviewComment) else ReviewComment(*c) for c in comments]
        with self._tx() as db:
            cur = db.execute(
                "INSERT INTO reviews (article_id, version_id, reviewer_id, scores_json, comments_json, created_at) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (article_id, version_id, user.id, json.dumps(scores),
                 json.dumps([asdict(c) for c in items], ensure_ascii=False), self.now()))
        return self._reviews("WHERE r.id = ?", (cur.lastrowid,))[0]

    def list_reviews(self, user: User, article_id: int) -> list[Review]:
        """Reviews of the article, oldest first."""
        self._article_row(user, article_id, write=False)
        return self._reviews("WHERE r.article_id = ?", (article_id,))

    def _reviews(self, where: str, params: tuple) -> list[Review]:
        rows = self._query("SELECT r.*, u.name AS reviewer_name FROM reviews r JOIN users u ON u.id = r.reviewer_id "
                           f"{where} ORDER BY r.created_at, r.id", params)
        return [Review(r["id"], r["article_id"], r["version_id"], r["reviewer_name"], json.loads(r["scores_json"]),
                       tuple(ReviewComment(**c) for c in json.loads(r["comments_json"])), r["created_at"])
                for r in rows]

    def save_library_figures(self, user: User, version_id: int, *, grounding_percent: float | None,
                             readability_band: str) -> None:
        """Store the two figures the Library shows for a version, in the one shape `library()` reads:
        a `grounding` result {"percent": 0-100} (when grounding was measured) and a `readability` {"band": …}."""
        if grounding_percent is not None:
            self.save_check_result(user, version_id, "grounding", {"percent": float(grounding_percent)})
        self.save_check_result(user, version_id, "readability", {"band": readability_band})

    def ignore_term(self, user: User, article_id: int, term: str) -> None:
        """Tell the jargon check to leave `term` alone in this article (owner only; case does not matter)."""
        self._article_row(user, article_id, write=True)
        if not term.strip():
            raise PeerDraftError("An ignored term cannot be empty.", "Name the term to ignore.")
        with self._tx() as db:
            db.execute("INSERT OR IGNORE INTO ignored_terms (article_id, term, created_at) VALUES (?, ?, ?)",
                       (article_id, term.strip(), self.now()))

    def ignored_terms(self, user: User, article_id: int) -> list[str]:
        """The terms the jargon check ignores in this article, in the order they were ignored."""
        self._article_row(user, article_id, write=False)
        rows = self._query("SELECT term FROM ignored_terms WHERE article_id = ? ORDER BY created_at, term",
                           (article_id,))
        return [r[0] for r in rows]
