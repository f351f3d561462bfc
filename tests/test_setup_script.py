"""scripts/setup.sh decides from its stamps whether a virtualenv is already set up, without reinstalling."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def _stamp_base(venv: Path) -> Path:
    digest = subprocess.run("sha1sum pyproject.toml scripts/setup.sh | sha1sum | cut -c1-12", shell=True,
                            cwd=REPO, capture_output=True, text=True, check=True).stdout.strip()
    return venv / f".peerdraft-setup-{digest}"


@pytest.fixture
def venv(tmp_path: Path) -> Path:
    """A stand-in virtualenv: its python is a script that fails loudly, so any install attempt shows."""
    venv = tmp_path / "venv"
    (venv / "bin").mkdir(parents=True)
    python = venv / "bin" / "python"
    python.write_text("#!/bin/sh\necho 'INSTALL ATTEMPTED' >&2\nexit 3\n")
    python.chmod(0o755)
    return venv


def _setup(venv: Path, *args: str, extras: str = "") -> subprocess.CompletedProcess:
    env = {**os.environ, "PEERDRAFT_VENV": str(venv), "PEERDRAFT_EXTRAS": extras}
    return subprocess.run(["bash", "scripts/setup.sh", *args], cwd=REPO, env=env, capture_output=True, text=True,
                          timeout=60)


def test_a_dev_install_counts_as_a_runtime_install(venv):
    Path(f"{_stamp_base(venv)}-1").write_text("")
    result = _setup(venv)  # what scripts/run.sh does after scripts/test.sh
    assert result.returncode == 0 and "INSTALL ATTEMPTED" not in result.stderr, result.stderr
    assert _setup(venv, "--dev").returncode == 0


def test_a_runtime_install_does_not_count_as_a_dev_install(venv):
    Path(f"{_stamp_base(venv)}-0").write_text("")
    assert _setup(venv).returncode == 0
    result = _setup(venv, "--dev")
    assert result.returncode != 0 and "INSTALL ATTEMPTED" in result.stderr


def test_other_extras_or_a_changed_pyproject_install_again(venv):
    Path(f"{_stamp_base(venv)}-1").write_text("")
    assert "INSTALL ATTEMPTED" in _setup(venv, extras="gpu").stderr
    stale = venv / ".peerdraft-setup-000000000000-1"
    for path in venv.glob(".peerdraft-setup-*"):
        path.rename(stale)
    assert "INSTALL ATTEMPTED" in _setup(venv).stderr
