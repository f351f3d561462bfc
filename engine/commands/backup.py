"""`peerdraft backup PATH` and `peerdraft restore PATH`: database and index, consistent while the app runs."""

from __future__ import annotations

import sys
from pathlib import Path

from engine.backup import backup, restore
from engine.settings import Settings


def register(subparsers) -> None:
    parser = subparsers.add_parser("backup", help="copy the database and index into a new folder (app may run)")
    parser.add_argument("path", type=Path)
    parser.set_defaults(func=run_backup)
    parser = subparsers.add_parser("restore", help="replace database and index with a backup (stop the app first)")
    parser.add_argument("path", type=Path)
    parser.set_defaults(func=run_restore)


def run_backup(args, settings: Settings) -> int:
    info = backup(settings, args.path)
    index = {"": "no index", "*": "whole index folder"}.get(info.index_generation, f"index {info.index_generation}")
    print(f"backed up database ({info.db_bytes} bytes, schema {info.schema_version}) and {index} to {args.path}",
          file=sys.stderr)
    return 0


def run_restore(args, settings: Settings) -> int:
    info = restore(settings, args.path)
    print(f"restored the backup of {info.peerdraft_version} (schema {info.schema_version}) into {settings.data_dir}; "
          "the replaced files end in .before-restore", file=sys.stderr)
    return 0
