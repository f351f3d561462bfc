"""The default model is assembled from numbered data-only wheels: in order, verified, atomically, once."""

from __future__ import annotations

import hashlib
import os
import zipfile
from pathlib import Path

import pytest

from engine.errors import ConfigError, ModelError
from engine.model_wheels import QWEN_CODER_1_5B, SplitModel, assemble, default_model_path, verify_file

PARTS = [b"GGUF" + bytes(range(256)) * 3, b"second part " * 50, b"tail"]


def _model(parts=PARTS) -> SplitModel:
    whole = b"".join(parts)
    return SplitModel(display_name="Test model", file_name="test.gguf", distribution="tm-part{n}",
                      member="tm_part{n}/data/part{n:02d}.bin", version="0.1", parts=len(parts), size=len(whole),
                      sha256=hashlib.sha256(whole).hexdigest())


def _wheels(folder: Path, parts=PARTS) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    wheels = []
    for n, data in enumerate(parts, start=1):
        wheel = folder / f"tm_part{n}-0.1-py3-none-any.whl"
        with zipfile.ZipFile(wheel, "w") as archive:
            archive.writestr(f"tm_part{n}/__init__.py", "")
            archive.writestr(f"tm_part{n}/data/part{n:02d}.bin", data)
        wheels.append(wheel)
    return wheels


def test_parts_are_concatenated_in_part_order_and_the_wheels_removed(tmp_path):
    wheels = _wheels(tmp_path / "wheels")
    target = tmp_path / "models" / "test.gguf"
    seen = []
    path = assemble(_model(), list(reversed(wheels)), target, remove_wheels=True,
                    on_progress=lambda done, total: seen.append((done, total)))
    assert path == target and target.read_bytes() == b"".join(PARTS)
    assert not any(w.exists() for w in wheels), "each wheel is deleted once copied: one copy on disk"
    assert not list(target.parent.glob("*.partial"))
    assert seen[-1] == (len(b"".join(PARTS)), len(b"".join(PARTS)))
    assert verify_file(_model(), target) == target


def test_a_checksum_mismatch_leaves_no_file_behind(tmp_path):
    wheels = _wheels(tmp_path / "wheels", [PARTS[0], b"tampered " * 50, PARTS[2]])
    target = tmp_path / "models" / "test.gguf"
    with pytest.raises(ModelError, match="peerdraft model install"):
        assemble(_model(), wheels, target)
    assert not target.exists() and not list(target.parent.glob("*.partial"))
    assert all(w.exists() for w in wheels)


def test_a_missing_part_is_named(tmp_path):
    wheels = _wheels(tmp_path / "wheels")
    with pytest.raises(ModelError, match="missing parts: 2"):
        assemble(_model(), [wheels[0], wheels[2]], tmp_path / "test.gguf")


def test_a_damaged_file_is_refused_with_the_command_that_repairs_it(tmp_path):
    model, target = _model(), tmp_path / "test.gguf"
    assemble(model, _wheels(tmp_path / "wheels"), target)
    data = bytearray(target.read_bytes())
    data[10] ^= 0xFF  # same size, other bytes: the recorded stamp no longer matches (mtime changed)
    target.write_bytes(bytes(data))
    os.utime(target, ns=(1, 1))
    with pytest.raises(ConfigError, match="damaged.*model install --force"):
        verify_file(model, target)
    target.write_bytes(bytes(data[:-1]))
    with pytest.raises(ConfigError, match="incomplete"):
        verify_file(model, target)
    target.unlink()
    with pytest.raises(ConfigError, match="PEERDRAFT_LLM_PROFILE=small"):
        verify_file(model, target)


@pytest.mark.model
def test_the_installed_default_model_verifies_against_its_published_checksum():
    path = default_model_path()
    assert path.stat().st_size == QWEN_CODER_1_5B.size
    with path.open("rb") as handle:
        assert handle.read(4) == b"GGUF"
