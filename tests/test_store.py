"""The workspace database: round trips, versions, soft delete, access rules, crash safety."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from engine.autosave import Autosaver
from engine.errors import AccessDenied, NotFound, PeerDraftError
from engine.records import Brief, Outline, Section
from engine.store import MIGRATIONS, Store

ROOT = Path(__file__).resolve().parents[1]


class FakeClock:
    def __init__(self, start: float = 1_000_000.0):
        self.now = start

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock():
    return FakeClock()


@pytest.fixture
def store(tmp_path, clock):
    s = Store(tmp_path / "peerdraft.db", clock=clock)
    yield s
    s.close()


@pytest.fixture
def team(store):
    """Writers alice and bob, reviewer rita, admin ada."""
    return {name: store.insert_user(name, role, "x")
            for name, role in [("alice", "writer"), ("bob", "writer"), ("rita", "reviewer"), ("ada", "admin")]}


def test_new_database_uses_wal_foreign_keys_and_latest_schema(store):
    db = sqlite3.connect(store.path)
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert store._conn.execute("PRAGMA foreign_keys").fetchone()[0] == 1
    assert store.schema_version == len(MIGRATIONS)
    tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert {"articles", "briefs", "outlines", "versions", "evidence_pins", "check_results", "evaluations",
            "reviews", "users", "shares", "login_attempts", "deletions"} <= tables


def test_reopening_a_database_does_not_rerun_migrations(tmp_path):
    Store(tmp_path / "db.sqlite").insert_user("alice", "writer")
    again = Store(tmp_path / "db.sqlite")
    assert [u.name for u in again.list_users()] == ["alice"]


def test_database_from_a_newer_peerdraft_is_refused(tmp_path):
    path = tmp_path / "db.sqlite"
    db = sqlite3.connect(path)
    db.execute(f"PRAGMA user_version = {len(MIGRATIONS) + 1}")
    db.close()
    with pytest.raises(PeerDraftError, match="newer"):
        Store(path)


def test_article_brief_outline_and_pins_round_trip(store, team):
    alice = team["alice"]
    brief = Brief(topic="KV caching", key_points=("memory", "speed"), assumed_terms=("attention",))
    article = store.create_article(alice, "KV cache explained", brief)
    assert store.get_brief(alice, article.id) == brief
    outline = Outline("KV cache explained", [Section("Why", purpose="opening"), Section("How", level=3)])
    store.save_outline(alice, article.id, outline)
    assert store.get_outline(alice, article.id) == outline
    store.pin_evidence(alice, article.id, "c1", "d1", section_id="why", note="key number")
    store.pin_evidence(alice, article.id, "c2", "d2")
    assert [(p.section_id, p.chunk_id) for p in store.list_pins(alice, article.id)] == [("", "c2"), ("why", "c1")]
    store.unpin_evidence(alice, article.id, "c2")
    assert [p.chunk_id for p in store.list_pins(alice, article.id)] == ["c1"]
    got = store.get_article(alice, article.id)
    assert (got.title, got.owner, got.word_count) == ("KV cache explained", "alice", 0)


def test_versions_are_numbered_skip_identical_text_and_restore_as_new_version(store, team, clock):
    alice = team["alice"]
    article = store.create_article(alice, "A")
    v1 = store.save_version(alice, article.id, "first draft")
    clock.now += 10
    same = store.save_version(alice, article.id, "first draft")
    assert same.id == v1.id
    checkpoint = store.save_version(alice, article.id, "first draft", reason="manual")  # Save after autosave
    assert (checkpoint.id, checkpoint.reason) == (v1.id, "manual")
    assert store.save_version(alice, article.id, "first draft").reason == "manual"  # autosave never demotes it
    outline = Outline("A", [Section("S")])
    v2 = store.save_version(alice, article.id, "second draft words here", reason="generation", outline=outline)
    assert [v.number for v in store.list_versions(alice, article.id)] == [2, 1]
    assert store.get_version(alice, v2.id).outline == outline
    restored = store.restore_version(alice, v1.id)
    assert (restored.number, restored.markdown, restored.reason) == (3, "first draft", "restore")
    assert store.get_article(alice, article.id).word_count == 2
    assert store.get_article(alice, article.id).updated_at == clock.now


def test_duplicate_copies_latest_text_brief_and_outline(store, team):
    alice = team["alice"]
    article = store.create_article(alice, "Original", Brief(topic="t"))
    store.save_outline(alice, article.id, Outline("Original", [Section("One")]))
    store.save_version(alice, article.id, "old")
    store.save_version(alice, article.id, "new text")
    copy = store.duplicate_article(alice, article.id)
    assert copy.id != article.id and copy.title == "Original (copy)"
    assert [v.markdown for v in store.list_versions(alice, copy.id)] == ["new text"]
    assert store.get_brief(alice, copy.id) == Brief(topic="t")
    assert store.get_outline(alice, copy.id).sections[0].heading == "One"


def test_soft_deleted_article_is_hidden_restorable_then_purged(store, team, clock):
    alice = team["alice"]
    article = store.create_article(alice, "Doomed")
    store.save_version(alice, article.id, "text")
    store.delete_article(alice, article.id)
    assert store.list_articles(alice) == []
    with pytest.raises(NotFound):
        store.get_article(alice, article.id)
    assert [a.id for a in store.list_deleted_articles(alice)] == [article.id]
    store.restore_article(alice, article.id)
    assert [a.id for a in store.list_articles(alice)] == [article.id]

    store.delete_article(alice, article.id)
    clock.now += 29 * 86400
    assert store.purge_deleted() == 0
    clock.now += 2 * 86400
    assert store.purge_deleted() == 1
    assert store.list_articles(alice, include_deleted=True) == []
    assert store._query("SELECT COUNT(*) FROM versions")[0][0] == 0
    assert [e.action for e in store.deletion_audit(team["ada"])] == ["delete", "restore", "delete", "purge"]


def test_library_shows_grounding_and_readability_from_latest_checks(store, team):
    alice = team["alice"]
    a = store.create_article(alice, "Checked")
    b = store.create_article(alice, "Unchecked")
    v1 = store.save_version(alice, a.id, "one two three")
    store.save_check_result(alice, v1.id, "grounding", {"percent": 40.0})
    v2 = store.save_version(alice, a.id, "one two three four")
    store.save_check_result(alice, v2.id, "grounding", {"percent": 87.5})
    store.save_check_result(alice, v2.id, "readability", {"band": "peer researchers: on target"})
    rows = {r.article.title: r for r in store.library(alice)}
    assert rows["Checked"].grounding_percent == pytest.approx(87.5)
    assert rows["Checked"].readability_band == "peer researchers: on target"
    assert rows["Checked"].article.word_count == 4
    assert (rows["Unchecked"].grounding_percent, rows["Unchecked"].readability_band) == (None, "")
    assert b.id in {r.article.id for r in store.library(alice)}


def test_the_library_is_one_query_however_many_articles(store, team):
    alice, rita = team["alice"], team["rita"]
    for n in range(5):
        article = store.create_article(alice, f"A{n}")
        version = store.save_version(alice, article.id, "text")
        store.save_check_result(alice, version.id, "grounding", {"percent": 10.0 * n})
    store.share_article(alice, article.id, "rita")
    statements: list[str] = []
    store._conn.set_trace_callback(statements.append)
    rows = store.library(alice)
    store._conn.set_trace_callback(None)
    assert len(rows) == 5 and len(statements) == 1
    assert sorted(r.grounding_percent for r in rows) == [0.0, 10.0, 20.0, 30.0, 40.0]
    assert [r.article.title for r in store.library(rita)] == ["A4"]  # shared with her: the same one query


def test_review_round_trips_with_scores_and_section_comments(store, team):
    alice, rita = team["alice"], team["rita"]
    article = store.create_article(alice, "A")
    version = store.save_version(alice, article.id, "text")
    store.share_article(alice, article.id, "rita")
    review = store.add_review(rita, article.id, version.id, {"relevance": 4, "technical_accuracy": 5},
                              [("Background", "Too long."), ("", "Nice overall.")])
    assert store.list_reviews(alice, article.id) == [review]
    assert review.reviewer == "rita" and review.comments[0].section == "Background"
    with pytest.raises(PeerDraftError, match="1 to 5"):
        store.add_review(rita, article.id, version.id, {"relevance": 6})


def test_evaluation_round_trips_with_report(store, team):
    alice = team["alice"]
    article = store.create_article(alice, "A")
    version = store.save_version(alice, article.id, "text")
    store.save_evaluation(alice, version.id, {"grounding": {"percent": 90}}, "# Report\n")
    got = store.latest_evaluation(alice, version.id)
    assert got.data == {"grounding": {"percent": 90}} and got.report_markdown == "# Report\n"


# ------------------------------------------------------------------ team-mode access rules
def _alice_article(store, team):
    alice = team["alice"]
    article = store.create_article(alice, "Alice's secret")
    version = store.save_version(alice, article.id, "secret text")
    store.save_check_result(alice, version.id, "grounding", {"percent": 50})
    return article, version


def _every_read(store, user, article, version):
    return [
        lambda: store.get_article(user, article.id),
        lambda: store.get_brief(user, article.id),
        lambda: store.get_outline(user, article.id),
        lambda: store.list_pins(user, article.id),
        lambda: store.list_versions(user, article.id),
        lambda: store.latest_version(user, article.id),
        lambda: store.get_version(user, version.id),
        lambda: store.latest_check_result(user, article.id, "grounding"),
        lambda: store.latest_evaluation(user, version.id),
        lambda: store.list_reviews(user, article.id),
        lambda: store.list_shares(user, article.id),
        lambda: store.add_review(user, article.id, version.id, {"relevance": 3}),
        lambda: store.duplicate_article(user, article.id),
    ]


def _every_write(store, user, article, version):
    return [
        lambda: store.save_version(user, article.id, "hacked"),
        lambda: store.restore_version(user, version.id),
        lambda: store.rename_article(user, article.id, "hacked"),
        lambda: store.save_brief(user, article.id, Brief(topic="hacked")),
        lambda: store.save_outline(user, article.id, Outline("hacked")),
        lambda: store.pin_evidence(user, article.id, "c", "d"),
        lambda: store.unpin_evidence(user, article.id, "c"),
        lambda: store.save_check_result(user, version.id, "grounding", {"percent": 100}),
        lambda: store.save_evaluation(user, version.id, {}),
        lambda: store.share_article(user, article.id, "bob"),
        lambda: store.unshare_article(user, article.id, "bob"),
        lambda: store.delete_article(user, article.id),
        lambda: store.restore_article(user, article.id),
    ]


@pytest.mark.parametrize("intruder", ["bob", "rita", "ada"])
def test_nobody_but_the_owner_reaches_an_unshared_article_through_any_call(store, team, intruder):
    article, version = _alice_article(store, team)
    user = team[intruder]
    for call in _every_read(store, user, article, version) + _every_write(store, user, article, version):
        with pytest.raises(NotFound):
            call()
    assert store.list_articles(user) == [] and store.library(user) == []
    assert store.list_articles(user, include_deleted=True) == []
    assert store.get_version(team["alice"], version.id).markdown == "secret text"


def test_shared_reviewer_reads_and_reviews_but_cannot_edit(store, team):
    article, version = _alice_article(store, team)
    store.share_article(team["alice"], article.id, "rita")
    rita = team["rita"]
    assert [a.id for a in store.list_articles(rita)] == [article.id]
    for call in _every_read(store, rita, article, version)[:-1]:  # reviewers cannot create (duplicate) articles
        call()
    for call in _every_write(store, rita, article, version):
        with pytest.raises(AccessDenied):
            call()
    assert not store.can_edit(rita, article.id)
    assert store.latest_version(team["alice"], article.id).markdown == "secret text"
    # Bob still sees nothing, and unsharing takes the article away from rita again.
    assert store.list_articles(team["bob"]) == []
    store.unshare_article(team["alice"], article.id, "rita")
    with pytest.raises(NotFound):
        store.get_article(rita, article.id)


def test_deleted_shared_article_disappears_for_the_reviewer(store, team):
    article, _ = _alice_article(store, team)
    store.share_article(team["alice"], article.id, "rita")
    store.delete_article(team["alice"], article.id)
    assert store.list_articles(team["rita"], include_deleted=True) == []
    with pytest.raises(NotFound):
        store.restore_article(team["rita"], article.id)


def test_reviewer_cannot_create_articles(store, team):
    with pytest.raises(AccessDenied):
        store.create_article(team["rita"], "Mine")


def test_a_writer_demoted_to_reviewer_reads_but_no_longer_changes_their_articles(store, team):
    article = store.create_article(team["alice"], "Mine")
    version = store.save_version(team["alice"], article.id, "text")
    store.set_user_role("alice", "reviewer")
    demoted = store.user_by_name("alice")
    assert store.latest_version(demoted, article.id).markdown == "text"
    assert store.can_edit(demoted, article.id) is False
    for change in (lambda: store.save_version(demoted, article.id, "new text"),
                   lambda: store.rename_article(demoted, article.id, "Renamed"),
                   lambda: store.delete_article(demoted, article.id),
                   lambda: store.restore_version(demoted, version.id)):
        with pytest.raises(AccessDenied, match="reviewer"):
            change()
    assert [v.markdown for v in store.list_versions(demoted, article.id)] == ["text"]


def test_a_truncated_database_file_gives_a_message_naming_the_fix(tmp_path):
    path = tmp_path / "peerdraft.db"
    first = Store(path)
    for i in range(200):
        first.insert_user(f"user{i}", "writer", "x" * 200)
    first.close()
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 3])
    with pytest.raises(PeerDraftError, match="peerdraft restore") as caught:
        Store(path).list_users()
    assert "damaged" in str(caught.value)
    path.write_bytes(b"not a database at all" * 100)
    with pytest.raises(PeerDraftError, match="damaged"):
        Store(path)


# ------------------------------------------------------------------ autosave
def test_autosaver_saves_after_the_interval_and_at_once_after_generation(store, team):
    alice = team["alice"]
    article = store.create_article(alice, "A")
    tick = FakeClock(0.0)
    saver = Autosaver(store, alice, article.id, interval_s=5.0, clock=tick)
    tick.now = 1.0
    assert saver.maybe_save("typing") is None
    tick.now = 5.5
    assert saver.maybe_save("typing more").markdown == "typing more"
    tick.now = 6.0
    assert saver.maybe_save("typing more") is None  # unchanged text is never saved again
    assert saver.maybe_save("generated section", after_generation=True).reason == "generation"
    assert saver.flush("last words").markdown == "last words"
    assert [v.number for v in store.list_versions(alice, article.id)] == [3, 2, 1]


# ------------------------------------------------------------------ crash safety
_WRITER = textwrap.dedent("""
    import sys
    from engine.store import Store
    store = Store(sys.argv[1])
    user = store.user_by_name("alice")
    article_id = int(sys.argv[2])
    n = 0
    while True:
        n += 1
        v = store.save_version(user, article_id, f"version {n} " + "text " * 2000)
        print(v.number, flush=True)
