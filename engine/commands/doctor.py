"""`peerdraft doctor`: effective settings, device, which backend and model would load, what is missing."""

from __future__ import annotations

import json

from engine.diagnosis import diagnose
from engine.settings import Settings


def register(subparsers) -> None:
    parser = subparsers.add_parser("doctor", help="check the installation and configuration")
    parser.add_argument("--json", action="store_true")
    parser.set_defaults(func=run)


def run(args, settings: Settings) -> int:
    facts, problems = diagnose(settings)
    if args.json:
        print(json.dumps({"settings": {n: v for n, v, _ in settings.effective()},
                          "facts": dict(facts), "problems": problems}, indent=2))
    else:
        print("Settings (value  ← source):")
        for name, value, source in settings.effective():
            print(f"  {name:<20} {value}  ← {source}")
        print("Environment:")
        for name, value in facts:
            print(f"  {name:<20} {value}")
        for problem in problems:
            print(f"PROBLEM: {problem}")
        print("OK: everything needed is in place." if not problems else f"{len(problems)} problem(s) found.")
    return 1 if problems else 0
