"""The engine sets libgomp's wait policy (spin briefly, then sleep) before torch or llama_cpp load it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PROBE = "import engine, os; print(os.environ.get('OMP_WAIT_POLICY'), os.environ.get('GOMP_SPINCOUNT'))"


def _probe(**extra: str) -> str:
    env = {k: v for k, v in os.environ.items() if k not in ("OMP_WAIT_POLICY", "GOMP_SPINCOUNT")} | extra
    return subprocess.run([sys.executable, "-c", PROBE], cwd=REPO, env=env, capture_output=True, text=True,
                          check=True).stdout.strip()


def test_engine_import_sets_a_short_spin_then_sleep():
    assert _probe() == "PASSIVE 10000"


def test_a_policy_the_user_set_is_left_alone():
    assert _probe(OMP_WAIT_POLICY="ACTIVE") == "ACTIVE None"
    assert _probe(GOMP_SPINCOUNT="300000") == "None 300000"