""")


def test_killed_writer_leaves_a_sound_database_losing_at_most_the_last_write(tmp_path):
    path = tmp_path / "crash.db"
    store = Store(path)
    alice = store.insert_user("alice", "writer")
    article = store.create_article(alice, "Crash me")
    store.close()
    proc = subprocess.Popen([sys.executable, "-c", _WRITER, str(path), str(article.id)], cwd=ROOT,
                            stdout=subprocess.PIPE, text=True, env={**os.environ, "PYTHONPATH": str(ROOT)})
    reported = 0
    for line in proc.stdout:
        reported = int(line)
        if reported >= 40:
            break
    proc.send_signal(signal.SIGKILL)
    for line in proc.stdout:  # lines written before the kill
        reported = int(line)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL

    reopened = Store(path)
    assert reopened.integrity_check() == "ok"
    numbers = [v.number for v in reopened.list_versions(alice, article.id)]
    assert numbers == list(range(len(numbers), 0, -1))  # no holes
    assert len(numbers) >= reported  # every reported commit survived; at most the in-flight one is lost
    assert reopened.latest_version(alice, article.id).markdown.startswith(f"version {len(numbers)} ")


def test_a_dropped_evidence_card_round_trips(tmp_path):
    store = Store(tmp_path / "w.db")
    writer = store.insert_user("wendy", "writer")
    article = store.create_article(writer, "A")
    store.pin_evidence(writer, article.id, "c1", "d1", section_id="intro")
    store.pin_evidence(writer, article.id, "c2", "d1", section_id="intro", dropped=True)
    assert [(p.chunk_id, p.dropped) for p in store.list_pins(writer, article.id)] == [("c1", False), ("c2", True)]


def test_a_schema_1_database_migrates_and_keeps_its_pins(tmp_path):
    import sqlite3

    from engine.store import _split_sql

    path = tmp_path / "old.db"
    db = sqlite3.connect(path)
    for statement in _split_sql(MIGRATIONS[0]):
        db.execute(statement)
    db.execute("INSERT INTO users (id, name, role, created_at) VALUES (1, 'wendy', 'writer', 0)")
    db.execute("INSERT INTO articles (id, owner_id, title, created_at, updated_at) VALUES (1, 1, 'A', 0, 0)")
    db.execute("INSERT INTO evidence_pins (article_id, section, chunk_id, doc_id, created_at) "
               "VALUES (1, 'Intro', 'c1', 'd1', 0)")
    db.execute("PRAGMA user_version = 1")
    db.commit()
    db.close()
    store = Store(path)
    assert store.schema_version == len(MIGRATIONS) >= 2
    writer = store.user_by_name("wendy")
    assert [(p.chunk_id, p.dropped) for p in store.list_pins(writer, 1)] == [("c1", False)]


def test_a_schema_2_outline_gets_section_ids_kinds_and_its_pins_follow_the_ids(tmp_path):
    """A database written before sections had ids: kinds lived in the purpose, pins named the heading."""
    import json
    import sqlite3

    from engine.store import _split_sql

    path = tmp_path / "old.db"
    db = sqlite3.connect(path)
    for step in MIGRATIONS[:2]:
        for statement in _split_sql(step):
            db.execute(statement)
    old_sections = [{"heading": "What you will learn", "level": 2, "purpose": "Opening — what the reader learns",
                     "notes": "", "query": "q", "text": ""},
                    {"heading": "Questions?", "level": 2, "purpose": "Questions — invite questions", "notes": "",
                     "query": "", "text": ""}]
    outline_json = json.dumps({"title": "A", "sections": old_sections})
    db.execute("INSERT INTO users (id, name, role, created_at) VALUES (1, 'wendy', 'writer', 0)")
    db.execute("INSERT INTO articles (id, owner_id, title, created_at, updated_at) VALUES (1, 1, 'A', 0, 0)")
    db.execute("INSERT INTO outlines (article_id, outline_json, updated_at) VALUES (1, ?, 0)", (outline_json,))
    db.execute("INSERT INTO versions (article_id, number, markdown, content_hash, reason, outline_json, author_id, "
               "created_at) VALUES (1, 1, '# A', 'h', 'autosave', ?, 1, 0)", (outline_json,))
    db.execute("INSERT INTO evidence_pins (article_id, section, chunk_id, doc_id, created_at, dropped) "
               "VALUES (1, 'Questions?', 'c1', 'd1', 0, 1)")
    db.execute("PRAGMA user_version = 2")
    db.commit()
    db.close()

    store = Store(path)
    writer = store.user_by_name("wendy")
    outline = store.get_outline(writer, 1)
    assert [(s.kind, s.purpose) for s in outline.sections] == [("opening", "what the reader learns"),
                                                                ("questions", "invite questions")]
    assert store.get_outline(writer, 1).sections[1].id == outline.sections[1].id  # stored, not drawn at each load
    assert [(p.section_id, p.chunk_id, p.dropped) for p in store.list_pins(writer, 1)] == \
        [(outline.sections[1].id, "c1", True)]
    assert [s.id for s in store.list_versions(writer, 1)[0].outline.sections] == [s.id for s in outline.sections]


def test_pins_follow_a_section_moved_and_renamed_at_once(tmp_path):
    from dataclasses import replace

    store = Store(tmp_path / "w.db")
    writer = store.insert_user("wendy", "writer")
    article = store.create_article(writer, "A")
    intro, method = Section("Intro", purpose="why"), Section("Method", purpose="how")
    store.save_outline(writer, article.id, Outline("A", [intro, method]))
    store.pin_evidence(writer, article.id, "c1", "d1", section_id=method.id)
    store.save_outline(writer, article.id, Outline("A", [replace(method, heading="How it works"), intro]))
    saved = store.get_outline(writer, article.id)
    assert [s.heading for s in saved.sections] == ["How it works", "Intro"]
    assert [(p.section_id, p.chunk_id) for p in store.list_pins(writer, article.id)] == [(saved.sections[0].id, "c1")]


def test_an_autosaved_version_with_an_outline_makes_it_the_articles_outline(tmp_path):
    store = Store(tmp_path / "w.db")
    writer = store.insert_user("wendy", "writer")
    article = store.create_article(writer, "A")
    method = Section("Method")
    store.save_outline(writer, article.id, Outline("A", [method]))
    store.pin_evidence(writer, article.id, "c1", "d1", section_id=method.id)
    renamed = Section("How it works", id=method.id)
    store.save_version(writer, article.id, "# A\n\n## How it works\n", outline=Outline("A", [renamed]))
    assert [(s.heading, s.id) for s in store.get_outline(writer, article.id).sections] == [("How it works", method.id)]
    assert [p.section_id for p in store.list_pins(writer, article.id)] == [method.id]


def test_ignored_terms_are_kept_per_article_and_only_the_owner_adds_them(store, team):
    alice, rita = team["alice"], team["rita"]
    article = store.create_article(alice, "A")
    store.ignore_term(alice, article.id, "paged attention")
    store.ignore_term(alice, article.id, "Paged Attention")  # the same term
    store.share_article(alice, article.id, "rita")
    assert store.ignored_terms(rita, article.id) == ["paged attention"]
    with pytest.raises(AccessDenied):
        store.ignore_term(rita, article.id, "KV cache")
    assert store.ignored_terms(alice, store.create_article(alice, "B").id) == []


def test_a_schema_3_ignore_list_stored_as_a_check_result_becomes_ignored_terms(tmp_path):
    import sqlite3

    from engine.store import _split_sql

    path = tmp_path / "old.db"
    db = sqlite3.connect(path)
    for step in MIGRATIONS[:2]:
        for statement in _split_sql(step):
            db.execute(statement)
    db.execute("INSERT INTO users (id, name, role, created_at) VALUES (1, 'wendy', 'writer', 0)")
    db.execute("INSERT INTO articles (id, owner_id, title, created_at, updated_at) VALUES (1, 1, 'A', 0, 0)")
    db.execute("INSERT INTO versions (id, article_id, number, markdown, content_hash, reason, author_id, created_at) "
               "VALUES (1, 1, 1, '# A', 'h', 'autosave', 1, 0)")
    db.execute("INSERT INTO check_results (version_id, kind, result_json, created_at) "
               "VALUES (1, 'jargon_ignored', '[\"KV cache\", \"paged attention\"]', 5)")
    db.execute("PRAGMA user_version = 2")
    db.commit()
    db.close()
    store = Store(path)
    writer = store.user_by_name("wendy")
    assert sorted(store.ignored_terms(writer, 1)) == ["KV cache", "paged attention"]
    assert store.latest_check_result(writer, 1, "jargon_ignored") is None  # no fake check result left


def test_library_figures_are_stored_in_the_shape_the_library_reads(store, team):
    alice = team["alice"]
    article = store.create_article(alice, "A")
    version = store.save_version(alice, article.id, "text")
    store.save_library_figures(alice, version.id, grounding_percent=62.5, readability_band="on target")
    (row,) = store.library(alice)
    assert (row.grounding_percent, row.readability_band) == (62.5, "on target")
    store.save_library_figures(alice, version.id, grounding_percent=None, readability_band="too hard")
    (row,) = store.library(alice)
    assert (row.grounding_percent, row.readability_band) == (62.5, "too hard")  # no grounding measured: kept
