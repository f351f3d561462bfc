#!/usr/bin/env bash
# Start PeerDraft on its embedded defaults (sets everything up on first use).
#   scripts/run.sh [--port N] [--open]
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
exec .venv/bin/peerdraft run "$@"
