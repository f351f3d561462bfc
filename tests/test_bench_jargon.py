"""bench/jargon.py's rebuild of the real-article test set from its committed sources list (issue 18)."""

from __future__ import annotations

import hashlib
import importlib.util
import json
import shutil
import subprocess
from pathlib import Path

import pytest

_SPEC = importlib.util.spec_from_file_location("bench_jargon", Path(__file__).resolve().parents[1] / "bench" / "jargon.py")
jargon_bench = importlib.util.module_from_spec(_SPEC)
_SPEC.loader.exec_module(jargon_bench)

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="needs git")


def _git(*args: str, cwd: Path) -> str:
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True).stdout.strip()


def test_posts_are_rebuilt_at_their_commit_into_batch_folders_and_a_changed_file_is_refused(tmp_path, capsys):
    work = tmp_path / "blog"
    work.mkdir()
    _git("init", "--quiet", cwd=work)
    post = work / "_posts" / "2020-01-01-kv-cache.md"
    post.parent.mkdir()
    first = "---\ntitle: KV caching\n---\nThe KV cache keeps each layer's keys and values.\n"
    post.write_text(first, encoding="utf-8")
    _git("add", ".", cwd=work)
    _git("-c", "user.name=t", "-c", "user.email=t@example.org", "commit", "--quiet", "-m", "post", cwd=work)
    commit = _git("rev-parse", "HEAD", cwd=work)
    # A later edit: the rebuild must read the recorded commit, not the newest file.
    post.write_text(first + "Edited later.\n", encoding="utf-8")
    _git("-c", "user.name=t", "-c", "user.email=t@example.org", "commit", "--quiet", "-am", "edit", cwd=work)
    mirrors = tmp_path / "mirrors"
    (mirrors / "someone+blog").mkdir(parents=True)
    _git("clone", "--quiet", "--bare", str(work), str(mirrors / "someone+blog" / "repo"), cwd=tmp_path)

    good = {"id": "heldout11-someone-kv-cache", "repo": "someone/blog", "commit": commit,
            "path": "_posts/2020-01-01-kv-cache.md", "sha256": hashlib.sha256(first.encode()).hexdigest()}
    tampered = dict(good, id="lilian-changed", sha256="0" * 64)
    missing = dict(good, id="heldout9-gone", path="_posts/nowhere.md")
    sources = tmp_path / "sources.jsonl"
    sources.write_text("".join(json.dumps(r) + "\n" for r in (good, tampered, missing)), encoding="utf-8")

    out = tmp_path / "posts"
    assert jargon_bench.get_posts(out, mirrors, sources) == 2
    assert (out / "heldout11" / "heldout11-someone-kv-cache.md").read_text(encoding="utf-8") == first
    assert not (out / "posts" / "lilian-changed.md").exists()  # hash differs: not written
    assert not (out / "heldout9").exists()
    err = capsys.readouterr().err
    assert "lilian-changed: sha256" in err and "heldout9-gone: cannot read" in err
    assert not list(out.rglob("*.part"))


def test_every_labeled_post_has_a_recorded_source():
    labeled = {json.loads(line)["post"] for line in jargon_bench.REAL_LABELS.read_text(encoding="utf-8").splitlines()
               if line.strip()}
    sources = [json.loads(line) for line in jargon_bench.POST_SOURCES.read_text(encoding="utf-8").splitlines()
               if line.strip()]
    assert len({r["id"] for r in sources}) == len(sources)
    assert all(len(r["commit"]) == 40 and len(r["sha256"]) == 64 and "/" in r["repo"] for r in sources)
    assert labeled <= {r["id"] for r in sources}, sorted(labeled - {r["id"] for r in sources})
