"""Backup and restore: consistent copies of database and index while the app writes."""

from __future__ import annotations

import sqlite3
import threading

import pytest

from engine.backup import backup, restore
from engine.errors import PeerDraftError
from engine.settings import Settings
from engine.store import Store


@pytest.fixture
def settings(tmp_path):
    return Settings(data_dir=tmp_path / "data")


def _make_index(index_dir, generations=("gen-000001", "gen-000002"), current="gen-000002"):
    for name in generations:
        (index_dir / name).mkdir(parents=True)
        (index_dir / name / "manifest.json").write_text(f'{{"generation": "{name}"}}')
        (index_dir / name / "vectors.npy").write_bytes(name.encode() * 100)
    (index_dir / "CURRENT").write_text(current)


def test_backup_copies_database_and_only_the_current_index_generation(settings, tmp_path):
    store = Store(settings.db_path)
    alice = store.insert_user("alice", "writer")
    article = store.create_article(alice, "Kept")
    store.save_version(alice, article.id, "precious words")
    _make_index(settings.index_dir)
    info = backup(settings, tmp_path / "bk")
    assert info.index_generation == "gen-000002" and info.schema_version == store.schema_version
    assert sorted(p.name for p in (tmp_path / "bk" / "index").iterdir()) == ["CURRENT", "gen-000002"]
    copy = Store(tmp_path / "bk" / "peerdraft.db")
    assert copy.latest_version(alice, article.id).markdown == "precious words"


def test_backup_without_a_current_pointer_copies_the_whole_index_folder(settings, tmp_path):
    Store(settings.db_path)
    (settings.index_dir).mkdir(parents=True)
    (settings.index_dir / "vectors.bin").write_bytes(b"v")
    assert backup(settings, tmp_path / "bk").index_generation == "*"
    assert (tmp_path / "bk" / "index" / "vectors.bin").read_bytes() == b"v"


def test_backup_refuses_a_folder_that_is_not_empty(settings, tmp_path):
    Store(settings.db_path)
    (tmp_path / "bk").mkdir()
    (tmp_path / "bk" / "x").write_text("x")
    with pytest.raises(PeerDraftError, match="not empty"):
        backup(settings, tmp_path / "bk")


def test_backup_while_another_thread_writes_is_consistent(settings, tmp_path):
    store = Store(settings.db_path)
    alice = store.insert_user("alice", "writer")
    article = store.create_article(alice, "Busy")
    stop = threading.Event()
    written = []

    def keep_writing():
        writer = Store(settings.db_path)  # its own connection, like another app worker
        n = 0
        while not stop.is_set():
            n += 1
            writer.save_version(alice, article.id, f"version {n} " + "word " * 500)
            written.append(n)

    thread = threading.Thread(target=keep_writing)
    thread.start()
    try:
        while len(written) < 20:
            threading.Event().wait(0.01)
        backups = [backup(settings, tmp_path / f"bk{i}") for i in range(3)]
    finally:
        stop.set()
        thread.join()
    for i, _ in enumerate(backups):
        db = sqlite3.connect(tmp_path / f"bk{i}" / "peerdraft.db")
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        numbers = [r[0] for r in db.execute("SELECT number FROM versions ORDER BY number")]
        assert numbers == list(range(1, len(numbers) + 1)) and len(numbers) >= 20


def test_restore_brings_back_database_and_index_and_keeps_the_replaced_ones(settings, tmp_path):
    store = Store(settings.db_path)
    alice = store.insert_user("alice", "writer")
    article = store.create_article(alice, "Before")
    store.save_version(alice, article.id, "good text")
    _make_index(settings.index_dir)
    backup(settings, tmp_path / "bk")
    store.save_version(alice, article.id, "bad text")
    (settings.index_dir / "CURRENT").write_text("gen-000001")
    store.close()

    restore(settings, tmp_path / "bk")
    again = Store(settings.db_path)
    assert again.integrity_check() == "ok"
    assert again.latest_version(alice, article.id).markdown == "good text"
    assert (settings.index_dir / "CURRENT").read_text() == "gen-000002"
    assert (settings.index_dir / "gen-000002" / "manifest.json").is_file()
    assert settings.db_path.with_name("peerdraft.db.before-restore").is_file()
    assert (settings.index_dir.with_name("index.before-restore") / "CURRENT").read_text() == "gen-000001"


def test_uploads_travel_with_the_backup_so_a_restored_instance_can_rebuild_them(settings, tmp_path):
    Store(settings.db_path).close()
    upload = settings.uploads_dir / "ana" / "paper.md"
    upload.parent.mkdir(parents=True)
    upload.write_text("# Ana's paper\n\nPrivate findings.\n")
    backup(settings, tmp_path / "bk")
    assert (tmp_path / "bk" / "uploads" / "ana" / "paper.md").read_text() == upload.read_text()
    upload.write_text("overwritten by mistake")
    restore(settings, tmp_path / "bk")
    assert upload.read_text().startswith("# Ana's paper")
    assert (settings.uploads_dir.with_name("uploads.before-restore") / "ana" / "paper.md").read_text() == \
        "overwritten by mistake"


def test_restore_refuses_a_folder_that_is_not_a_backup(settings, tmp_path):
    (tmp_path / "nope").mkdir()
    with pytest.raises(PeerDraftError, match="not a PeerDraft backup"):
        restore(settings, tmp_path / "nope")
