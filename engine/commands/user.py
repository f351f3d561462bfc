"""`peerdraft user add|list|passwd|role`: accounts of a team instance (run by the operator on the server)."""

from __future__ import annotations

import getpass
import json
import os
import sys

from engine import auth
from engine.errors import PeerDraftError
from engine.settings import Settings
from engine.store import ROLES, Store


def register(subparsers) -> None:
    parser = subparsers.add_parser("user", help="manage team accounts (admin|writer|reviewer)")
    verbs = parser.add_subparsers(dest="user_command", metavar="ACTION", required=True)
    add = verbs.add_parser("add", help="create an account")
    add.add_argument("name")
    add.add_argument("--role", choices=ROLES, required=True)
    add.add_argument("--password-stdin", action="store_true", help="read the password from standard input")
    listing = verbs.add_parser("list", help="list accounts")
    listing.add_argument("--json", action="store_true")
    passwd = verbs.add_parser("passwd", help="set an account's password")
    passwd.add_argument("name")
    passwd.add_argument("--password-stdin", action="store_true")
    role = verbs.add_parser("role", help="change an account's role")
    role.add_argument("name")
    role.add_argument("role", choices=ROLES)
    parser.set_defaults(func=run)


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    first = getpass.getpass("Password: ")
    if first != getpass.getpass("Repeat password: "):
        raise PeerDraftError("The two passwords differ.", "Run the command again.")
    return first


def run(args, settings: Settings) -> int:
    store = Store(settings.db_path)
    try:
        if settings.mode == "team":
            # The admin named in the environment comes first: an operator's `user add` before anyone opened
            # the app would otherwise leave the instance without it (bootstrap_admin only acts on an empty store).
            auth.bootstrap_admin(store, os.environ)
        # The command line is the operator's (it can read the database file anyway): it acts as admin.
        if args.user_command == "add":
            user = auth.add_user(store, None, args.name, args.role, _read_password(args.password_stdin))
            print(f"added {user.name} ({user.role})", file=sys.stderr)
        elif args.user_command == "passwd":
            auth.change_password(store, None, args.name, _read_password(args.password_stdin))
            print(f"password changed for {args.name}", file=sys.stderr)
        elif args.user_command == "role":
            store.set_user_role(args.name, args.role)
            print(f"{args.name} is now {args.role}", file=sys.stderr)
        else:
            users = [u for u in store.list_users() if u.name != auth.LOCAL_USER]
            if args.json:
                print(json.dumps([{"name": u.name, "role": u.role, "disabled": u.disabled} for u in users]))
            else:
                for u in users:
                    print("\t".join([u.name, u.role] + (["disabled"] if u.disabled else [])))
        return 0
    finally:
        store.close()
