#!/usr/bin/env bash
# Run the whole test suite (unit, real-model, AppTest and headless-Chromium end-to-end tests),
# setting everything up on first use.   scripts/test.sh [pytest args]
# The Docker team instance (installs and starts a Docker engine, builds the image from a wheelhouse;
# root, about 15 minutes the first time): scripts/test.sh --container [pytest args]
set -euo pipefail
cd "$(dirname "$0")/.."
if [[ ${1:-} == --container ]]; then
  shift
  scripts/setup.sh --dev
  exec tests/container/run.sh "$@"
fi
scripts/setup.sh --dev
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1
exec .venv/bin/python -m pytest "$@"
