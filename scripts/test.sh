#!/usr/bin/env bash
# Run the whole test suite (unit, real-model, AppTest and headless-Chromium end-to-end tests),
# setting everything up on first use.   scripts/test.sh [pytest args]
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh --dev
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1
exec .venv/bin/python -m pytest "$@"
