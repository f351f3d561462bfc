"""Backup and restore of the workspace database and the search index, safe while the app runs.

The database is copied with SQLite's online backup API in one step: in WAL mode that reads one
consistent snapshot while writers carry on. The index writes each change as a new, never-modified
generation folder and then switches the CURRENT pointer, so copying the generation CURRENT names
gives a consistent index too (the copy retries if that generation is pruned mid-copy).

Layout of a backup folder:
    backup.json      what was copied, when, by which PeerDraft
    peerdraft.db     the database (a single file, rollback-journal mode)
    index/           CURRENT + the generation it names (or the whole index folder, older layouts)
"""

from __future__ import annotations

import json
import shutil
import sqlite3
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from engine import __version__
from engine.errors import PeerDraftError
from engine.events import Event, OnEvent, ignore_event
from engine.settings import Settings

MANIFEST = "backup.json"
DB_NAME = "peerdraft.db"


@dataclass(frozen=True)
class BackupInfo:
    """What one backup holds."""

    created_at: float
    peerdraft_version: str
    schema_version: int
    db_bytes: int
    index_generation: str  # "" = no index, "*" = whole folder copied (no CURRENT pointer)


def backup(settings: Settings, dest: Path, on_event: OnEvent = ignore_event) -> BackupInfo:
    """Copy the database, the live index generation and the stored uploads into the new or empty folder `dest`."""
    dest = Path(dest)
    if dest.exists() and any(dest.iterdir()):
        raise PeerDraftError(f"The backup folder {dest} is not empty.", "Choose a new folder name.")
    if not settings.db_path.is_file():
        raise PeerDraftError(f"There is no database at {settings.db_path} to back up.",
                             "Check PEERDRAFT_DATA_DIR points at the data directory.")
    dest.mkdir(parents=True, exist_ok=True)
    on_event(Event("backup", "Copying the database", 0, 2))
    temp = dest / f".{DB_NAME}.tmp"
    _copy_database(settings.db_path, temp)
    problem = _integrity(temp)
    if problem != "ok":
        raise PeerDraftError(f"The database copy failed its integrity check: {problem}.",
                             "Run `peerdraft doctor` on the live database.")
    temp.rename(dest / DB_NAME)
    on_event(Event("backup", "Copying the index", 1, 2))
    generation = _copy_index(settings.index_dir, dest / "index")
    if settings.uploads_dir.is_dir():  # the files `peerdraft index --rebuild` re-adds uploads from
        shutil.copytree(settings.uploads_dir, dest / "uploads")
    info = BackupInfo(time.time(), __version__, _schema_version(dest / DB_NAME), (dest / DB_NAME).stat().st_size,
                      generation)
    (dest / MANIFEST).write_text(json.dumps(asdict(info), indent=2), encoding="utf-8")
    on_event(Event("backup", f"Backup written to {dest}", 2, 2))
    return info


def restore(settings: Settings, src: Path, on_event: OnEvent = ignore_event) -> BackupInfo:
    """Replace the database, index and uploads with a backup's; the replaced ones are kept beside them.

    Stop the app first: a running app holds the old index in memory and would write it back.
    """
    src = Path(src)
    manifest = src / MANIFEST
    if not manifest.is_file() or not (src / DB_NAME).is_file():
        raise PeerDraftError(f"{src} is not a PeerDraft backup (no {MANIFEST} or {DB_NAME}).",
                             "Point restore at a folder written by `peerdraft backup`.")
    problem = _integrity(src / DB_NAME)
    if problem != "ok":
        raise PeerDraftError(f"The backup's database is damaged: {problem}.", "Restore an older backup.")
    info = BackupInfo(**json.loads(manifest.read_text(encoding="utf-8")))
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    on_event(Event("restore", "Restoring the database", 0, 2))
    if settings.db_path.is_file():
        previous = settings.db_path.with_name(settings.db_path.name + ".before-restore")
        previous.unlink(missing_ok=True)
        _copy_database(settings.db_path, previous)
    _copy_database(src / DB_NAME, settings.db_path)
    on_event(Event("restore", "Restoring the index", 1, 2))
    if (src / "index").is_dir():
        _swap_in(src / "index", settings.index_dir)
    if (src / "uploads").is_dir():
        _swap_in(src / "uploads", settings.uploads_dir)
    on_event(Event("restore", f"Restored from {src}", 2, 2))
    return info


def _swap_in(source: Path, target: Path) -> None:
    """Copy the folder `source` to `target`, keeping what `target` held as `<target>.before-restore`."""
    staging = target.with_name(target.name + ".restoring")
    shutil.rmtree(staging, ignore_errors=True)
    shutil.copytree(source, staging)
    if target.exists():
        previous = target.with_name(target.name + ".before-restore")
        shutil.rmtree(previous, ignore_errors=True)
        target.rename(previous)
    staging.rename(target)


def _copy_database(source: Path, target: Path) -> None:
    """Copy with the online backup API: one consistent snapshot even while others write."""
    src = sqlite3.connect(source, timeout=30.0)
    dst = sqlite3.connect(target, timeout=30.0)
    try:
        src.execute("PRAGMA busy_timeout=30000")
        # pages=-1: the whole database in one step, under one read transaction (a snapshot in WAL mode).
        src.backup(dst, pages=-1)
        dst.execute("PRAGMA journal_mode=DELETE")  # the copy is one self-contained file
    finally:
        dst.close()
        src.close()


def _integrity(path: Path) -> str:
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return db.execute("PRAGMA integrity_check").fetchone()[0]
    except sqlite3.DatabaseError as exc:
        return str(exc)
    finally:
        db.close()


def _schema_version(path: Path) -> int:
    db = sqlite3.connect(path)
    try:
        return db.execute("PRAGMA user_version").fetchone()[0]
    finally:
        db.close()


def _copy_index(index_dir: Path, target: Path, attempts: int = 5) -> str:
    """Copy CURRENT and the generation it names; returns that name ('' no index, '*' whole folder)."""
    if not index_dir.is_dir():
        return ""
    from engine.index import current_generation, point_to

    if current_generation(index_dir) is None:
        shutil.copytree(index_dir, target)
        return "*"
    for _ in range(attempts):
        name = current_generation(index_dir) or ""
        shutil.rmtree(target, ignore_errors=True)
        target.mkdir(parents=True)
        try:
            shutil.copytree(index_dir / name, target / name)
        except (FileNotFoundError, shutil.Error):
            continue  # the indexer pruned this generation while we copied it: take the new one
        # Generations are never modified once named, so one that still exists after the copy was whole.
        if (index_dir / name).is_dir() and sorted(p.name for p in (index_dir / name).iterdir()) == \
                sorted(p.name for p in (target / name).iterdir()):
            point_to(target, name)
            return name
    raise PeerDraftError(f"The index in {index_dir} kept changing while it was being copied.",
                         "Run the backup again when indexing has finished.")
