"""`peerdraft generate "PROMPT"`: one chat turn through the configured backend, streamed."""

from __future__ import annotations

import json
import sys

from engine.llm import GenerationParams, Message, generate, load_llm
from engine.settings import Settings


def register(subparsers) -> None:
    parser = subparsers.add_parser("generate", help="one chat turn through the configured LLM backend")
    parser.add_argument("prompt")
    parser.add_argument("--max-new-tokens", type=int, default=None)
    parser.add_argument("--temperature", type=float, default=None, help="0 = greedy")
    parser.add_argument("--system", default=None, help="optional system message")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of streaming")
    parser.set_defaults(func=run)


def run(args, settings: Settings) -> int:
    overrides = {}
    if args.max_new_tokens is not None:
        overrides["max_new_tokens"] = args.max_new_tokens
    if args.temperature is not None:
        overrides["temperature"] = args.temperature
    params = GenerationParams.from_settings(settings, **overrides)
    messages = ([Message("system", args.system)] if args.system else []) + [Message("user", args.prompt)]
    llm = load_llm(settings)

    def echo(piece: str) -> None:
        sys.stdout.write(piece)
        sys.stdout.flush()

    result = generate(llm, messages, params, on_text=None if args.json else echo)
    if args.json:
        print(json.dumps(result.to_json()))
    else:
        print()
        print(f"[{result.new_tokens} tokens in {result.seconds:.2f} s, {result.tokens_per_second:.1f} tok/s, "
              f"{result.backend}: {result.model}]", file=sys.stderr)
    return 0
